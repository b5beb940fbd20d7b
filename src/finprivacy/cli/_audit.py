"""``finprivacy audit …``: verify an export or a live log, export a log for an auditor.

* ``finprivacy audit verify EXPORT [--public-key FILE]…`` checks an export file
  offline (the same check as ``python -m finprivacy.audit verify``);
* ``finprivacy audit check --db URL [--public-key FILE]…`` verifies a live log in its
  database (sequencing pending entries first);
* ``finprivacy audit export --db URL --signing-key FILE OUT`` signs a fresh checkpoint
  and writes the auditor export.

Keys come from files, never argument values: a public key file holds the 32 raw
bytes or their hex/base64; a signing key file holds the 32-byte raw private key (or
its hex). Exit codes: 0 verified, 1 verification failed, 2 usage, 3 other errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from ..audit import AuditLog, verify_export
from ..crypto import Ed25519Signer, Ed25519Verifier
from ..errors import AuditIntegrityError, ConfigurationError, FormatError, KeyringError
from ._common import add_format_option, emit

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the ``audit`` subcommand and its actions."""
    audit = sub.add_parser("audit", help="verify and export tamper-evident audit logs")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)

    ver = asub.add_parser("verify", help="verify an export file offline (exit 1 on failure)")
    ver.add_argument("export", help="the export file (JSON Lines)")
    ver.add_argument("--public-key", action="append", default=[], metavar="FILE",
                     help="trusted Ed25519 public key (repeat for rotated keys)")
    add_format_option(ver)
    ver.set_defaults(handler=_verify)

    chk = asub.add_parser("check", help="verify a live audit log in its database")
    chk.add_argument("--db", required=True, help="store URL: sqlite:///… or postgresql://…")
    chk.add_argument("--origin", default="finprivacy-audit", help="the log's origin name")
    chk.add_argument("--public-key", action="append", default=[], metavar="FILE",
                     required=True, help="trusted Ed25519 public key (repeatable)")
    chk.add_argument("--workers", type=_positive_int, default=1, metavar="N",
                     help="read and re-hash a large log in N processes (default 1)")
    add_format_option(chk)
    chk.set_defaults(handler=_check)

    exp = asub.add_parser("export", help="sign a checkpoint and write an auditor export")
    exp.add_argument("--db", required=True, help="store URL: sqlite:///… or postgresql://…")
    exp.add_argument("--origin", default="finprivacy-audit", help="the log's origin name")
    exp.add_argument("--signing-key", required=True, metavar="FILE",
                     help="file holding the 32-byte Ed25519 private key (raw or hex)")
    exp.add_argument("--inclusion", type=int, action="append", default=[], metavar="SEQ",
                     help="add an inclusion proof for this entry (repeatable)")
    exp.add_argument("out", help="the export file to write (atomically)")
    add_format_option(exp)
    exp.set_defaults(handler=_export)


def _public_keys(paths: list[str]) -> list[Ed25519Verifier]:
    from ..audit.__main__ import _read_key

    try:
        return [_read_key(p) for p in paths]
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read a public key file: {type(exc).__name__}") from None


def _signer(path: str) -> Ed25519Signer:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the signing key file: {exc.strerror}") from None
    if len(data) != 32:
        try:
            data = bytes.fromhex(data.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            raise KeyringError("the signing key file is not 32 raw bytes or hex") from None
    return Ed25519Signer.from_private_bytes(data)


def _fail(exc: AuditIntegrityError | FormatError) -> int:
    where = f" at position {exc.position}" if isinstance(exc, AuditIntegrityError) else ""
    print(f"finprivacy: audit verification FAILED{where}: {exc}", file=sys.stderr)
    return 1


def _verify(args: argparse.Namespace) -> int:
    keys = _public_keys(args.public_key) or None
    try:
        report = verify_export(args.export, keys=keys)
    except OSError as exc:
        raise ConfigurationError(f"cannot read the export: {exc.strerror}") from None
    except (AuditIntegrityError, FormatError) as exc:
        return _fail(exc)
    trust = "pinned keys" if report.keys_pinned else "keys from the export (not pinned)"
    emit(args, {"ok": True, **dataclasses.asdict(report)},
         f"OK {report.origin}: entries {report.start}..{report.size - 1}, "
         f"{report.checkpoints} checkpoints, {report.proofs} proofs, {trust}")
    return 0


def _positive_int(text: str) -> int:
    """Parse a count of at least 1 (argparse reports anything else as a usage error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _check(args: argparse.Namespace) -> int:
    keys = _public_keys(args.public_key)
    log = AuditLog(args.db, origin=args.origin, verifiers=keys)
    try:
        report = log.verify(keys=keys, workers=args.workers)
    except AuditIntegrityError as exc:
        return _fail(exc)
    finally:
        log.close()
    emit(args, {"ok": True, **dataclasses.asdict(report)},
         f"OK {args.origin}: {report.size} entries ({report.start} pruned), "
         f"{report.checked_checkpoints} checkpoints")
    return 0


def _export(args: argparse.Namespace) -> int:
    log = AuditLog(args.db, origin=args.origin, signer=_signer(args.signing_key))
    try:
        cp = log.export(args.out, inclusion_for=args.inclusion)
    finally:
        log.close()
    emit(args, {"ok": True, "size": cp.size, "key_id": cp.key_id, "path": args.out},
         f"wrote {args.out}: {cp.size} entries, checkpoint signed by key {cp.key_id}")
    return 0
