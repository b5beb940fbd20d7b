"""Records past retention: which tables still hold rows their retention rules let go.

A firm must keep accounting records for 10 or 30 years or for ever, and then dispose of
them; personal data kept past its purpose breaks the storage limit (PIPL Art. 19,
GDPR Art. 5(1)(e)). Discovery counts, per table, the rows whose retention period has
run, from a date column the user names (:class:`RecordDates`) and the firm's
:class:`~finprivacy.retention.RetentionSchedule`. Dates are grouped per day first (in
SQL, ``GROUP BY``), so a table of millions of rows costs one query and one schedule
look-up per distinct day. Legal holds are not applied here: the count is what to review
with ``finprivacy retention plan``, which applies them.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import datetime as _dt
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, NotFoundError
from ..inventory import DataInventory
from ..retention import RetentionRecord, RetentionSchedule

__all__ = ["PastRetention", "RecordDates"]


@dataclasses.dataclass(frozen=True, slots=True)
class RecordDates:
    """Where a table's records keep the date their retention clock counts from.

    ``column`` holds the trigger date of the rules that govern the table (the booking
    date for vouchers, the end of the relationship for client files). ``record_class``
    defaults to the retention class the inventory gives the table's fields.
    """

    table: str
    """The table (or file name, for files)."""
    column: str
    """The date column."""
    record_class: str = ""
    """The retention record class; empty: taken from the inventory."""


@dataclasses.dataclass(frozen=True, slots=True)
class PastRetention:
    """Rows of one table whose retention period has run (before legal holds)."""

    table: str
    record_class: str
    rows: int
    """Rows past retention."""
    checked: int
    """Rows with a date that was checked."""
    undated: int
    """Rows whose date is empty or not a date: not judged (review them by hand)."""
    oldest: str
    """The oldest date among the rows past retention (ISO), or empty."""
    rule: str
    """The key of the rule that decided (the longest minimum keep)."""

    def as_dict(self) -> dict[str, object]:
        """Return the JSON form."""
        return dataclasses.asdict(self)


def past_retention(source: str, records: Sequence[RecordDates], schedule: RetentionSchedule,
                   inventory: DataInventory | None, now: _dt.datetime) -> list[PastRetention]:
    """Count rows past retention for each of ``records`` in ``source``."""
    if now.tzinfo is None:
        raise InvalidInputError("now must be timezone-aware")
    out = []
    for spec in records:
        record_class = spec.record_class or _class_from_inventory(spec, inventory)
        counts = (_sql_days(source, spec) if "://" in source
                  else _file_days(Path(source), spec))
        out.append(_judge(spec.table, record_class, counts, schedule, now))
    return out


def _class_from_inventory(spec: RecordDates, inventory: DataInventory | None) -> str:
    classes = set()
    if inventory is not None:
        for field in inventory:
            if field.retention and (field.name.startswith(f"{spec.table}.")
                                    or field.name == spec.column):
                classes.add(field.retention)
    if len(classes) != 1:
        found = ", ".join(sorted(classes)) or "none"
        raise InvalidInputError(
            f"table {spec.table!r}: say which retention class its records are "
            f"(record_class=); the inventory gives {found}")
    return classes.pop()


def _day(value: object) -> _dt.date | None:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return _dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _sql_days(url: str, spec: RecordDates) -> collections.Counter[Any]:
    import sqlalchemy as sa

    from .._stores import redact_url, sql_engine

    engine = sql_engine(url, what="discovering a database")
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(spec.table):
                raise NotFoundError(f"no table {spec.table!r} at {redact_url(url)}")
            tbl = sa.Table(spec.table, sa.MetaData(), autoload_with=conn)
            if spec.column not in tbl.c:
                raise InvalidInputError(f"table {spec.table!r} has no column {spec.column!r}")
            col = tbl.c[spec.column]
            # One row per day: SQLite's date() reads ISO text; PostgreSQL's dates and
            # timestamps go through ::date, its text by the first ten characters.
            day: Any
            if engine.dialect.name == "sqlite":
                day = sa.func.date(col)
            elif isinstance(col.type, sa.Date | sa.DateTime):
                day = sa.cast(col, sa.Date)
            else:
                day = sa.func.left(sa.cast(col, sa.Text), 10)
            rows = conn.execute(sa.select(day, sa.func.count()).select_from(tbl).group_by(day))
            return collections.Counter({r[0]: int(r[1]) for r in rows})
    finally:
        engine.dispose()


def _file_days(path: Path, spec: RecordDates) -> collections.Counter[Any]:
    target = path / spec.table if path.is_dir() else path
    if not target.is_file() or (not path.is_dir() and path.name != spec.table):
        raise NotFoundError(f"no file {spec.table!r} in {path}")
    counts: collections.Counter[Any] = collections.Counter()
    suffix = target.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(target)
        if spec.column not in pf.schema_arrow.names:
            raise InvalidInputError(f"{target.name} has no column {spec.column!r}")
        for batch in pf.iter_batches(columns=[spec.column]):
            counts.update(batch.column(0).to_pylist())
        return counts
    with target.open(encoding="utf-8", errors="replace", newline="") as f:
        if suffix in (".csv", ".tsv"):
            reader = csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ",")
            if spec.column not in (reader.fieldnames or []):
                raise InvalidInputError(f"{target.name} has no column {spec.column!r}")
            counts.update(row.get(spec.column) or None for row in reader)
        else:
            counts.update(_json_values(f, spec.column))
    return counts


def _json_values(lines: Iterable[str], column: str) -> Iterable[object]:
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            yield None
            continue
        yield obj.get(column) if isinstance(obj, dict) else None


def _judge(table: str, record_class: str, counts: collections.Counter[Any],
           schedule: RetentionSchedule, now: _dt.datetime) -> PastRetention:
    events = {r.event_name for r in schedule.rules}
    by_day: collections.Counter[_dt.date] = collections.Counter()
    undated = 0
    for raw, n in counts.items():
        day = _day(raw)
        if day is None:
            undated += n
        else:
            by_day[day] += n
    rows = 0
    oldest: _dt.date | None = None
    rule = ""
    for day in sorted(by_day):
        record = RetentionRecord(id=f"{table}@{day.isoformat()}", record_class=record_class,
                                 created=day, events=dict.fromkeys(events, day))
        period = schedule.retain_until(record)
        rule = rule or period.rule.key
        if period.is_due(now):
            rows += by_day[day]
            oldest = oldest or day
            rule = period.rule.key
    return PastRetention(table, record_class, rows, sum(by_day.values()), undated,
                         oldest.isoformat() if oldest else "", rule)
