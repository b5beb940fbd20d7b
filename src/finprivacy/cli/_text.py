"""``finprivacy scan`` and ``finprivacy redact``: find and mask personal data in files.

Both read files or folders (recursively, filtered by ``--include`` / ``--exclude``
globs) line by line, so memory stays flat on a file of any size; with no path they
read standard input. ``scan`` exits 1 when it finds personal data and 0 when it finds
none; a missing file, a folder given to ``redact -o`` or an unreadable file is exit 3
with one line on stderr, so a CI gate never mistakes a typo for a leak (or for clean).
Progress (files, MB, rate) goes to stderr for long runs, through ``rich`` when it is
installed.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigurationError, NotFoundError
from ._common import add_format_option


def register(sub: Any) -> None:
    """Add the ``scan`` and ``redact`` subcommands."""
    scan = sub.add_parser("scan", help="report personal data found in files (exit 1 if any)")
    scan.add_argument("paths", nargs="*", metavar="PATH",
                      help="files or folders to scan (default: standard input)")
    _add_walk_options(scan)
    add_format_option(scan)
    scan.set_defaults(handler=_scan)
    red = sub.add_parser("redact", help="copy text with personal data masked")
    red.add_argument("paths", nargs="*", metavar="PATH",
                     help="files to redact (default: standard input)")
    out = red.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="FILE",
                     help="write to FILE (atomically) instead of standard output")
    out.add_argument("--in-place", action="store_true",
                     help="replace each file by its redacted copy (atomically)")
    _add_walk_options(red)
    red.set_defaults(handler=_redact)


def _add_walk_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--include", action="append", default=[], metavar="GLOB",
                        help="in folders, read only files matching GLOB (repeatable)")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="skip files and folders matching GLOB (repeatable)")
    parser.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                        help="progress on stderr (auto: for a terminal, or long runs)")


def _matches(name: str, globs: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, g) for g in globs)


def _files(paths: list[str], include: list[str], exclude: list[str]) -> Iterator[Path]:
    """Yield the files named, and the files under the folders named, in a stable order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not _matches(d, exclude))
                for name in sorted(names):
                    if _matches(name, exclude) or (include and not _matches(name, include)):
                        continue
                    yield Path(folder) / name
        elif path.exists():
            if not _matches(path.name, exclude):
                yield path
        else:
            raise NotFoundError(f"no file or folder at {raw}")


class _Progress:
    """Files, megabytes and rate on stderr: rich's live line when installed, else plain."""

    def __init__(self, mode: str, verb: str) -> None:
        self.verb = verb
        self.files = 0
        self.bytes = 0
        self.start = time.monotonic()
        self.last = self.start
        self.enabled = mode == "always" or (mode == "auto" and sys.stderr.isatty())
        self.auto = mode == "auto"
        self._rich: Any = None

    def update(self, nbytes: int, *, new_file: bool = False) -> None:
        self.bytes += nbytes
        self.files += new_file
        now = time.monotonic()
        if now - self.last < 0.5:
            return
        if self.auto and not self.enabled and now - self.start > 5.0:
            self.enabled = True  # a long run: show it even when stderr is not a terminal
        self.last = now
        if self.enabled:
            self._show(now)

    def _line(self, now: float) -> str:
        mb = self.bytes / 1e6
        rate = mb / max(now - self.start, 1e-9)
        return f"{self.verb}: {self.files} files, {mb:,.1f} MB, {rate:,.1f} MB/s"

    def _show(self, now: float) -> None:
        if self._rich is None:
            try:
                from rich.console import Console

                self._rich = Console(stderr=True)
            except ImportError:
                self._rich = False
        if self._rich:
            self._rich.print(self._line(now), end="\r", highlight=False)
        else:
            print(self._line(now), file=sys.stderr, end="\r", flush=True)

    def close(self) -> None:
        if self.enabled:
            print(self._line(time.monotonic()), file=sys.stderr)


def _lines(path: Path | None) -> Iterator[str]:
    """Lines of a file (or of standard input), newline kept; invalid UTF-8 replaced."""
    if path is None:
        yield from sys.stdin
        return
    try:
        fh = path.open(encoding="utf-8", errors="replace", newline="")
    except IsADirectoryError:
        raise ConfigurationError(f"{path} is a folder") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    with fh:
        yield from fh


def _scan(args: argparse.Namespace) -> int:
    from ..masking import scan

    progress = _Progress(args.progress, "scanned")
    sources: list[Path | None] = (
        list(_files(args.paths, args.include, args.exclude)) if args.paths else [None])
    found = 0
    json_out = args.format == "json"
    if json_out:
        sys.stdout.write("[")
    for source in sources:
        name = "<stdin>" if source is None else str(source)
        progress.update(0, new_file=True)
        for number, line in enumerate(_lines(source), 1):
            progress.update(len(line))
            for f in scan(line):
                row = {"file": name, "line": number, "kind": f.kind, "start": f.start,
                       "end": f.end, "confidence": round(float(f.confidence), 3)}
                if json_out:
                    import json

                    sys.stdout.write(("," if found else "") + json.dumps(row, ensure_ascii=False))
                else:
                    print(f"{name}:{number}:{f.start}-{f.end}: {f.kind} "
                          f"(confidence {row['confidence']})")
                found += 1
    if json_out:
        sys.stdout.write("]\n")
    progress.close()
    if not json_out:
        files = len(sources)
        print(f"finprivacy: {found} finding{'s' if found != 1 else ''} in "
              f"{files} file{'s' if files != 1 else ''}", file=sys.stderr)
    return 1 if found else 0


def _redact_stream(source: Path | None, out: IO[str], progress: _Progress) -> None:
    from ..masking import redact

    progress.update(0, new_file=True)
    for line in _lines(source):
        progress.update(len(line))
        out.write(redact(line))


@contextlib.contextmanager
def _atomic_text(target: Path) -> Iterator[IO[str]]:
    """Write a text file atomically: a temporary file beside it, fsync, rename."""
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise NotFoundError(f"no folder {folder} to write {target.name} into")
    if target.is_dir():
        raise ConfigurationError(f"{target} is a folder")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _redact(args: argparse.Namespace) -> int:
    progress = _Progress(args.progress, "redacted")
    sources: list[Path | None] = (
        list(_files(args.paths, args.include, args.exclude)) if args.paths else [None])
    if args.in_place:
        if not args.paths:
            raise ConfigurationError("--in-place needs files to rewrite")
        for source in sources:
            if source is not None:
                with _atomic_text(source) as out:
                    _redact_stream(source, out, progress)
    elif args.output:
        with _atomic_text(Path(args.output)) as out:
            for source in sources:
                _redact_stream(source, out, progress)
    else:
        for source in sources:
            _redact_stream(source, sys.stdout, progress)
    progress.close()
    return 0
