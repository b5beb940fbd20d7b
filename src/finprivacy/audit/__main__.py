"""Stand-alone verifier: ``python -m finprivacy.audit verify EXPORT [--public-key FILE]``.

Checks an auditor export (see :mod:`finprivacy.audit._export`) without the log, its
store or its private key. Exit codes: 0 the export verifies; 1 it does not (tampered,
truncated, reordered, badly signed or malformed content); 2 usage error or unreadable
file. A one-line summary goes to stdout (JSON with ``--format json``); the reason
for a failure goes to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence

from ..errors import AuditIntegrityError, FinPrivacyError, FormatError
from ._export import verify_export
from ._proofs import read_public_key

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the verifier; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m finprivacy.audit",
        description="Verify a finprivacy audit log export without access to the log.")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="verify an export file (JSON Lines)")
    verify.add_argument("export", help="the export file")
    verify.add_argument("--public-key", action="append", default=[], metavar="FILE",
                        help="pin a trusted Ed25519 public key (raw, hex or base64); "
                             "repeat for rotated keys. Without it the export's own keys "
                             "are used, which proves internal consistency only.")
    verify.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    try:
        keys = [read_public_key(p) for p in args.public_key] or None
    except (OSError, UnicodeDecodeError, FinPrivacyError) as exc:
        print(f"error: cannot read public key: {exc}", file=sys.stderr)
        return 2
    try:
        report = verify_export(args.export, keys=keys)
    except OSError as exc:
        print(f"error: cannot read the export: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except AuditIntegrityError as exc:
        print(f"FAILED at position {exc.position}: {exc}", file=sys.stderr)
        return 1
    except (FormatError, UnicodeDecodeError) as exc:
        print(f"FAILED: malformed export: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps({"ok": True, **dataclasses.asdict(report)}, sort_keys=True))
    else:
        trust = "pinned keys" if report.keys_pinned else "keys from the export (not pinned)"
        print(f"OK {report.origin}: entries {report.start}..{report.size - 1}, "
              f"{report.checkpoints} checkpoints, {report.proofs} proofs, {trust}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
