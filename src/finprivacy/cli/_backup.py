"""``finprivacy backup create | verify | restore | list | prune``."""

from __future__ import annotations

import argparse
from typing import Any

from ..backup import (
    create_backup,
    list_backups,
    prune_backups,
    restore_backup,
    verify_backup,
)
from ..crypto import Keyring
from ._common import add_format_option, add_passphrase_options, emit, read_passphrase


def register(sub: Any) -> None:
    """Add the ``backup`` subcommand."""
    bk = sub.add_parser("backup", help="encrypted, signed database backups")
    bsub = bk.add_subparsers(dest="backup_command", metavar="ACTION", required=True)

    def keyed(p: argparse.ArgumentParser) -> None:
        p.add_argument("--keyring", required=True, help="keyring file")
        add_passphrase_options(p)
        add_format_option(p)

    c = bsub.add_parser("create", help="snapshot a database into the backup folder")
    c.add_argument("source", help="sqlite:///path.db or postgresql://…")
    c.add_argument("folder")
    c.add_argument("--name", default="books")
    keyed(c)
    c.set_defaults(handler=_create)
    v = bsub.add_parser("verify", help="check signature and every segment; exit 1 if bad")
    v.add_argument("backup", help="the .manifest.json or .fpbk file")
    keyed(v)
    v.set_defaults(handler=_verify)
    r = bsub.add_parser("restore", help="restore into a new database and check it")
    r.add_argument("backup")
    r.add_argument("target", help="sqlite:///new.db (must not exist) or postgresql://…")
    keyed(r)
    r.set_defaults(handler=_restore)
    ls = bsub.add_parser("list", help="list the backups in a folder (no keyring needed)")
    ls.add_argument("folder")
    add_format_option(ls)
    ls.set_defaults(handler=_list)
    pr = bsub.add_parser("prune", help="dispose of backups past the retention rule")
    pr.add_argument("folder")
    pr.add_argument("--keep-last", type=int, default=7)
    pr.add_argument("--keep-days", type=int, default=None)
    pr.add_argument("--name", default=None)
    pr.add_argument("--audit", help="audit log store URL that records each disposal")
    pr.add_argument("--dry-run", action="store_true")
    add_format_option(pr)
    pr.set_defaults(handler=_prune)


def _kr(args: argparse.Namespace) -> Keyring:
    return Keyring.load(args.keyring, passphrase=read_passphrase(args))


def _create(args: argparse.Namespace) -> int:
    m = create_backup(args.source, args.folder, keyring=_kr(args), name=args.name)
    emit(args, m.as_dict(), f"backed up {m.plaintext_size} bytes into {m.file}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from ..errors import DecryptionError, VerificationError

    try:
        m = verify_backup(args.backup, keyring=_kr(args))
    except (DecryptionError, VerificationError) as exc:
        emit(args, {"ok": False, "error": str(exc)}, f"FAILED: {exc}")
        return 1
    emit(args, {"ok": True, **m.as_dict()},
         f"{m.file}: signature and {m.plaintext_size} bytes verified")
    return 0


def _restore(args: argparse.Namespace) -> int:
    report = restore_backup(args.backup, args.target, keyring=_kr(args))
    emit(args, {"target": report.target, "tables": dict(report.tables),
                "integrity": report.integrity},
         f"restored into {report.target}: {sum(report.tables.values())} rows, "
         f"integrity {report.integrity}")
    return 0


def _list(args: argparse.Namespace) -> int:
    rows = [m.as_dict() for m in list_backups(args.folder)]
    emit(args, rows, "\n".join(f"{r['created']}  {r['name']:<12} {r['file']}  "
                               f"{r['plaintext_size']} bytes  key {r['key_id']}"
                               for r in rows) or "no backups")
    return 0


def _prune(args: argparse.Namespace) -> int:
    audit = None
    if args.audit:
        from ..audit import AuditLog

        audit = AuditLog(args.audit)
    try:
        gone = prune_backups(args.folder, keep_last=args.keep_last, keep_days=args.keep_days,
                             name=args.name, audit=audit, dry_run=args.dry_run)
    finally:
        if audit is not None:
            audit.close()
    verb = "would dispose of" if args.dry_run else "disposed of"
    emit(args, [m.file for m in gone], f"{verb} {len(gone)} backups")
    return 0
