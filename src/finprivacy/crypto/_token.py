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

# URL-safe → standard alphabet; "+", "/" and "=" (not allowed in a token) become "!"
# so that binascii's strict mode rejects them.
_TO_STD = bytes.maketrans(b"-_+/=", b"+/!!!")
_FROM_STD = bytes.maketrans(b"+/", b"-_")
_PAD = (b"", None, b"==", b"=")  # indexed by len % 4; None: impossible length
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Characters allowed last when 2 (resp. 3) characters remain: low 4 (resp. 2) bits zero.
_LAST_OF_2 = frozenset(c for i, c in enumerate(_ALPHABET) if i & 0x0F == 0)
_LAST_OF_3 = frozenset(c for i, c in enumerate(_ALPHABET) if i & 0x03 == 0)

_MALFORMED = "not a valid finprivacy token"


def b64url_encode(data: bytes) -> str:
    """Return unpadded base64url text for ``data``."""
    return (binascii.b2a_base64(data, newline=False).translate(_FROM_STD)
            .rstrip(b"=").decode("ascii"))


def b64url_decode(text: str) -> bytes:
    """Decode strict, canonical, unpadded base64url; raise :class:`ValueError` otherwise."""
    rem = len(text) % 4
    pad = _PAD[rem]
    if pad is None:
        raise ValueError("impossible base64 length")
    if rem == 2 and text[-1] not in _LAST_OF_2:
        raise ValueError("non-canonical base64")
    if rem == 3 and text[-1] not in _LAST_OF_3:
        raise ValueError("non-canonical base64")
    raw = text.encode("ascii").translate(_TO_STD) + pad
    return binascii.a2b_base64(raw, strict_mode=True)


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
