"""``finprivacy retention plan``: which records are due for disposal, kept or held.

Records come as JSON Lines, one object per record::

    {"id": "v-1", "record_class": "bookkeeping_voucher", "created": "2014-03-15",
     "subject": "client-42", "events": {"relationship_end": "2020-06-30"}}

Dates are ``YYYY-MM-DD`` (a day in the organisation's zone) or ISO 8601 instants with
an offset. Output streams one decision per record; the summary goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from collections.abc import Iterator
from typing import Any

from ..errors import FormatError, InvalidTimeError, RetentionError
from ..retention import RetentionRecord, RetentionSchedule, plan
from ..retention.presets import china_enterprise
from ._common import add_format_option

_FORMAT_HELP = """\
records: one JSON object per line, for example
  {"id": "v-1", "record_class": "accounting_voucher", "created": "2014-03-15",
   "subject": "client-42", "events": {"relationship_end": "2020-06-30"}}
  id            the record's id (text, required)
  record_class  a class the schedule governs (see docs/howto/retention.md)
  created       YYYY-MM-DD (a day in --zone) or an ISO 8601 instant with an offset
  subject       optional: whose data it holds
  events        optional: named dates a rule counts from (relationship_end, ...)
  data_categories, name   optional
Every record class the schedule does not govern is reported in one run (exit 3).
"""


def register(sub: Any) -> None:
    """Add the ``retention`` subcommand."""
    ret = sub.add_parser("retention", help="plan retention sweeps over a record listing")
    rsub = ret.add_subparsers(dest="retention_command", metavar="ACTION", required=True)
    p = rsub.add_parser(
        "plan", help="decide due / kept / held for each record (JSON Lines)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Decide, for each record of a JSON Lines listing, whether it is due "
        "for disposal, kept or held.",
        epilog=_FORMAT_HELP)
    p.add_argument("records", help="JSON Lines file of records ('-' for standard input)")
    add_schedule_options(p)
    p.add_argument("--only", choices=("due", "kept", "held"), help="print only this status")
    p.add_argument("--holds", metavar="STORE",
                   help="apply the legal holds in this store (sqlite:///… or postgresql://…)")
    add_format_option(p)
    p.set_defaults(handler=_plan)


def _date(value: object, what: str) -> _dt.date | _dt.datetime:
    if not isinstance(value, str):
        raise FormatError(f"{what} must be a date string")
    try:
        if len(value) == 10:
            return _dt.date.fromisoformat(value)
        parsed = _dt.datetime.fromisoformat(value)
    except ValueError:
        raise FormatError(f"{what} is not an ISO 8601 date or instant") from None
    if parsed.tzinfo is None:
        raise InvalidTimeError(f"{what} needs a UTC offset (or give a plain YYYY-MM-DD date)")
    return parsed


def _records(stream: Any) -> Iterator[RetentionRecord]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise FormatError(f"line {number}: not valid JSON") from None
        if not isinstance(obj, dict):
            raise FormatError(f"line {number}: expected a JSON object")
        events = obj.get("events") or {}
        if not isinstance(events, dict):
            raise FormatError(f"line {number}: events must be an object")
        yield RetentionRecord(
            id=str(obj.get("id", "")), record_class=str(obj.get("record_class", "")),
            created=_date(obj.get("created"), f"line {number}: created"),
            subject=str(obj.get("subject", "")), name=str(obj.get("name", "")),
            data_categories=frozenset(obj.get("data_categories") or ()),
            events={str(k): _date(v, f"line {number}: event {k}") for k, v in events.items()},
        )


def add_schedule_options(p: argparse.ArgumentParser) -> None:
    """Add the options that build the retention schedule and the planning instant."""
    p.add_argument("--schedule", choices=("china_enterprise",), default="china_enterprise",
                   help="the retention schedule preset (default: china_enterprise)")
    p.add_argument("--zone", default="Asia/Shanghai", help="the organisation's IANA zone")
    p.add_argument("--fiscal-year-end", default="12-31", metavar="MM-DD",
                   help="the last day of the fiscal year (default: 12-31)")
    p.add_argument("--aml-years", type=int, default=None,
                   help="also apply the China AML rules with this many years")
    p.add_argument("--now", help="judge as of this ISO 8601 instant (default: now)")


def schedule_from_args(args: argparse.Namespace) -> tuple[RetentionSchedule, _dt.datetime]:
    """Build the schedule and the instant that :func:`add_schedule_options` asked for."""
    try:
        month, day = (int(x) for x in args.fiscal_year_end.split("-"))
    except ValueError:
        raise FormatError("--fiscal-year-end must look like MM-DD") from None
    schedule: RetentionSchedule = china_enterprise(zone=args.zone, fiscal_year_end=(month, day),
                                                   aml_years=args.aml_years)
    if args.now:
        now = _date(args.now, "--now")
        if not isinstance(now, _dt.datetime):
            raise FormatError("--now must be an instant with a UTC offset")
    else:
        now = _dt.datetime.now(_dt.UTC)
    return schedule, now


def _plan(args: argparse.Namespace) -> int:
    schedule, now = schedule_from_args(args)
    stream = sys.stdin if args.records == "-" else open(args.records, encoding="utf-8")  # noqa: SIM115
    try:
        records = list(_records(stream))
    finally:
        if stream is not sys.stdin:
            stream.close()
    known = schedule.record_classes
    unknown: dict[str, list[str]] = {}
    for r in records:
        if r.record_class not in known:
            unknown.setdefault(r.record_class, []).append(r.id)
    if unknown:
        lines = [f"{cls!r} ({_plural(len(ids), 'record')}, e.g. {ids[0]!r})"
                 for cls, ids in sorted(unknown.items())]
        raise RetentionError(
            f"no retention rule in the {args.schedule} schedule for "
            f"{_plural(len(unknown), 'record class', 'record classes')}: "
            f"{'; '.join(lines)}. Known classes: {', '.join(sorted(known))}")
    sweep = plan(records, now, schedule=schedule, holds=args.holds)
    for d in sweep:
        if args.only and d.status != args.only:
            continue
        action = "keep" if d.period.permanent and d.status != "due" else d.action.value
        row = {"id": d.record.id, "status": d.status, "action": action,
               "rule": d.period.rule.key,
               "kept_through": d.period.kept_through.isoformat()
               if d.period.kept_through else None,
               "permanent": d.period.permanent, "holds": list(d.holds)}
        if args.format == "json":
            print(json.dumps(row, ensure_ascii=False, sort_keys=True))
        else:
            until = ("kept permanently" if row["permanent"]
                     else row["kept_through"] or "after an event")
            print(f"{row['id']:<24} {row['status']:<5} {row['action']:<10} "
                  f"{row['rule']:<36} {until}")
    s = sweep.summary
    print(f"{_plural(s.total, 'record')}: {s.due} due, {s.kept} kept ({s.permanent} "
          f"permanent), {s.held} held", file=sys.stderr)
    return 0


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"
