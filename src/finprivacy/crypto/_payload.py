"""The typed plaintext inside a token: one flag byte saying str or bytes, then the value.

Each token version has its own pair of flag bytes (pinned by fixed-token tests), so the
flags are parameters here; the layout is the same everywhere.
"""

from __future__ import annotations

from .._types import StrOrBytes
from ..errors import DecryptionError, InvalidInputError
from ..secret import Secret


def pack(value: StrOrBytes | Secret[str] | Secret[bytes], *, str_flag: bytes,
         bytes_flag: bytes) -> bytes:
    """Return the flag byte for ``value``'s type followed by its bytes (UTF-8 for text)."""
    if type(value) is bytes:
        return bytes_flag + value
    if isinstance(value, Secret):
        value = value.reveal()
    if isinstance(value, str):
        return str_flag + value.encode("utf-8")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes_flag + bytes(value)
    raise InvalidInputError(f"can only encrypt str or bytes, not {type(value).__name__}")


def unpack(plaintext: bytes, *, str_flag: bytes, bytes_flag: bytes, error: str) -> StrOrBytes:
    """Return the value :func:`pack` packed; :class:`DecryptionError` (``error``) otherwise."""
    flag, body = plaintext[:1], plaintext[1:]
    if flag == bytes_flag:
        return body
    if flag == str_flag:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    raise DecryptionError(error)
