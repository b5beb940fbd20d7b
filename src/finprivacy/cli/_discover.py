"""``finprivacy discover SOURCE``: report personal data in a database or export files."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..discovery import DiscoveryReport, RecordDates, discover
from ..errors import InvalidInputError
from ..inventory import DataInventory, load_inventory
from ._retention import add_schedule_options, schedule_from_args


def register(sub: Any) -> None:
    """Add the ``discover`` subcommand."""
    p = sub.add_parser("discover", help="find personal data in a database or export files "
                       "(exit 1 on findings past --fail-on)")
    p.add_argument("source", help="sqlite:///…, postgresql://…, or a CSV/TSV/JSONL file or "
                   "folder")
    p.add_argument("--inventory", help="data inventory (TOML) to hold the findings against")
    p.add_argument("--sample", type=int, default=1000, help="rows per column (default 1000)")
    p.add_argument("--full", action="store_true", help="read every row")
    p.add_argument("--state", help="state file for incremental runs: unchanged tables and "
                   "files keep their last verdict")
    p.add_argument("--fail-on", choices=("gaps", "personal", "never"), default=None,
                   help="exit 1 on inventory gaps or records past retention (default with "
                   "--inventory or --records), on any "
                   "plaintext personal data (default without), or never")
    p.add_argument("--format", choices=("text", "json", "html"), default="text")
    p.add_argument("-o", "--output", help="write the report here instead of stdout")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--records", action="append", default=[], metavar="TABLE:COLUMN[:CLASS]",
                   help="count the rows of TABLE past retention, by the date in COLUMN "
                   "(record class CLASS, or the one the inventory gives); repeatable")
    p.add_argument("--suggest-jobs", metavar="DIR",
                   help="write a bulk job (DIR/<table>.toml) for each table with plaintext "
                   "personal data, to review and run with 'finprivacy bulk run'")
    p.add_argument("--suggest-action", choices=("mask", "encrypt", "tokenize"),
                   default="encrypt", help="what the suggested jobs do (default: encrypt)")
    add_schedule_options(p)
    p.set_defaults(handler=_discover)


def _records(specs: list[str]) -> list[RecordDates]:
    out = []
    for spec in specs:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not all(parts[:2]):
            raise InvalidInputError(f"--records {spec!r}: write TABLE:COLUMN or "
                                    "TABLE:COLUMN:CLASS")
        out.append(RecordDates(parts[0], parts[1], parts[2] if len(parts) == 3 else ""))
    return out


def _discover(args: argparse.Namespace) -> int:
    inventory = load_inventory(args.inventory) if args.inventory else None

    tty = sys.stderr.isatty()

    def progress(where: str) -> None:
        if not args.quiet and tty:  # a log file gets no carriage-return noise
            sys.stderr.write(f"\rdiscover: {where[:70]:<70}")

    records = _records(args.records)
    schedule, now = schedule_from_args(args) if records else (None, None)
    report = discover(args.source, inventory=inventory, sample=args.sample, full=args.full,
                      state=args.state, progress=progress, retention=schedule,
                      records=records, now=now)
    if not args.quiet and tty:
        sys.stderr.write("\n")
    if args.suggest_jobs:
        _suggest(report, args, inventory)
    text = {"text": report.to_text, "json": report.to_json,
            "html": report.to_html}[args.format]()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text)
    fail_on = args.fail_on or ("gaps" if inventory is not None or records else "personal")
    if fail_on == "gaps":
        failed = any(g.problem in ("undeclared", "plaintext_sensitive", "past_retention")
                     for g in report.gaps)
    elif fail_on == "personal":
        failed = any(c.kind is not None for c in report.columns)
    else:
        failed = False
    return 1 if failed else 0


def _suggest(report: DiscoveryReport, args: argparse.Namespace,
             inventory: DataInventory | None) -> None:
    from pathlib import Path

    from ..bulk import suggest_job
    from ..crypto import atomic_output

    folder = Path(args.suggest_jobs)
    folder.mkdir(parents=True, exist_ok=True)
    tables = {c.table for c in report.columns if c.kind is not None}
    if inventory is not None:  # columns the inventory classifies C2/C3 count too
        tables |= {c.table for c in report.columns if not c.tokens and any(
            f is not None and f.sensitivity in ("C2", "C3")
            for f in (inventory.get(f"{c.table}.{c.column}"), inventory.get(c.column)))}
    for table in sorted(tables):
        job = suggest_job(report.columns, table=table, name=f"{args.suggest_action}-{table}",
                          action=args.suggest_action, inventory=inventory)
        safe = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in table)
        with atomic_output(folder / f"{safe}.toml") as f:
            f.write(job.to_toml().encode())
        if not args.quiet:
            sys.stderr.write(f"discover: suggested {folder / (safe + '.toml')}\n")
