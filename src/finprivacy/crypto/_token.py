"""The text form shared by every finprivacy token version.

A token is ``"{prefix}.{key_id}.{base64url(body)}"`` with the base64url padding
removed (RFC 4648 §5). It is plain ASCII, safe in JSON, SQL text columns and URLs.

* ``prefix`` names the format and its version: ``fp1`` (randomized AES-256-GCM,
  :mod:`finprivacy.crypto._keyring`), ``fpd1`` (deterministic AES-SIV) and ``fps1``
  (subject-keyed). It matches ``fp[a-z]*[0-9]+``.
* ``key_id`` is the id of the key in the keyring, ``[A-Za-z0-9_-]{1,64}``.
* ``body`` is the format's binary payload (for ``fp1``: nonce ‖ ciphertext ‖ tag).

Decoding is strict: exactly three parts, only the URL-safe alphabet, no padding, and
the unused low bits of the last base64 character must be zero, so every token has
exactly one text form and a changed character never decodes to the same bytes.
Every malformation raises the same opaque :class:`~finprivacy.errors.DecryptionError`.
"""

from __future__ import annotations

import binascii
import re

from ..errors import DecryptionError, InvalidInputError

__all__ = ["KEY_ID_PATTERN", "PREFIX_PATTERN", "decode_token", "encode_token", "is_token"]

#: A token version prefix: ``fp1``, ``fpd1``, ``fps1`` …
PREFIX_PATTERN = re.compile(r"fp[a-z]*[0-9]+")
#: A key id as it appears in a token.
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_PAD = ("", "", "==", "=")  # indexed by len % 4 (a length of 4n + 1 is refused first)
# Last characters refused when 2 (resp. 3) characters remain in the final group: their
# unused low 4 (resp. 2) bits are not zero, so the text would not be canonical.
_NON_CANONICAL: tuple[frozenset[str], ...] = (
    frozenset(), frozenset(_ALPHABET),
    frozenset(c for i, c in enumerate(_ALPHABET) if i & 0x0F),
    frozenset(c for i, c in enumerate(_ALPHABET) if i & 0x03))

_MALFORMED = "not a valid finprivacy token"


def b64url_encode(data: bytes) -> str:
    """Return unpadded base64url text for ``data``."""
    return (binascii.b2a_base64(data, newline=False).decode("ascii")
            .replace("+", "-").replace("/", "_").rstrip("="))


def b64url_decode(text: str) -> bytes:
    """Decode strict, canonical, unpadded base64url; raise :class:`ValueError` otherwise.

    Refused: characters outside ``[A-Za-z0-9_-]`` (padding included), a length of
    ``4n + 1``, and a last character whose unused low bits are not zero.

    How: ``+``, ``/`` and ``=`` are refused outright, the URL-safe characters are mapped
    to the standard ones, and binascii decodes. binascii skips any other stray
    character, but a skipped character always shortens the output (or breaks the
    padding), so comparing the length with ``3n // 4`` catches it.
    """
    n = len(text)
    rem = n & 3
    if rem == 1 or "+" in text or "/" in text or "=" in text or (
            rem and text[-1] in _NON_CANONICAL[rem]):
        raise ValueError("not canonical base64url")
    out = binascii.a2b_base64(text.replace("-", "+").replace("_", "/") + _PAD[rem])
    if len(out) != (n * 3) >> 2:
        raise ValueError("not base64url")
    return out


def encode_token(prefix: str, key_id: str, body: bytes) -> str:
    """Return the text form ``"{prefix}.{key_id}.{base64url(body)}"``.

    Raises :class:`~finprivacy.errors.InvalidInputError` if ``prefix`` or ``key_id``
    is not of the allowed shape (a programming error, not a data error).
    """
    if not PREFIX_PATTERN.fullmatch(prefix):
        raise InvalidInputError("token prefix must match fp[a-z]*[0-9]+")
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise InvalidInputError("key id must be 1-64 characters of [A-Za-z0-9_-]")
    return f"{prefix}.{key_id}.{b64url_encode(body)}"


def decode_token(token: str) -> tuple[str, str, bytes]:
    """Split a token into ``(prefix, key_id, body)``.

    Raises :class:`~finprivacy.errors.DecryptionError` (from ``None``, naming no
    value) for anything that is not a well-formed token: a non-string, the wrong
    number of parts, a bad prefix or key id, or non-canonical base64url.
    """
    try:
        if not isinstance(token, str):
            raise TypeError
        prefix, key_id, data = token.split(".")
        if not PREFIX_PATTERN.fullmatch(prefix) or not KEY_ID_PATTERN.fullmatch(key_id):
            raise ValueError
        body = b64url_decode(data)
    except (TypeError, ValueError, UnicodeError, binascii.Error):
        raise DecryptionError(_MALFORMED) from None
    return prefix, key_id, body


def is_token(value: object) -> bool:
    """Return whether ``value`` has the shape of a finprivacy token (any version).

    Says nothing about whether it decrypts.
    """
    try:
        decode_token(value)  # type: ignore[arg-type]
    except DecryptionError:
        return False
    return True
