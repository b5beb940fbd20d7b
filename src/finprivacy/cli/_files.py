"""``finprivacy files …``: encrypt, decrypt, rewrap and inspect encrypted files."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..crypto import Keyring, decrypt_file, encrypt_file, file_key_id, rewrap_file
from ..errors import ConfigurationError
from ._common import add_format_option, add_passphrase_options, emit, read_passphrase


def register(sub: Any) -> None:
    """Add the ``files`` subcommand."""
    files = sub.add_parser("files", help="encrypt, decrypt and rewrap files (streaming AEAD)")
    fsub = files.add_subparsers(dest="files_command", metavar="ACTION", required=True)
    for action, text in (("encrypt", "encrypt SRC into DST (atomic)"),
                         ("decrypt", "decrypt SRC into DST (atomic; nothing on failure)")):
        p = fsub.add_parser(action, help=text)
        p.add_argument("src")
        p.add_argument("dst")
        p.add_argument("--keyring", required=True, help="keyring file")
        p.add_argument("--context", required=True, help="what the file is, e.g. vouchers")
        add_passphrase_options(p)
        add_format_option(p)
        p.set_defaults(handler=_encrypt if action == "encrypt" else _decrypt)
    rw = fsub.add_parser("rewrap", help="seal files' keys under the primary key (header "
                         "only; the body is not re-encrypted)")
    rw.add_argument("paths", nargs="+")
    rw.add_argument("--keyring", required=True, help="keyring file")
    rw.add_argument("--context", required=True)
    add_passphrase_options(rw)
    add_format_option(rw)
    rw.set_defaults(handler=_rewrap)
    info = fsub.add_parser("info", help="show which key sealed a file (no keyring needed)")
    info.add_argument("paths", nargs="+")
    add_format_option(info)
    info.set_defaults(handler=_info)


def _keyring(args: argparse.Namespace) -> Keyring:
    return Keyring.load(args.keyring, passphrase=read_passphrase(args))


def _no_overwrite(path: str) -> None:
    if os.path.exists(path):
        raise ConfigurationError(f"{path} exists; refusing to overwrite it")


def _encrypt(args: argparse.Namespace) -> int:
    _no_overwrite(args.dst)
    size = encrypt_file(args.src, args.dst, keyring=_keyring(args), context=args.context)
    emit(args, {"dst": args.dst, "bytes": size}, f"encrypted {size} bytes into {args.dst}")
    return 0


def _decrypt(args: argparse.Namespace) -> int:
    _no_overwrite(args.dst)
    size = decrypt_file(args.src, args.dst, keyring=_keyring(args), context=args.context)
    emit(args, {"dst": args.dst, "bytes": size}, f"decrypted {size} bytes into {args.dst}")
    return 0


def _rewrap(args: argparse.Namespace) -> int:
    kr = _keyring(args)
    done = [p for p in args.paths if rewrap_file(p, keyring=kr, context=args.context)]
    emit(args, {"rewrapped": done, "primary": kr.primary_id},
         f"rewrapped {len(done)} of {len(args.paths)} files under {kr.primary_id}")
    return 0


def _info(args: argparse.Namespace) -> int:
    rows = [{"path": p, "key_id": file_key_id(p), "bytes": os.path.getsize(p)}
            for p in args.paths]
    emit(args, rows, "\n".join(f"{r['path']}: key {r['key_id']}, {r['bytes']} bytes"
                               for r in rows))
    return 0
