"""``fp.discover(source)``: find personal data in databases and export files.

Sources: a SQLAlchemy URL (``sqlite:///…``, ``postgresql://…``; extra ``sqlalchemy``),
or a CSV / TSV / JSON Lines file or a folder of them. Each column is sampled (``sample``
non-empty rows; ``full=True`` reads every row) and judged by :func:`analyse_column`.
Held against a :class:`~finprivacy.inventory.DataInventory`, the report also lists
personal-data columns the inventory does not declare, plaintext in columns the
inventory classifies C2/C3 (which must be encrypted at rest), and declared columns no
purpose uses — candidates to stop collecting (PIPL Art. 6, the minimum necessary).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import functools
import html
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, NotFoundError
from ..inventory import DataInventory
from ..retention import RetentionSchedule
from ._columns import ColumnFinding, analyse_column
from ._retention import PastRetention, RecordDates, past_retention

__all__ = ["DiscoveryReport", "InventoryGap", "discover"]

FORMAT = 1
_BULK_PROGRESS = "finprivacy_bulk_progress"  # finprivacy.bulk.PROGRESS_TABLE
_TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".jsonl": None, ".ndjson": None}
_SUFFIXES = {*_TEXT_SUFFIXES, ".parquet"}


@dataclasses.dataclass(frozen=True, slots=True)
class InventoryGap:
    """A disagreement between what was found and what the inventory says."""

    table: str
    column: str
    problem: str
    """``undeclared``, ``plaintext_sensitive``, ``no_purpose`` or ``past_retention``."""
    detail: str

    def as_dict(self) -> dict[str, str]:
        """Return the JSON form."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, slots=True)
class DiscoveryReport:
    """The outcome of :func:`discover`: every column looked at, and the gaps."""

    source: str
    columns: tuple[ColumnFinding, ...]
    gaps: tuple[InventoryGap, ...]
    problems: tuple[str, ...]
    """Things that could not be read (a file with invalid UTF-8 rows, an unreadable table)."""
    reused: int = 0
    """Tables or files unchanged since the last run (``state=``), not read again."""
    past_retention: tuple[PastRetention, ...] = ()
    """Per table named in ``records=``: the rows whose retention period has run."""

    @property
    def personal(self) -> tuple[ColumnFinding, ...]:
        """The columns that hold personal data."""
        return tuple(c for c in self.columns if c.personal)

    def as_dict(self) -> dict[str, object]:
        """Return the JSON report (``format`` 1; documented in docs/reference/discover.md)."""
        return {"format": FORMAT, "source": self.source,
                "columns": [c.as_dict() for c in self.columns],
                "personal": len(self.personal),
                "gaps": [g.as_dict() for g in self.gaps], "problems": list(self.problems),
                "reused": self.reused,
                "past_retention": [p.as_dict() for p in self.past_retention]}

    def to_json(self) -> str:
        """Return :meth:`as_dict` as JSON text."""
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2, sort_keys=True)

    def to_text(self) -> str:
        """Return a short human report."""
        lines = [f"{self.source}: {len(self.columns)} columns, {len(self.personal)} with "
                 "personal data"]
        for c in self.personal:
            what = c.kind or "encrypted (" + ", ".join(sorted(c.tokens)) + ")"
            lines.append(f"  {c.table}.{c.column}: {what}  {c.matched}/{c.sampled} "
                         f"({c.confidence:.0%})  e.g. {c.example or '-'}")
        lines += [f"  RETENTION {p.table}: {p.rows}/{p.checked} rows past retention "
                  f"({p.record_class}, rule {p.rule}" + (f", oldest {p.oldest}" if p.oldest
                                                         else "") + ")"
                  + (f"; {p.undated} undated" if p.undated else "")
                  for p in self.past_retention]
        lines += [f"  GAP {g.problem}: {g.table}.{g.column} — {g.detail}" for g in self.gaps]
        lines += [f"  PROBLEM: {p}" for p in self.problems]
        return "\n".join(lines)

    def to_html(self) -> str:
        """Return one self-contained HTML page (no scripts, no external files, values masked)."""
        rows = "".join(
            f"<tr><td>{html.escape(c.table)}</td><td>{html.escape(c.column)}</td>"
            f"<td>{html.escape(c.kind or ('encrypted' if c.tokens else '-'))}</td>"
            f"<td>{c.matched}/{c.sampled}</td><td>{c.confidence:.0%}</td>"
            f"<td>{html.escape(c.name_hint or '')}</td><td>{html.escape(c.example)}</td></tr>"
            for c in self.columns)
        gaps = "".join(f"<li><b>{html.escape(g.problem)}</b> {html.escape(g.table)}."
                       f"{html.escape(g.column)}: {html.escape(g.detail)}</li>"
                       for g in self.gaps) or "<li>none</li>"
        retention = "".join(
            f"<tr><td>{html.escape(p.table)}</td><td>{html.escape(p.record_class)}</td>"
            f"<td>{p.rows}/{p.checked}</td><td>{html.escape(p.oldest or '-')}</td>"
            f"<td>{html.escape(p.rule)}</td><td>{p.undated}</td></tr>"
            for p in self.past_retention)
        if retention:
            retention = ("<h2>Records past retention</h2><table><tr><th>table</th>"
                         "<th>record class</th><th>rows past</th><th>oldest</th><th>rule</th>"
                         f"<th>undated</th></tr>{retention}</table>")
        return ("<!doctype html><html><head><meta charset='utf-8'><title>finprivacy "
                "discovery</title><style>body{font-family:sans-serif}table{border-collapse:"
                "collapse}td,th{border:1px solid #999;padding:2px 6px}</style></head><body>"
                f"<h1>Personal data in {html.escape(self.source)}</h1>"
                f"<p>{len(self.columns)} columns, {len(self.personal)} with personal data.</p>"
                "<table><tr><th>table</th><th>column</th><th>kind</th><th>matched</th>"
                "<th>confidence</th><th>name hint</th><th>example (masked)</th></tr>"
                f"{rows}</table>{retention}<h2>Inventory gaps</h2><ul>{gaps}</ul></body></html>")


Scan = Callable[[], Iterator[tuple[str, str, list[Any]]]]
"""Reads one unit's columns: (table, column, sampled values)."""
Unit = tuple[str, str, Scan]
"""(unit name, fingerprint, scan): a table or a file, and how to tell it changed."""


def _sql_units(url: str, sample: int | None) -> Iterator[Unit]:
    from .._stores import sql_engine

    engine = sql_engine(url, what="discovering a database")
    import sqlalchemy as sa

    sqlite = engine.dialect.name == "sqlite"
    try:
        insp = sa.inspect(engine)
        with engine.connect() as conn:
            for table in sorted(insp.get_table_names()):
                if table == _BULK_PROGRESS:
                    continue  # finprivacy's own checkpoints: job names and positions
                tbl = sa.Table(table, sa.MetaData(), autoload_with=conn)
                # Row count and the newest row: SQLite's max(rowid) (in-place updates are
                # not seen: run --full now and then), PostgreSQL's max(xmin) (updates too).
                newest = (sa.text("max(rowid)") if sqlite
                          else sa.text("max(xmin::text::bigint)"))
                row = conn.execute(sa.select(sa.func.count(), newest).select_from(tbl)).one()
                fingerprint = f"{row[0]}:{row[1]}"

                def scan(tbl: Any = tbl) -> Iterator[tuple[str, str, list[Any]]]:
                    for col in tbl.columns:
                        q = sa.select(sa.cast(col, sa.Text)).where(col.is_not(None))
                        if sample is not None:
                            q = q.limit(sample)
                        yield tbl.name, col.name, list(conn.execute(q).scalars())

                yield table, fingerprint, scan
    finally:
        engine.dispose()


def _parquet_columns(path: Path, sample: int | None,
                     problems: list[str]) -> Iterator[tuple[str, str, list[Any]]]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        problems.append(f"{path.name}: Parquet needs pyarrow (pip install pyarrow); skipped")
        return
    try:
        pf = pq.ParquetFile(path)
        batches = []
        got = 0
        for batch in pf.iter_batches(batch_size=min(sample or 65536, 65536)):
            batches.append(batch)
            got += batch.num_rows
            if sample is not None and got >= sample:
                break
        table = pa.Table.from_batches(batches, schema=pf.schema_arrow)
    except (OSError, pa.ArrowException) as exc:
        problems.append(f"{path.name}: not a readable Parquet file ({type(exc).__name__})")
        return
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()  # a nested struct's fields become "outer.inner" columns
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_nested(column.type):
            problems.append(f"{path.name}: column {name} is a list or map; skipped")
            continue
        values = column.to_pylist()
        yield path.name, name, values[:sample] if sample is not None else values


def _file_columns(path: Path, sample: int | None,
                  problems: list[str]) -> Iterator[tuple[str, str, list[Any]]]:
    if path.suffix.lower() == ".parquet":
        yield from _parquet_columns(path, sample, problems)
        return
    sep = _TEXT_SUFFIXES.get(path.suffix.lower(), "missing")
    if sep == "missing":
        return
    columns: dict[str, list[Any]] = {}
    bad = 0
    with open(path, "rb") as raw:
        lines = (line.decode("utf-8", "strict") for line in raw)
        try:
            if sep is None:
                for n, line in enumerate(_safe(lines, problems, path)):
                    if sample is not None and n >= sample:
                        break
                    try:
                        record = json.loads(line)
                    except ValueError:
                        bad += 1
                        continue
                    if isinstance(record, dict):
                        for k, v in record.items():
                            if not isinstance(v, dict | list):
                                columns.setdefault(str(k), []).append(v)
            else:
                reader = csv.DictReader(_safe(lines, problems, path), delimiter=sep)
                for n, row in enumerate(reader):
                    if sample is not None and n >= sample:
                        break
                    for k, v in row.items():
                        if k is not None:
                            columns.setdefault(k, []).append(v)
        except csv.Error as exc:
            problems.append(f"{path.name}: not valid CSV ({exc})")
    if bad:
        problems.append(f"{path.name}: {bad} lines are not JSON objects")
    for name, values in columns.items():
        yield path.name, name, values


def _safe(lines: Iterator[str], problems: list[str], path: Path) -> Iterator[str]:
    """Skip lines that are not UTF-8, counting them (one problem line per file)."""
    skipped = 0
    while True:
        try:
            yield next(lines)
        except StopIteration:
            break
        except UnicodeDecodeError:
            skipped += 1
    if skipped:
        problems.append(f"{path.name}: {skipped} lines are not valid UTF-8 (skipped)")


def _gaps(columns: Sequence[ColumnFinding], inventory: DataInventory) -> list[InventoryGap]:
    personal: list[InventoryGap] = []
    unused: list[InventoryGap] = []
    for c in columns:
        field = inventory.get(f"{c.table}.{c.column}") or inventory.get(c.column)
        if field is not None and not field.purposes:
            unused.append(InventoryGap(c.table, c.column, "no_purpose",
                                       "no purpose uses it: a candidate to stop collecting"))
        if not c.personal:
            continue
        if field is None:
            personal.append(InventoryGap(c.table, c.column, "undeclared",
                                         f"holds {c.kind or 'encrypted values'}, not in the "
                                         "inventory"))
        elif c.kind is not None and field.sensitivity in ("C2", "C3"):
            personal.append(InventoryGap(c.table, c.column, "plaintext_sensitive",
                                         f"{field.sensitivity} field holds {c.kind} in "
                                         "plaintext; encrypt it at rest"))
    return personal + unused


def discover(source: str | os.PathLike[str], *, inventory: DataInventory | None = None,
             sample: int = 1000, full: bool = False, min_share: float = 0.5,
             state: str | os.PathLike[str] | None = None,
             progress: Callable[[str], None] | None = None,
             retention: RetentionSchedule | None = None,
             records: Sequence[RecordDates] = (),
             now: _dt.datetime | None = None) -> DiscoveryReport:
    """Find personal data in ``source`` (a database URL, a file or a folder).

    ``state`` names a small JSON file that makes runs incremental: a table whose row
    count and newest row, or a file whose size and modification time, are unchanged
    since the last run keeps its previous verdict without being read again.

    With ``retention`` (the firm's schedule) and ``records`` (each table's date column),
    the report also counts the rows whose retention period has run at ``now``
    (default: the current time), in :attr:`DiscoveryReport.past_retention`, and lists a
    ``past_retention`` gap per table that has some. Those counts always read the whole
    date column (grouped per day), whatever ``sample`` says.
    """
    if sample < 1:
        raise InvalidInputError("sample must be at least 1")
    if bool(records) != (retention is not None):
        raise InvalidInputError("records past retention need both retention= (the "
                                "schedule) and records= (each table's date column)")
    limit = None if full else sample
    text = os.fspath(source)
    problems: list[str] = []
    found: list[ColumnFinding] = []
    if "://" in text:
        units: Iterator[Unit] = _sql_units(text, limit)
    else:
        path = Path(text)
        if not path.exists():
            raise NotFoundError(f"nothing to discover at {path}")
        files = sorted(p for p in (path.rglob("*") if path.is_dir() else [path])
                       if p.is_file() and p.suffix.lower() in _SUFFIXES)
        units = ((f.name, f"{f.stat().st_size}:{f.stat().st_mtime_ns}",
                  functools.partial(_file_columns, f, limit, problems)) for f in files)
    previous = _load_state(state, text) if state is not None else {}
    kept: dict[str, object] = {}
    reused = 0
    for name, fingerprint, scan in units:
        old = previous.get(name)
        if isinstance(old, dict) and old.get("fingerprint") == fingerprint and (
                old.get("sample") == limit):
            cols = [_finding(c) for c in old.get("columns", [])]
            reused += 1
        else:
            cols = []
            for table, column, values in scan():
                if progress is not None:
                    progress(f"{table}.{column}")
                cols.append(analyse_column(table, column, values, min_share=min_share))
        found.extend(cols)
        kept[name] = {"fingerprint": fingerprint, "sample": limit,
                      "columns": [c.as_dict() for c in cols]}
    if state is not None:
        _save_state(state, text, kept)
    gaps = _gaps(found, inventory) if inventory is not None else []
    past: list[PastRetention] = []
    if retention is not None:
        past = past_retention(text, records, retention, inventory,
                              now or _dt.datetime.now(_dt.UTC))
        gaps += [InventoryGap(p.table, next(r.column for r in records if r.table == p.table),
                              "past_retention",
                              f"{p.rows} rows past retention ({p.record_class}, rule "
                              f"{p.rule}, oldest {p.oldest}): review them for disposal "
                              "with 'finprivacy retention plan', which applies legal holds")
                 for p in past if p.rows]
    return DiscoveryReport(text if "://" not in text else _redact(text), tuple(found),
                           tuple(gaps), tuple(problems), reused, tuple(past))


def _finding(data: Any) -> ColumnFinding:
    try:
        return ColumnFinding(table=str(data["table"]), column=str(data["column"]),
                             kind=data["kind"], confidence=float(data["confidence"]),
                             sampled=int(data["sampled"]), matched=int(data["matched"]),
                             name_hint=data["name_hint"], tokens=dict(data["tokens"]),
                             example=str(data["example"]))
    except (KeyError, TypeError, ValueError):
        raise InvalidInputError("the discovery state file is damaged; delete it to start "
                                "again") from None


def _load_state(path: str | os.PathLike[str], source: str) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError(f"{p.name} is not a discovery state file; delete it to "
                                "start again") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get(
            "source") != source or not isinstance(data.get("units"), dict):
        return {}  # another source or format: start afresh
    units: dict[str, Any] = data["units"]
    return units


def _save_state(path: str | os.PathLike[str], source: str, units: dict[str, object]) -> None:
    from ..crypto import atomic_output

    body = json.dumps({"format": FORMAT, "source": source, "units": units},
                      ensure_ascii=False, sort_keys=True).encode()
    with atomic_output(path) as f:
        f.write(body)


def _redact(url: str) -> str:
    from .._stores import redact_url

    return redact_url(url)
