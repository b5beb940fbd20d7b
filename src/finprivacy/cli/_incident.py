"""``finprivacy incident open | list | show | due``: the incident register."""

from __future__ import annotations

import argparse
import datetime as _dt
from typing import Any

from ..errors import InvalidInputError
from ..incidents import IncidentRegister, obligations
from ._common import add_format_option, emit


def register(sub: Any) -> None:
    """Add the ``incident`` subcommand."""
    inc = sub.add_parser("incident", help="the incident register and its reporting clocks")
    isub = inc.add_subparsers(dest="incident_command", metavar="ACTION", required=True)

    def store(p: argparse.ArgumentParser) -> None:
        p.add_argument("--store", required=True, help="sqlite:///incidents.db or postgresql://…")
        add_format_option(p)

    o = isub.add_parser("open", help="open an incident")
    o.add_argument("title")
    o.add_argument("--actor", required=True)
    o.add_argument("--aware-at", help="ISO 8601 time with its offset (default: now)")
    store(o)
    o.set_defaults(handler=_open)
    ls = isub.add_parser("list", help="list incidents")
    ls.add_argument("--open", action="store_true", help="open incidents only")
    store(ls)
    ls.set_defaults(handler=_list)
    sh = isub.add_parser("show", help="an incident's timeline and obligations")
    sh.add_argument("incident_id")
    store(sh)
    sh.set_defaults(handler=_show)
    rp = isub.add_parser("report", help="record a report made (to an obligation key such as "
                         "cn_cac.initial, cn_cac.followup, cn_cac.summary, cn_cac.police, "
                         "pipl.authority, gdpr.authority), or print a draft")
    rp.add_argument("incident_id")
    rp.add_argument("--to", help="the obligation met: record the report")
    rp.add_argument("--actor", help="who sent it (with --to)")
    rp.add_argument("--at", help="when it was sent, ISO 8601 with offset (default: now)")
    rp.add_argument("--reference", default="", help="the regulator's reference, if any")
    rp.add_argument("--delay-reasons", default="", help="GDPR Art. 33(1): why it was late")
    rp.add_argument("--partial", action="store_true",
                    help="with --to cn_cac.initial: cause or impact not yet known, the "
                    "rest follows (办法 Art. 7 ¶2; cn_cac.followup then falls due)")
    rp.add_argument("--draft", action="store_true",
                    help="print the regulator report drafted from the register")
    rp.add_argument("--firm", default="", help="the reporting entity (for --draft)")
    rp.add_argument("--contact", default="", help="the contact person (for --draft)")
    store(rp)
    rp.set_defaults(handler=_report)
    du = isub.add_parser("due", help="what is overdue and what falls due next (exit 1 if "
                         "anything is overdue)")
    du.add_argument("--now", help="ISO 8601 time (default: now)")
    store(du)
    du.set_defaults(handler=_due)


def _time(text: str | None) -> _dt.datetime | None:
    if text is None:
        return None
    try:
        value = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"not an ISO 8601 time: {text!r}") from None
    if value.tzinfo is None:
        raise InvalidInputError("give the time with its offset, e.g. 2026-12-07T09:30+08:00")
    return value


def _open(args: argparse.Namespace) -> int:
    reg = IncidentRegister(args.store)
    inc = reg.open(args.title, actor=args.actor,
                   aware_at=_time(args.aware_at) or _dt.datetime.now(_dt.UTC))
    emit(args, {"id": inc.id}, f"opened {inc.id}")
    return 0


def _list(args: argparse.Namespace) -> int:
    rows = [{"id": i.id, "title": i.title, "opened_at": i.opened_at.isoformat(),
             "grade": i.grade, "open": i.open}
            for i in IncidentRegister(args.store, create=False).incidents(open_only=args.open)]
    emit(args, rows, "\n".join(f"{r['id']}  {r['opened_at']}  {'open' if r['open'] else 'closed'}"
                               f"  {r['grade'] or '-'}  {r['title']}" for r in rows)
         or "no incidents")
    return 0


def _show(args: argparse.Namespace) -> int:
    inc = IncidentRegister(args.store, create=False).get(args.incident_id)
    events = [{"seq": e.seq, "kind": e.kind, "at": e.at.isoformat(), "actor": e.actor,
               "data": dict(e.data)} for e in inc.events]
    obs: list[dict[str, Any]] = [
        {"key": o.key, "due": o.due.isoformat(), "immediate": o.immediate,
         "met_at": o.met_at.isoformat() if o.met_at else None, "citation": o.citation}
        for o in obligations(inc)]
    human = [f"{inc.id}: {inc.title}"] + [f"  {e['seq']:>3} {e['at']} {e['kind']:<18} "
                                          f"{e['actor']}" for e in events]
    human += [f"  due {o['due']} {o['key']:<17} "
              f"{'done ' + str(o['met_at']) if o['met_at'] else ''}  ({o['citation']})"
              for o in obs]
    emit(args, {"id": inc.id, "events": events, "obligations": obs}, "\n".join(human))
    return 0


def _due(args: argparse.Namespace) -> int:
    overdue, coming = IncidentRegister(args.store, create=False).due(_time(args.now))

    def row(o: Any) -> dict[str, Any]:
        return {"incident": o.incident_id, "key": o.key, "due": o.due.isoformat(),
                "recipient": o.recipient, "citation": o.citation}

    data = {"overdue": [row(o) for o in overdue], "coming": [row(o) for o in coming]}
    lines = [f"OVERDUE {o.due.isoformat()} {o.incident_id} {o.key} → {o.recipient}"
             for o in overdue]
    lines += [f"due     {o.due.isoformat()} {o.incident_id} {o.key} → {o.recipient}"
              for o in coming]
    emit(args, data, "\n".join(lines) or "nothing due")
    return 1 if overdue else 0


def _report(args: argparse.Namespace) -> int:
    from ..incidents import regulator_report

    reg = IncidentRegister(args.store, create=False)
    if args.to:
        if not args.actor:
            raise InvalidInputError("--to needs --actor (who sent the report)")
        if args.to == "cn_cac.followup":
            reg.followup_reported(args.incident_id, actor=args.actor, at=_time(args.at),
                                  reference=args.reference)
        elif args.to == "cn_cac.summary":
            reg.summary_reported(args.incident_id, actor=args.actor, at=_time(args.at),
                                 reference=args.reference)
        else:
            reg.reported(args.incident_id, args.to, actor=args.actor, at=_time(args.at),
                         reference=args.reference, delay_reasons=args.delay_reasons,
                         partial=args.partial)
    inc = reg.get(args.incident_id)
    if args.draft:
        print(regulator_report(inc, firm=args.firm or "-", contact=args.contact or "-",
                               systems="-", cause="-", impact="-", measures="-"), end="")
        return 0
    if not args.to:
        raise InvalidInputError("give --to KEY to record a report, or --draft")
    emit(args, {"id": inc.id, "recorded": args.to}, f"recorded the report to {args.to}")
    return 0
