"""``finprivacy scan`` and ``finprivacy redact``: find and mask personal data in text."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import add_format_option


def register(sub: Any) -> None:
    """Add the ``scan`` and ``redact`` subcommands."""
    scan = sub.add_parser("scan", help="report personal data found in files (exit 1 if any)")
    scan.add_argument("files", nargs="*", help="files to scan (default: standard input)")
    add_format_option(scan)
    scan.set_defaults(handler=_scan)
    red = sub.add_parser("redact", help="copy text to stdout with personal data masked")
    red.add_argument("files", nargs="*", help="files to redact (default: standard input)")
    red.set_defaults(handler=_redact)


def _sources(files: list[str]) -> list[tuple[str, str]]:
    if not files:
        return [("<stdin>", sys.stdin.read())]
    out = []
    for name in files:
        with open(name, encoding="utf-8", errors="replace") as fh:
            out.append((name, fh.read()))
    return out


def _scan(args: argparse.Namespace) -> int:
    from ..masking import scan

    rows: list[dict[str, Any]] = []
    for name, text in _sources(args.files):
        for number, line in enumerate(text.splitlines(), 1):
            for f in scan(line):
                rows.append({"file": name, "line": number, "kind": f.kind,
                             "start": f.start, "end": f.end,
                             "confidence": round(float(f.confidence), 3)})
    if args.format == "json":
        import json

        json.dump(rows, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for r in rows:
            print(f"{r['file']}:{r['line']}:{r['start']}-{r['end']}: {r['kind']} "
                  f"(confidence {r['confidence']})")
    return 1 if rows else 0


def _redact(args: argparse.Namespace) -> int:
    from ..masking import redact

    for _, text in _sources(args.files):
        sys.stdout.write(redact(text))
    return 0
