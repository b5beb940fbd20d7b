"""``finprivacy demo``: an end-to-end bookkeeping story on an embedded SQLite file.

Each chapter lives in ``_demo_<name>.py`` and defines
``chapter(workdir: Path, say: Callable[[str], None]) -> None``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHAPTERS = ("encryption", "searchable", "masking", "consent", "access", "audit", "retention",
            "rights")
"""The demo's chapters, in the order the story tells them."""


def register(sub: Any) -> None:
    """Add the ``demo`` subcommand."""
    parser = sub.add_parser("demo", help="run the end-to-end bookkeeping demo (SQLite)")
    parser.add_argument("--keep", metavar="DIR",
                        help="write the demo's files into DIR and keep them")
    parser.add_argument("--chapter", action="append", choices=CHAPTERS,
                        help="run only this chapter (repeatable)")
    parser.set_defaults(handler=run)


def _load(name: str) -> Callable[[Path, Callable[[str], None]], None] | None:
    modname = f"finprivacy.cli._demo_{name}"
    try:
        module = importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        if exc.name == modname:
            return None
        raise
    chapter: Callable[[Path, Callable[[str], None]], None] = module.chapter
    return chapter


def run(args: argparse.Namespace) -> int:
    """Run the demo's chapters in order and return 0."""
    def say(line: str) -> None:
        print(line, flush=True)

    chosen = args.chapter or list(CHAPTERS)
    with tempfile.TemporaryDirectory(prefix="finprivacy-demo-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        say("finprivacy demo — Lotus Bookkeeping keeps its clients' data private")
        where = "the folder you chose" if args.keep else "a temporary folder"
        say(f"(embedded SQLite files in {where})")
        ran = 0
        for number, name in enumerate(chosen, 1):
            chapter = _load(name)
            if chapter is None:
                continue
            say("")
            say(f"── Chapter {number}: {name} " + "─" * max(0, 50 - len(name)))
            chapter(workdir, say)
            ran += 1
        say("")
        say(f"Done: {ran} chapter(s).")
    if ran == 0:
        print("finprivacy: no demo chapters are installed", file=sys.stderr)
        return 1
    return 0
