"""``finprivacy keys …`` and ``finprivacy reencrypt``: keyring files and key rotation."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .._stores import redact_url
from ..crypto import Keyring, record_context
from ..errors import ConfigurationError, DecryptionError, FinPrivacyError
from ._common import add_format_option, add_passphrase_options, emit, read_passphrase

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def register(sub: Any) -> None:
    """Add the ``keys`` and ``reencrypt`` subcommands."""
    keys = sub.add_parser("keys", help="create, inspect and rotate keyring files")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)

    gen = ksub.add_parser("generate", help="create a new keyring file")
    gen.add_argument("path", help="keyring file to create (refuses to overwrite)")
    add_passphrase_options(gen)
    add_format_option(gen)
    gen.set_defaults(handler=_generate)

    lst = ksub.add_parser("list", help="list the keys of a keyring file (ids and status only)")
    lst.add_argument("path")
    add_passphrase_options(lst)
    add_format_option(lst)
    lst.set_defaults(handler=_list)

    rot = ksub.add_parser("rotate", help="add a new primary key; old keys still decrypt")
    rot.add_argument("path")
    add_passphrase_options(rot)
    add_format_option(rot)
    rot.set_defaults(handler=_rotate)

    for action, text in (("retire", "stop using a key for decryption (reversible)"),
                         ("destroy", "destroy a key's material for good")):
        p = ksub.add_parser(action, help=text)
        p.add_argument("path")
        p.add_argument("key_id")
        p.add_argument("--db", help="database whose columns may still depend on the key")
        p.add_argument("--column", action="append", default=[], metavar="TABLE.COLUMN",
                       help="a column of tokens, blind indexes or deterministic tokens to "
                       "check for values under the key (repeatable; needs --db)")
        p.add_argument("--force", action="store_true",
                       help="go ahead although values may still depend on the key")
        if action == "destroy":
            p.add_argument("--yes", action="store_true",
                           help="confirm: data still encrypted under this key is lost")
        add_passphrase_options(p)
        add_format_option(p)
        p.set_defaults(handler=_retire if action == "retire" else _destroy)

    ri = sub.add_parser(
        "reindex",
        help="recompute a blind index column under the current primary key (resumable)")
    ri.add_argument("--keyring", required=True, help="keyring file")
    ri.add_argument("--db", required=True, help="database URL: sqlite:///… or postgresql://…")
    ri.add_argument("--table", required=True)
    ri.add_argument("--column", required=True, help="the column of encrypted tokens")
    ri.add_argument("--index-column", required=True, help="the blind index column to rebuild")
    ri.add_argument("--index", required=True, metavar="NAME",
                    help="the blind index's name (as given to BlindIndex)")
    ri.add_argument("--bits", type=int, default=32, help="the index's bits (default 32)")
    ri.add_argument("--normalize", action="append", default=[], metavar="STEP",
                    help="the index's normalisers, in order (repeatable: nfkc, digits, …)")
    ri.add_argument("--algorithm", choices=("blake2b", "hmac-sha256"), default="blake2b")
    ri.add_argument("--key-column", default="id", help="primary key column (default: id)")
    ri.add_argument("--context", required=True, help="the encryption context of --column")
    ri.add_argument("--bind-row", metavar="COLUMN", nargs="?", const="", default=None,
                    help="tokens are bound to their row: context is CONTEXT#<COLUMN value>")
    ri.add_argument("--batch", type=int, default=500, help="rows per transaction")
    add_passphrase_options(ri)
    add_format_option(ri)
    ri.set_defaults(handler=_reindex)

    re_ = sub.add_parser(
        "reencrypt",
        help="re-encrypt a column's tokens under the current primary key (idempotent)",
    )
    re_.add_argument("--keyring", required=True, help="keyring file")
    re_.add_argument("--db", required=True, help="database URL: sqlite:///… or postgresql://…")
    re_.add_argument("--table", required=True)
    re_.add_argument("--column", required=True)
    re_.add_argument("--key-column", default="id", help="primary key column (default: id)")
    re_.add_argument("--context", required=True, help="the encryption context of the column")
    re_.add_argument("--bind-row", metavar="COLUMN", nargs="?", const="", default=None,
                     help="tokens are bound to their row (pydantic context_field=): the "
                     "context is CONTEXT#<value of COLUMN> (default column: --key-column)")
    re_.add_argument("--batch", type=int, default=500, help="rows per transaction")
    add_passphrase_options(re_)
    add_format_option(re_)
    re_.set_defaults(handler=_reencrypt)


def _load(args: argparse.Namespace) -> Keyring:
    return Keyring.load(getattr(args, "path", None) or args.keyring,
                        passphrase=read_passphrase(args))


def _key_rows(kr: Keyring) -> list[dict[str, str]]:
    infos = kr.keys()
    return [
        {"id": k.key_id, "status": k.status.value, "algorithm": k.algorithm,
         "created_at": k.created_at.isoformat()}
        for k in infos
    ]


def _generate(args: argparse.Namespace) -> int:
    import os

    if os.path.exists(args.path):
        raise ConfigurationError(f"{args.path} exists; refusing to overwrite a keyring")
    kr = Keyring.generate()
    kr.save(args.path, passphrase=read_passphrase(args, confirm=True))
    emit(args, {"path": args.path, "primary": kr.primary_id},
         f"created {args.path} with primary key {kr.primary_id}")
    return 0


def _list(args: argparse.Namespace) -> int:
    kr = _load(args)
    rows = _key_rows(kr)
    human = "\n".join(f"{r['id']:<12} {r['status']:<13} {r['algorithm']:<12} {r['created_at']}"
                      for r in rows)
    emit(args, {"primary": kr.primary_id, "keys": rows}, human)
    return 0


def _save_same(args: argparse.Namespace, kr: Keyring, passphrase: str) -> None:
    kr.save(args.path, passphrase=passphrase)


def _rotate(args: argparse.Namespace) -> int:
    passphrase = read_passphrase(args)
    kr = Keyring.load(args.path, passphrase=passphrase)
    old = kr.primary_id
    new_id = kr.rotate()
    _save_same(args, kr, passphrase)
    steps = (
        f"new primary key {new_id} (the old one, {old}, still decrypts). Next:\n"
        "  1. finprivacy reencrypt --keyring … --db … --table … --column … --context … "
        "for every encrypted column\n"
        "  2. finprivacy reindex --keyring … --db … --table … --column … --index-column … "
        "--index … for every blind index column (lookups use the new key only after "
        "the old one is retired)\n"
        "  3. recompute deterministic tokens under the new key in your application\n"
        f"  4. finprivacy keys retire {args.path} {old} --db … --column TABLE.COLUMN … "
        "(refuses while any value still depends on it)\n"
        f"  5. later, when no backup needs it: finprivacy keys destroy {args.path} {old}")
    emit(args, {"primary": new_id, "previous": old}, steps)
    return 0


def _dependents(args: argparse.Namespace, key_id: str) -> list[tuple[str, int]]:
    """Count, per named column, the values made under ``key_id`` (tokens, blind indexes)."""
    from ..errors import NotFoundError
    from ..storage import database_exists, open_database

    if args.column and not args.db:
        raise ConfigurationError("--column needs --db")
    if not args.db:
        return []
    if not database_exists(args.db):
        raise NotFoundError(f"no database at {redact_url(args.db)}")
    db = open_database(args.db)
    counts = []
    for spec in args.column:
        table, _, column = spec.partition(".")
        if not (_IDENT.match(table) and _IDENT.match(column)):
            raise ConfigurationError(f"--column {spec!r}: use TABLE.COLUMN (plain identifiers)")
        columns = _columns_of(db, table)
        if column not in columns:
            raise ConfigurationError(f"--column {spec!r}: no such column"
                                     f"{_closest(column, columns)}")
        with db.transaction(write=False) as tx:
            rows = tx.fetchall(
                f"SELECT COUNT(*) FROM {table} WHERE {column} LIKE ? OR {column} LIKE ?",  # noqa: S608
                (f"{key_id}:%", f"%.{key_id}.%"))
        counts.append((spec, int(rows[0][0])))
    return counts


def _guard(args: argparse.Namespace, action: str) -> None:
    """Refuse to retire or destroy a key that named columns still depend on."""
    counts = _dependents(args, args.key_id)
    busy = [(c, n) for c, n in counts if n]
    if busy and not args.force:
        listed = ", ".join(f"{c}: {n}" for c, n in busy)
        raise ConfigurationError(
            f"refusing to {action} key {args.key_id}: values still depend on it ({listed}); "
            "run finprivacy reencrypt / reindex first, or pass --force")
    if not counts and not args.force:
        print(f"finprivacy: note: blind indexes and deterministic tokens made under "
              f"{args.key_id} stop matching once it is {action}d; name their columns with "
              "--db URL --column TABLE.COLUMN to have them checked", file=sys.stderr)


def _retire(args: argparse.Namespace) -> int:
    _guard(args, "retire")
    passphrase = read_passphrase(args)
    kr = Keyring.load(args.path, passphrase=passphrase)
    kr.retire(args.key_id)
    _save_same(args, kr, passphrase)
    emit(args, {"retired": args.key_id}, f"retired key {args.key_id}")
    return 0


def _destroy(args: argparse.Namespace) -> int:
    if not args.yes:
        print("finprivacy: destroying a key loses every value still encrypted under it; "
              "pass --yes to confirm", file=sys.stderr)
        return 2
    _guard(args, "destroy")
    passphrase = read_passphrase(args)
    kr = Keyring.load(args.path, passphrase=passphrase)
    kr.destroy(args.key_id)
    _save_same(args, kr, passphrase)
    emit(args, {"destroyed": args.key_id}, f"destroyed key {args.key_id}")
    return 0


def _columns_of(db: Any, table: str) -> list[str]:
    """Return the columns of ``table`` (empty when there is no such table)."""
    with db.transaction(write=False) as tx:
        if db.dialect == "sqlite":
            return [str(r[1]) for r in tx.fetchall(f"PRAGMA table_info({table})")]
        return [str(r[0]) for r in tx.fetchall(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position", (table,))]


def _tables_of(db: Any) -> list[str]:
    with db.transaction(write=False) as tx:
        if db.dialect == "sqlite":
            rows = tx.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            rows = tx.fetchall("SELECT table_name FROM information_schema.tables "
                               "WHERE table_schema = current_schema()")
    return sorted(str(r[0]) for r in rows)


def _closest(name: str, choices: list[str]) -> str:
    import difflib

    match = difflib.get_close_matches(name, choices, n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def _open_table(args: argparse.Namespace,
                named: Sequence[tuple[str, str | None]]) -> tuple[Keyring, Any, str | None]:
    """Check a column job's options and open its keyring and database.

    ``named`` lists ``(option, column)`` pairs that must exist in ``--table``. Returns
    the keyring, the database and the row-binding column (``--bind-row``), if any.
    """
    from ..errors import NotFoundError
    from ..storage import database_exists, open_database

    bind = args.key_column if args.bind_row == "" else args.bind_row
    for _, name in (("--table", args.table), *named, ("--bind-row", bind)):
        if name is not None and not _IDENT.match(name):
            raise ConfigurationError("table and column names must be plain SQL identifiers")
    if args.batch < 1:
        raise ConfigurationError("--batch must be at least 1")
    if not database_exists(args.db):
        raise NotFoundError(f"no database at {redact_url(args.db)}")
    kr = _load(args)
    db = open_database(args.db)
    columns = _columns_of(db, args.table)
    if not columns:
        raise ConfigurationError(f"no table {args.table!r} in {redact_url(args.db)}"
                                 f"{_closest(args.table, _tables_of(db))}")
    for option, name in (*named, ("--bind-row", bind)):
        if name is not None and name not in columns:
            raise ConfigurationError(f"{option}: table {args.table!r} has no column {name!r}"
                                     f"{_closest(name, columns)}")
    return kr, db, bind


def _rewrite_column(args: argparse.Namespace, db: Any, bind: str | None, *, reads: str,
                    target: str, verb: str, compute: Callable[[tuple[Any, ...], str], Any]
                    ) -> tuple[int, int, list[tuple[Any, str]]]:
    """Walk ``--table`` in key order, batch by batch, rewriting ``target`` row by row.

    ``reads`` names the columns selected after the key (the binding column follows).
    ``compute(row, context)`` returns the new value of ``target``, or None to leave the
    row alone; a :class:`FinPrivacyError` is recorded as that row's failure (named by
    key, never by value). Each batch commits on its own, so a killed run resumes: rows
    already done are skipped by ``compute``. Returns (scanned, rewritten, failures).
    """
    extra = f", {bind}" if bind else ""
    done = scanned = 0
    failed: list[tuple[Any, str]] = []
    last: Any = None
    while True:
        with db.transaction() as tx:
            where = "" if last is None else f"WHERE {args.key_column} > ? "
            params: tuple[Any, ...] = (args.batch,) if last is None else (last, args.batch)
            rows = tx.fetchall(
                f"SELECT {args.key_column}, {reads}{extra} FROM {args.table} "  # noqa: S608
                f"{where}ORDER BY {args.key_column} LIMIT ?", params)
            for row in rows:
                scanned += 1
                try:
                    context = (record_context(args.context, row[-1]) if bind
                               else args.context)
                    new = compute(tuple(row), context)
                except DecryptionError as exc:
                    failed.append((row[0], _why(exc, bind)))
                    continue
                except FinPrivacyError as exc:
                    failed.append((row[0], str(exc)))
                    continue
                if new is None:
                    continue
                tx.execute(f"UPDATE {args.table} SET {target} = ? "  # noqa: S608
                           f"WHERE {args.key_column} = ?", (new, row[0]))
                done += 1
        if not rows:
            break
        last = rows[-1][0]
        print(f"… {scanned} rows scanned, {done} {verb}", file=sys.stderr)
    return scanned, done, failed


def _report_failures(failed: list[tuple[Any, str]], label: str, key_column: str) -> None:
    for key, why in failed[:20]:
        print(f"finprivacy: {label} row {key_column}={key}: {why}", file=sys.stderr)
    if len(failed) > 20:
        print(f"finprivacy: … and {len(failed) - 20} more rows", file=sys.stderr)


def _reencrypt(args: argparse.Namespace) -> int:
    kr, db, bind = _open_table(args, (("--column", args.column),
                                      ("--key-column", args.key_column)))

    def compute(row: tuple[Any, ...], context: str) -> str | None:
        token = row[1]
        if token is None or not kr.needs_reencrypt(token):
            return None
        return kr.reencrypt(token, context=context)

    scanned, done, failed = _rewrite_column(args, db, bind, reads=args.column,
                                            target=args.column, verb="re-encrypted",
                                            compute=compute)
    _report_failures(failed, f"{args.table}.{args.column}", args.key_column)
    emit(args, {"scanned": scanned, "reencrypted": done, "failed": len(failed),
                "failed_rows": [str(k) for k, _ in failed[:1000]], "primary": kr.primary_id},
         f"{done} of {scanned} values re-encrypted under {kr.primary_id}"
         + (f"; {len(failed)} rows failed (listed above)" if failed else ""))
    return 3 if failed else 0


def _why(exc: Exception, bind: str | None) -> str:
    """Explain a failed decryption without naming any value."""
    base = "the token does not decrypt under this keyring and context"
    if not bind:
        return (base + " (a wrong --context, a key missing from this keyring, or a "
                "token bound to its row: try --bind-row)")
    return base + f" (a wrong --context, a missing key, or not bound to {bind})"


def _reindex(args: argparse.Namespace) -> int:
    from ..crypto import BlindIndex

    kr, db, bind = _open_table(args, (("--column", args.column),
                                      ("--index-column", args.index_column),
                                      ("--key-column", args.key_column)))
    index = BlindIndex(kr, args.index, bits=args.bits, normalize=args.normalize,
                       algorithm=args.algorithm)

    def compute(row: tuple[Any, ...], context: str) -> str | None:
        token, stored = row[1], row[2]
        if token is None or (stored is not None and not index.needs_reindex(stored)):
            return None  # already under the primary: a resumed run skips it
        return index.compute(kr.decrypt(token, context=context))

    scanned, done, failed = _rewrite_column(
        args, db, bind, reads=f"{args.column}, {args.index_column}",
        target=args.index_column, verb="re-indexed", compute=compute)
    _report_failures(failed, args.table, args.key_column)
    emit(args, {"scanned": scanned, "reindexed": done, "failed": len(failed),
                "primary": kr.primary_id},
         f"{done} of {scanned} index values recomputed under {kr.primary_id}"
         + (f"; {len(failed)} rows failed (listed above)" if failed else ""))
    return 3 if failed else 0
