"""``finprivacy audit …``: verify an export or a live log, export a log for an auditor.

* ``finprivacy audit verify EXPORT [--public-key FILE]…`` checks an export file
  offline (the same check as ``python -m finprivacy.audit verify``);
* ``finprivacy audit check --db URL [--public-key FILE]… [--max-unsigned N]
  [--max-age AGE]`` verifies a live log in its database (sequencing pending entries
  first), and its freshness; a URL with no audit log there is exit 3, never a new
  empty log;
* ``finprivacy audit export --db URL --signing-key FILE OUT`` signs a fresh checkpoint
  and writes the auditor export.

Keys come from files, never argument values: a public key file holds the 32 raw
bytes or their hex/base64; a signing key file holds the 32-byte raw private key (or
its hex). Exit codes: 0 verified, 1 verification failed, 2 usage, 3 other errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import sys
from typing import Any

from .._stores import redact_url
from ..audit import AuditLog, verify_export
from ..crypto import Ed25519Signer, Ed25519Verifier
from ..errors import (
    AuditIntegrityError,
    ConfigurationError,
    FormatError,
    KeyringError,
    NotFoundError,
)
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
    chk.add_argument("--hashes-only", action="store_true",
                     help="skip the check of the indexed columns against the entries")
    chk.add_argument("--max-unsigned", type=_count, default=None, metavar="N",
                     help="fail when more than N entries lie past the newest signed "
                     "checkpoint")
    chk.add_argument("--max-age", type=_duration, default=None, metavar="AGE",
                     help="fail when the newest signed checkpoint is older than AGE "
                     "(30m, 1h, 2d)")
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
    from ..audit import read_public_key

    try:
        return [read_public_key(p) for p in paths]
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


def _fail(args: argparse.Namespace, exc: AuditIntegrityError | FormatError) -> int:
    position = exc.position if isinstance(exc, AuditIntegrityError) else None
    where = f" at position {position}" if position is not None else ""
    print(f"finprivacy: audit verification FAILED{where}: {exc}", file=sys.stderr)
    if getattr(args, "format", "text") == "json":
        emit(args, {"ok": False, "position": position, "reason": str(exc)}, "")
    return 1


def _count(text: str) -> int:
    """Parse a count of at least 0 (argparse reports anything else as a usage error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def _duration(text: str) -> _dt.timedelta:
    """Parse ``90s``, ``30m``, ``1h``, ``2d`` (a number and one unit)."""
    number, unit = text[:-1], text[-1:].lower()
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in _UNITS or not value > 0:
        raise argparse.ArgumentTypeError(f"not a duration like 30m, 1h or 2d: {text!r}")
    return _dt.timedelta(seconds=value * _UNITS[unit])


def _verify(args: argparse.Namespace) -> int:
    keys = _public_keys(args.public_key) or None
    try:
        report = verify_export(args.export, keys=keys)
    except OSError as exc:
        raise ConfigurationError(f"cannot read the export: {exc.strerror}") from None
    except (AuditIntegrityError, FormatError) as exc:
        return _fail(args, exc)
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
    try:
        log = AuditLog(args.db, origin=args.origin, verifiers=keys, create=False)
    except NotFoundError:
        raise NotFoundError(f"no audit log at {redact_url(args.db)}") from None
    try:
        report = log.verify(keys=keys, workers=args.workers, max_unsigned=args.max_unsigned,
                            max_age=args.max_age, columns=not args.hashes_only)
    except AuditIntegrityError as exc:
        if "names another log" in str(exc):
            stored = _stored_origin(log)
            if stored is not None and stored != args.origin:
                print(f"finprivacy: the checkpoints are of the log {stored!r}; "
                      f"pass --origin {stored}", file=sys.stderr)
                if args.format == "json":
                    emit(args, {"ok": False, "position": exc.position,
                                "reason": f"the log's origin is {stored!r}, not "
                                f"{args.origin!r}", "origin": stored}, "")
                return 1
        return _fail(args, exc)
    finally:
        log.close()
    data = dataclasses.asdict(report)
    if report.newest_checkpoint is not None:
        data["newest_checkpoint"] = report.newest_checkpoint.isoformat()
    emit(args, {"ok": True, **data},
         f"OK {args.origin}: {_plural(report.size, 'entry', 'entries')} "
         f"({report.start} pruned), {_plural(report.checked_checkpoints, 'checkpoint')}, "
         f"{report.unsigned_entries} past the newest checkpoint")
    return 0


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _stored_origin(log: AuditLog) -> str | None:
    """Return the origin the log's own checkpoints name (for a helpful message), if one."""
    try:
        origins = {cp.origin for cp in log.checkpoints()}
    except Exception:
        return None
    return origins.pop() if len(origins) == 1 else None


def _export(args: argparse.Namespace) -> int:
    log = AuditLog(args.db, origin=args.origin, signer=_signer(args.signing_key))
    try:
        cp = log.export(args.out, inclusion_for=args.inclusion)
    finally:
        log.close()
    emit(args, {"ok": True, "size": cp.size, "key_id": cp.key_id, "path": args.out},
         f"wrote {args.out}: {cp.size} entries, checkpoint signed by key {cp.key_id}")
    return 0
