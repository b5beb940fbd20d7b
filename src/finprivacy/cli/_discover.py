"""``finprivacy discover SOURCE``: report personal data in a database or export files."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..discovery import discover
from ..inventory import load_inventory


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
                   help="exit 1 on inventory gaps (default with --inventory), on any "
                   "plaintext personal data (default without), or never")
    p.add_argument("--format", choices=("text", "json", "html"), default="text")
    p.add_argument("-o", "--output", help="write the report here instead of stdout")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=_discover)


def _discover(args: argparse.Namespace) -> int:
    inventory = load_inventory(args.inventory) if args.inventory else None

    def progress(where: str) -> None:
        if not args.quiet:
            sys.stderr.write(f"\rdiscover: {where[:70]:<70}")

    report = discover(args.source, inventory=inventory, sample=args.sample, full=args.full,
                      state=args.state, progress=progress)
    if not args.quiet:
        sys.stderr.write("\n")
    text = {"text": report.to_text, "json": report.to_json,
            "html": report.to_html}[args.format]()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        print(text)
    fail_on = args.fail_on or ("gaps" if inventory is not None else "personal")
    if fail_on == "gaps":
        failed = any(g.problem in ("undeclared", "plaintext_sensitive") for g in report.gaps)
    elif fail_on == "personal":
        failed = any(c.kind is not None for c in report.columns)
    else:
        failed = False
    return 1 if failed else 0
