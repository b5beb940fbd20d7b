r"""The keyring file: format v1 and the atomic write.

The file is UTF-8 JSON::

    {
      "format": "finprivacy.keyring",
      "version": 1,
      "provider": {"kind": "passphrase", "params": {...}},
      "nonce": "<base64, 12 bytes>",
      "ciphertext": "<base64: AES-256-GCM of the key list, tag appended>"
    }

The key list (ids, templates, statuses, times and key material) is sealed as a
whole with AES-256-GCM under a random 32-byte data-encryption key (DEK) drawn for
each save; the additional data is ``b"finprivacy.keyring\x00v1\x00" + kind``, so
the format version and provider kind cannot be swapped. The DEK is wrapped by the
:class:`~finprivacy.crypto.KeyProvider`, whose description goes in ``provider``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import KeyProviderError, KeyringError
from ._providers import KeyProvider

__all__ = ["FILE_FORMAT", "FILE_VERSION", "atomic_write", "open_document",
           "remove_stale_temporaries", "seal_document"]

FILE_FORMAT = "finprivacy.keyring"
FILE_VERSION = 1
_MAX_FILE = 16 * 1024 * 1024


def _aad(kind: str) -> bytes:
    return b"finprivacy.keyring\x00v1\x00" + kind.encode("utf-8")


def seal_document(payload: Mapping[str, Any], provider: KeyProvider) -> str:
    """Return the file text for ``payload`` (the key list), sealed for ``provider``."""
    kind: object = provider.kind
    if not isinstance(kind, str) or not kind:
        raise KeyringError("key provider has no kind")
    dek = os.urandom(32)
    nonce = os.urandom(12)
    plain = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    sealed = AESGCM(dek).encrypt(nonce, plain, _aad(kind))
    params: object = provider.wrap_key(dek)
    if not isinstance(params, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
        raise KeyringError(f"key provider {kind!r} returned parameters that are not str → str")
    doc = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "provider": {"kind": kind, "params": params},
        "nonce": base64.b64encode(nonce).decode("ascii"),
        "ciphertext": base64.b64encode(sealed).decode("ascii"),
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def open_document(text: str | bytes, provider: KeyProvider, source: str) -> dict[str, Any]:
    """Return the key list sealed in ``text``; :class:`KeyringError` naming ``source``."""
    def bad(why: str) -> KeyringError:
        return KeyringError(f"keyring {source} {why}")

    try:
        doc = json.loads(text)
    except (ValueError, UnicodeError, RecursionError, TypeError):
        raise bad("is truncated or corrupted (not valid JSON)") from None
    if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
        raise bad("is not a finprivacy keyring file")
    if doc.get("version") != FILE_VERSION:
        raise bad(f"has unsupported format version {doc.get('version')!r}")
    prov = doc.get("provider")
    if (not isinstance(prov, dict) or not isinstance(prov.get("kind"), str)
            or not isinstance(prov.get("params"), dict)
            or not all(isinstance(v, str) for v in prov["params"].values())):
        raise bad("is corrupted (bad provider section)")
    kind = prov["kind"]
    if kind != provider.kind:
        raise bad(f"was saved with a {kind!r} key provider, not {provider.kind!r}; "
                  f"pass a matching provider")
    try:
        nonce = base64.b64decode(doc["nonce"], validate=True)
        sealed = base64.b64decode(doc["ciphertext"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise bad("is truncated or corrupted (bad ciphertext)") from None
    try:
        dek = provider.unwrap_key(dict(prov["params"]))
    except KeyProviderError as exc:
        raise bad(f"could not be unlocked: {exc}") from None
    try:
        plain = AESGCM(dek).decrypt(nonce, sealed, _aad(kind))
    except (InvalidTag, ValueError):
        raise bad("is corrupted (authentication failed)") from None
    try:
        payload = json.loads(plain)
    except (ValueError, RecursionError):
        raise bad("is corrupted (bad key list)") from None
    if not isinstance(payload, dict):
        raise bad("is corrupted (bad key list)")
    return payload


def read_file(path: Path) -> bytes:
    """Read a keyring file, refusing absurd sizes; :class:`KeyringError` naming it."""
    try:
        with path.open("rb") as fh:
            data = fh.read(_MAX_FILE + 1)
    except FileNotFoundError:
        raise KeyringError(f"keyring {path} does not exist") from None
    except OSError as exc:
        raise KeyringError(f"keyring {path} cannot be read: {exc.strerror}") from None
    if len(data) > _MAX_FILE:
        raise KeyringError(f"keyring {path} is too large to be a keyring file")
    return data


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file in the same folder, fsync, rename.

    The temporary file is created ``0600`` with ``O_EXCL``; after the rename the folder
    is fsynced so the new name survives a power cut. If anything fails before the
    rename, the old file is untouched and the temporary file is removed.
    """
    folder = path.parent
    tmp = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise KeyringError(f"keyring {path} cannot be written: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise KeyringError(
                f"keyring {path} cannot be written: {exc.strerror}") from None
        raise
    remove_stale_temporaries(path)
    with contextlib.suppress(OSError):  # not every platform can open a folder
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user
        return True
    return True


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporary files that killed saves of ``path`` left in its folder.

    A save killed between creating its temporary file and the rename leaves
    ``.NAME.PID.HEX.tmp`` behind, holding the key material of that moment: keys
    destroyed later would survive in it, defeating destruction and crypto-shredding.
    Every save and load calls this: a temporary file whose process is gone (or, in
    the older ``.NAME.HEX.tmp`` form, any) is removed. A save still running in another
    live process keeps its file. Returns the files removed.
    """
    removed: list[Path] = []
    prefix = f".{path.name}."
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        middle = name[len(prefix):-len(".tmp")].split(".")
        if len(middle) == 2 and middle[0].isdigit() and _alive(int(middle[0])):
            continue
        if len(middle) not in (1, 2):
            continue
        stale = path.parent / name
        with contextlib.suppress(OSError):
            stale.unlink()
            removed.append(stale)
    return removed
