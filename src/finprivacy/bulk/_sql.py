"""Bulk jobs over SQL tables (SQLite, PostgreSQL): in place in batches, or into a new table.

In place, a table is walked in primary-key order (keyset pagination, never ``OFFSET``)
and each batch's ``UPDATE`` commits in the same transaction as the job's checkpoint in
``finprivacy_bulk_progress``. A killed run therefore resumes after the last committed
batch and never transforms a row twice — which matters: encrypting or tokenising a
value twice would lose the original. A table without a primary key cannot be addressed
row by row exactly once, so an in-place job on it is refused; write it to a new table.

A value an action cannot take keeps its stored value in place (and is counted), so
nothing already stored is lost; in a new table it becomes ``NULL``, as in files.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from ..audit.events import AuditEvent, AuditSink
from ..crypto import Keyring
from ..errors import ConfigurationError, InvalidInputError, NotFoundError
from ._actions import apply_batch
from ._progress import Progress, ProgressCounter
from ._runner import Job

__all__ = ["PROGRESS_TABLE", "TableResult", "run_table"]

PROGRESS_TABLE = "finprivacy_bulk_progress"
"""The table, in the job's database, that holds each table job's checkpoint."""


@dataclasses.dataclass(frozen=True, slots=True)
class TableResult:
    """What a table job did."""

    table: str
    target: str
    """The table written: ``table`` itself in place, or the new table."""
    rows: int
    """Rows processed by this run."""
    failures: dict[str, int]
    """Values per column an action could not take, over every run of the job."""
    resumed: bool
    """An earlier run had committed part of the job; this run went on from there."""
    skipped: bool
    """An earlier run had finished the job: nothing was done."""


def run_table(job: Job, url: str, table: str, *, into: str | None = None,
              keyring: Keyring | None = None, batch_size: int = 10_000,
              audit: AuditSink | None = None, actor: str = "finprivacy.bulk",
              progress: Callable[[Progress], None] | None = None) -> TableResult:
    """Run ``job`` on the SQL table ``table`` at ``url``; in place, or ``into`` a new table.

    In place needs a primary key (else :class:`~finprivacy.errors.InvalidInputError`),
    text columns for the actions that write text, the ``blind_index`` output columns
    already added, and no ``drop``. ``into`` names a table that must not exist yet
    (unless an earlier, killed run of the same job started it): it gets the source's
    columns, with transformed ones as text, dropped ones left out and blind indexes
    added. The checkpoint lives in :data:`PROGRESS_TABLE`; delete the job's row there
    to run it again from the start.
    """
    import sqlalchemy as sa

    from .._stores import redact_url, sql_engine

    if batch_size < 1:
        raise InvalidInputError("batch_size must be at least 1")
    engine = sql_engine(url, what="a bulk job on a table")
    if engine.dialect.name == "sqlite":
        _transactional_ddl(engine)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(table):
                raise NotFoundError(f"no table {table!r} at {redact_url(url)}")
            source = sa.Table(table, sa.MetaData(), autoload_with=conn)
        plan = _Plan(job, source, into)
        progress_tbl = _progress_table()
        progress_tbl.metadata.create_all(engine)
        with engine.begin() as conn:
            state = _load(conn, progress_tbl, job.name, table, plan.target_name)
            if state is None and into is not None and sa.inspect(conn).has_table(into):
                raise InvalidInputError(f"table {into!r} already exists; name a new table "
                                        "(or drop it first)")
            # Counting a large PostgreSQL table costs a scan: only for a progress bar.
            total = (conn.execute(sa.select(sa.func.count()).select_from(source)).scalar_one()
                     if progress is not None else None)
        if state is not None and state["done"]:
            return TableResult(table, plan.target_name, 0, dict(state["failures"]), True,
                               True)
        counter = ProgressCounter(progress, None if total is None else
                                  int(total) - (state["rows"] if state else 0))
        rows, failures = plan.run(engine, progress_tbl, state, keyring, batch_size, counter)
    finally:
        engine.dispose()
    if audit is not None:
        audit.record(AuditEvent(action="bulk.job", actor=actor, decision="info",
                                details={
                                    "job": job.name, "table": table,
                                    "target": plan.target_name, "rows": str(rows),
                                    "failures": str(sum(failures.values())),
                                    "resumed": str(state is not None).lower()}))
    return TableResult(table, plan.target_name, rows, failures, state is not None, False)


def _transactional_ddl(engine: Any) -> None:
    """Let SQLite's ``CREATE TABLE`` roll back with the batch it belongs to.

    Python's sqlite3 module commits before DDL on its own; handing transaction control
    to SQLAlchemy (the recipe in SQLAlchemy's SQLite dialect notes) makes the new table
    and its first rows one transaction.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def _progress_table() -> Any:
    import sqlalchemy as sa

    return sa.Table(PROGRESS_TABLE, sa.MetaData(),
                    sa.Column("job", sa.String(200), primary_key=True),
                    sa.Column("source", sa.String(200), primary_key=True),
                    sa.Column("target", sa.String(200), primary_key=True),
                    sa.Column("position", sa.Text, nullable=True),
                    sa.Column("rows", sa.BigInteger, nullable=False),
                    sa.Column("failures", sa.Text, nullable=False),
                    sa.Column("done", sa.Boolean, nullable=False))


def _load(conn: Any, tbl: Any, job: str, source: str, target: str) -> dict[str, Any] | None:
    import sqlalchemy as sa

    row = conn.execute(sa.select(tbl.c.position, tbl.c.rows, tbl.c.failures, tbl.c.done)
                       .where(tbl.c.job == job, tbl.c.source == source,
                              tbl.c.target == target)).one_or_none()
    if row is None:
        return None
    return {"position": json.loads(row.position) if row.position else None,
            "rows": int(row.rows), "failures": json.loads(row.failures),
            "done": bool(row.done)}


class _Plan:
    """What a table job reads, writes and checks, settled before any row is touched."""

    def __init__(self, job: Job, source: Any, into: str | None) -> None:
        import sqlalchemy as sa

        self.job = job
        self.source = source
        self.into = into
        self.target_name = into or source.name
        names = set(source.columns.keys())
        missing = [a.column for a in job.actions if a.column not in names]
        if missing:
            raise InvalidInputError(f"the job names columns table {source.name!r} does not "
                                    f"have: {missing}")
        self.pk = list(source.primary_key.columns)
        self.actions = [a for a in job.actions if a.action != "keep"]
        if into is None:
            if not self.pk:
                raise InvalidInputError(
                    f"table {source.name!r} has no primary key: an in-place update is "
                    "refused, because its rows cannot be addressed exactly once. Write to "
                    "a new table (into= / --into) or add a primary key first")
            for a in self.actions:
                if a.action == "drop":
                    raise InvalidInputError(f"column {a.column!r}: drop is a schema change; "
                                            "write to a new table (into=) instead")
                written = a.target
                if written not in names:
                    raise InvalidInputError(
                        f"column {a.column!r}: blind_index writes {written!r}, which table "
                        f"{source.name!r} does not have; add it first (a text column)")
                target_col = source.c[written]
                untyped = isinstance(target_col.type, sa.types.NullType)  # SQLite: any value
                if not (isinstance(target_col.type, sa.String) or untyped):
                    raise InvalidInputError(
                        f"column {written!r} is {target_col.type}, not text: {a.action} "
                        f"writes text there; write to a new table (into=) instead")
            self.target = source
        else:
            self.target = self._new_table(into)

    def _new_table(self, name: str) -> Any:
        import sqlalchemy as sa

        pk_names = {c.name for c in self.pk}
        for a in self.actions:
            if a.column in pk_names and a.action not in ("drop", "blind_index"):
                raise InvalidInputError(f"column {a.column!r} is the primary key; "
                                        f"{a.action} would change how rows are found")
        by_column = {a.column: a for a in self.actions}
        columns = []
        extra = []
        for col in self.source.columns:
            action = by_column.get(col.name)
            if action is None or action.action == "blind_index":
                columns.append(sa.Column(col.name, col.type, primary_key=col.primary_key,
                                         nullable=col.nullable))
                if action is not None:
                    extra.append(sa.Column(action.target, sa.String(64), index=True))
            elif action.action != "drop":
                columns.append(sa.Column(col.name, sa.Text(), nullable=True))
        return sa.Table(name, sa.MetaData(), *columns, *extra)

    def run(self, engine: Any, progress_tbl: Any, state: dict[str, Any] | None,
            keyring: Keyring | None, batch_size: int,
            counter: ProgressCounter) -> tuple[int, dict[str, int]]:
        import sqlalchemy as sa

        failures: dict[str, int] = dict(state["failures"]) if state else {}
        done_before = state["rows"] if state else 0
        position = state["position"] if state else None
        rows = 0
        key = (self.job.name, self.source.name, self.target_name)
        if not self.pk:
            # No way to resume exactly: the whole copy is one transaction.
            with engine.begin() as conn:
                self.target.create(conn)
                result = conn.execute(sa.select(self.source),
                                      execution_options={"yield_per": batch_size})
                try:
                    for chunk in result.partitions(batch_size):
                        rows += self._apply(conn, [r._asdict() for r in chunk], keyring,
                                            failures)
                        counter.add(len(chunk))
                finally:
                    result.close()  # a server-side cursor on PostgreSQL
                _save(conn, progress_tbl, key, None, rows, failures, done=True)
            return rows, failures
        if state is None:
            # The new table and the job's checkpoint row appear together, empty.
            with engine.begin() as conn:
                if self.into is not None:
                    self.target.create(conn)
                _save(conn, progress_tbl, key, None, 0, failures, done=False)
        order = [self.source.c[c.name] for c in self.pk]
        pk_names = {c.name for c in self.pk}
        wanted = (order + [self.source.c[a.column] for a in self.actions
                           if a.column not in pk_names]
                  if self.into is None else [self.source])
        while True:
            with engine.begin() as conn:
                q = sa.select(*wanted).order_by(*order).limit(batch_size)
                if position is not None:
                    q = q.where(sa.tuple_(*order) > sa.tuple_(*position)
                                if len(order) > 1 else order[0] > position[0])
                chunk = [r._asdict() for r in conn.execute(q)]
                if chunk:
                    rows += self._apply(conn, chunk, keyring, failures)
                    position = [_jsonable(chunk[-1][c.name]) for c in self.pk]
                # The batch and where it ends commit together.
                _save(conn, progress_tbl, key, position, done_before + rows, failures,
                      done=not chunk)
            if not chunk:
                return rows, failures
            counter.add(len(chunk))

    def _apply(self, conn: Any, chunk: list[dict[str, Any]], keyring: Keyring | None,
               failures: dict[str, int]) -> int:
        import pyarrow as pa
        import sqlalchemy as sa

        names = [a.column for a in self.actions if a.action != "drop"]
        batch = pa.RecordBatch.from_pydict(
            {n: [None if r[n] is None else str(r[n]) for r in chunk] for n in names}
        ) if names else None
        out: dict[str, list[Any]] = {}
        if batch is not None:
            result = apply_batch(batch, [a for a in self.actions if a.action != "drop"],
                                 keyring=keyring)
            for k, v in result.failures.items():
                failures[k] = failures.get(k, 0) + v
            out = {n: result.batch.column(n).to_pylist() for n in result.batch.schema.names}
        if self.into is None:
            pk_names = [c.name for c in self.pk]
            written = [n for n in out if n not in pk_names]
            stmt = sa.update(self.target).where(*[
                self.target.c[p] == sa.bindparam(f"pk_{i}") for i, p in enumerate(pk_names)
            ]).values({n: sa.bindparam(f"v_{i}") for i, n in enumerate(written)})
            params = []
            for j, r in enumerate(chunk):
                row = {f"pk_{i}": r[p] for i, p in enumerate(pk_names)}
                for i, n in enumerate(written):
                    new = out[n][j]
                    # A value the action could not take keeps what is stored.
                    row[f"v_{i}"] = r[n] if new is None and n in r else new
                params.append(row)
            if written:
                conn.execute(stmt, params)
            return len(chunk)
        rows = []
        target_names = set(self.target.columns.keys())
        for j, r in enumerate(chunk):
            row = {k: v for k, v in r.items() if k in target_names}
            for n, values in out.items():
                if n in target_names:
                    row[n] = values[j]
            rows.append(row)
        conn.execute(sa.insert(self.target), rows)
        return len(chunk)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ConfigurationError(f"primary key values of type {type(value).__name__} cannot be "
                             "checkpointed; use an integer or text key")


def _save(conn: Any, tbl: Any, key: tuple[str, str, str], position: Any, rows: int,
          failures: dict[str, int], *, done: bool) -> None:
    import sqlalchemy as sa

    values = {"position": json.dumps(position) if position is not None else None,
              "rows": rows, "failures": json.dumps(failures, sort_keys=True), "done": done}
    changed = conn.execute(sa.update(tbl).where(
        tbl.c.job == key[0], tbl.c.source == key[1], tbl.c.target == key[2]).values(**values))
    if changed.rowcount == 0:
        conn.execute(sa.insert(tbl).values(job=key[0], source=key[1], target=key[2],
                                           **values))
