"""The ``finprivacy`` command line (also ``python -m finprivacy``).

Secrets are never taken as argument values: passphrases come from a prompt, from
standard input (``--passphrase-stdin``) or from an environment variable whose *name*
is given (``--passphrase-env VAR``). Machine-readable output goes to stdout with
``--format json``; progress and human messages go to stderr.

Exit codes: 0 success; 1 a check failed (verification failed, findings present);
2 usage error; 3 a finprivacy error (wrong passphrase, corrupt file, bad input).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..errors import FinPrivacyError

__all__ = ["EXIT_CHECK_FAILED", "EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
"""Success."""
EXIT_CHECK_FAILED = 1
"""A check failed: an audit log did not verify, a scan found personal data."""
EXIT_USAGE = 2
"""The command line was wrong."""
EXIT_ERROR = 3
"""A finprivacy error: wrong passphrase, corrupt file, bad input."""


def _parser() -> argparse.ArgumentParser:
    from . import _demo, _keys, _text

    parser = argparse.ArgumentParser(
        prog="finprivacy",
        description="Privacy primitives for bookkeeping software: keys, demo, scanning.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _demo.register(sub)
    _keys.register(sub)
    _text.register(sub)
    for name in ("_audit", "_retention", "_files", "_tls", "_backup", "_incident",
                 "_discover", "_bulk"):
        try:
            module = __import__(f"finprivacy.cli.{name}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != f"finprivacy.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if args.version:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(version("finprivacy"))
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            print("unknown")
        return EXIT_OK
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(handler(args))
    except FinPrivacyError as exc:
        print(f"finprivacy: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # a file the command was pointed at: never a traceback
        where = f" {exc.filename}" if exc.filename else ""
        print(f"finprivacy: error: cannot use{where}: {exc.strerror or type(exc).__name__}",
              file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        return 130
