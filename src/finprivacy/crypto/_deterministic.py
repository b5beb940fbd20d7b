"""Deterministic encryption with AES-SIV (RFC 5297): equal plaintexts give equal tokens.

Deterministic encryption lets a database find a row by an encrypted value with a plain
``WHERE column = ?``, and enforce ``UNIQUE`` on it. The price is that it **leaks
equality**: anyone who can read the column sees which rows hold the same value, and can
count how often each value occurs. Prefer a :class:`~finprivacy.crypto.BlindIndex`
beside randomized encryption (:meth:`Keyring.encrypt`); use this only where the value
itself must be compared, and only for high-entropy values (card and account numbers,
not gender or a birth year). This is why it is a separate, explicitly named type.

Tokens have the version prefix ``fpd1`` and the key id of the keyring key::

    fpd1.<key_id>.<base64url(SIV ‖ ciphertext)>

The AES-256-SIV key (64 bytes) is derived per context with HKDF-SHA256 from the
keyring key (``Keyring.derive_key``), so equal values in two columns do not give equal
tokens; the associated data binds the version, the key id and the context, so a token
moved to another column fails to decrypt. After a key rotation,
:meth:`DeterministicCipher.lookup_tokens` returns the token of a value under every
usable key, so rows written before the rotation are still found (the failure reported
against Tink's deterministic AEAD in tink-java #35 and tink-py #55).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Final, NamedTuple, Protocol, cast, overload

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from .._types import StrOrBytes
from ..errors import DecryptionError, InvalidInputError
from ..secret import Secret
from ._payload import pack, unpack
from ._token import b64url_encode, decode_token, encode_token

__all__ = ["DeterministicCipher"]

PREFIX: Final = "fpd1"
_INFO: Final = b"finprivacy/fpd1/aes-siv/v1\x00"
_TAG_STR: Final = b"s"
_TAG_BYTES: Final = b"b"
_CACHE_SIZE: Final = 256


class _KeyInfo(Protocol):
    @property
    def key_id(self) -> str: ...

    @property
    def status(self) -> str: ...


class _KeySource(Protocol):
    """The part of :class:`~finprivacy.crypto.Keyring` deterministic encryption needs."""

    @property
    def primary_id(self) -> str: ...

    def keys(self) -> Sequence[_KeyInfo]: ...

    def derive_key(self, info: bytes, *, key_id: str | None = None,
                   length: int = 32) -> tuple[str, bytes]: ...


_USABLE: Final = frozenset({"primary", "decrypt-only"})


def usable_key_ids(keyring: _KeySource) -> list[str]:
    """Ids of the keys that may derive keys for reading: ``primary`` and ``decrypt-only``."""
    infos = keyring.keys()
    return [k.key_id for k in infos if str(k.status) in _USABLE]


class SivKey:
    """One AES-SIV key (RFC 5297; 32, 48 or 64 bytes) with the one way it is used here.

    :class:`DeterministicCipher` seals and opens every token through this class, and
    the Wycheproof ``aes_siv_cmac_test.json`` vectors are run through it.
    """

    __slots__ = ("_siv", "seal")

    def __init__(self, key: bytes) -> None:
        self._siv = AESSIV(key)
        #: ``seal(plaintext, associated_data) -> SIV ‖ ciphertext`` (RFC 5297): the
        #: AES-SIV encryption itself, bound once so the hot path has no extra frame.
        self.seal: Callable[[bytes, list[bytes]], bytes] = self._siv.encrypt

    def __repr__(self) -> str:
        return "SivKey(AES-SIV)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("key objects cannot be pickled")

    def open(self, sealed: bytes, associated_data: list[bytes]) -> bytes:
        """Invert :meth:`seal`; raise :class:`DecryptionError` on any failure."""
        try:
            return self._siv.decrypt(sealed, associated_data)
        except (InvalidTag, ValueError):
            raise DecryptionError("not a valid finprivacy token") from None


def siv_seal(key: bytes, plaintext: bytes, associated_data: Sequence[bytes]) -> bytes:
    """Return ``SIV ‖ ciphertext`` (RFC 5297) using ``cryptography``'s :class:`AESSIV`."""
    return SivKey(key).seal(plaintext, list(associated_data))


def siv_open(key: bytes, sealed: bytes, associated_data: Sequence[bytes]) -> bytes:
    """Invert :func:`siv_seal`; raise :class:`DecryptionError` on any failure."""
    return SivKey(key).open(sealed, list(associated_data))


class _Entry(NamedTuple):
    key: bytes
    siv: SivKey
    ad: list[bytes]
    head: str


class DeterministicCipher:
    """Deterministic, authenticated encryption of field values with AES-256-SIV.

    **Leaks equality** (see the module documentation): equal values under the same
    key and context give equal tokens. ``encrypt`` uses the keyring's primary key;
    ``decrypt`` finds the key by the id in the token; ``lookup_tokens`` gives the
    tokens to search for under every usable key while a column is re-encrypted.

    >>> # kr = fp.Keyring.generate(); det = fp.DeterministicCipher(kr)
    >>> # det.encrypt("6222020200112233446", context="customers.card_no")
    """

    __slots__ = ("_cache", "_keyring", "_lock")

    def __init__(self, keyring: _KeySource) -> None:
        if not hasattr(keyring, "derive_key"):
            raise InvalidInputError("DeterministicCipher needs a Keyring")
        self._keyring = keyring
        self._cache: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "DeterministicCipher(AES-256-SIV)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("DeterministicCipher objects hold keys and cannot be pickled")

    # -- keys ---------------------------------------------------------------------------
    def _entry(self, key_id: str | None, context: str) -> _Entry:
        primary = self._keyring.primary_id
        if key_id is None or key_id == primary:
            # The primary key is always usable: skip derive_key's status check.
            hit = self._cache.get((primary, context))
            if hit is not None:
                return hit
        # derive_key checks the key's status on every call (a retired key refuses) and
        # caches the HKDF output; the AES-SIV object is cached per derived key.
        got_id, key = self._keyring.derive_key(_INFO + context.encode("utf-8"), key_id=key_id,
                                               length=64)
        with self._lock:
            cached = self._cache.get((got_id, context))
            if cached is not None and cached.key is key:
                self._cache.move_to_end((got_id, context))
                return cached
        encode_token(PREFIX, got_id, b"")  # validates the key id's shape once
        entry = _Entry(key, SivKey(key), _ad(got_id, context), f"{PREFIX}.{got_id}.")
        with self._lock:
            self._cache[(got_id, context)] = entry
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return entry

    def _usable_key_ids(self) -> list[str]:
        return usable_key_ids(self._keyring)

    # -- API -----------------------------------------------------------------------------
    def encrypt(self, value: StrOrBytes | Secret[str] | Secret[bytes], *, context: str) -> str:
        """Return the ``fpd1`` token of ``value`` under the primary key (deterministic)."""
        if type(context) is not str:
            _check_context(context)
        entry = self._cache.get((self._keyring.primary_id, context))
        if entry is None:  # first use of this context with this key (checked once)
            _check_context(context)
            entry = self._entry(None, context)
        return entry.head + b64url_encode(entry.siv.seal(_pack(value), entry.ad))

    @overload
    def decrypt(self, token: str, *, context: str, as_type: type[str]) -> str: ...
    @overload
    def decrypt(self, token: str, *, context: str, as_type: type[bytes]) -> bytes: ...
    @overload
    def decrypt(self, token: str, *, context: str, as_type: None = None) -> StrOrBytes: ...

    def decrypt(self, token: str, *, context: str,
                as_type: type[str] | type[bytes] | None = None) -> StrOrBytes:
        """Return the value of an ``fpd1`` token: ``str`` or ``bytes``, as encrypted.

        ``as_type`` (``str`` or ``bytes``) narrows the static type and is checked.
        Every bad token raises :class:`~finprivacy.errors.DecryptionError`.
        """
        _check_context(context)
        prefix, key_id, body = decode_token(token)
        if prefix != PREFIX:
            raise DecryptionError("not a valid finprivacy token")
        try:
            entry = self._entry(key_id, context)
        except DecryptionError:
            raise
        except Exception:
            # An unknown or destroyed key: the same opaque error as a bad tag.
            raise DecryptionError("not a valid finprivacy token") from None
        plaintext = entry.siv.open(body, entry.ad)
        value = _unpack(plaintext)
        if as_type is not None and not isinstance(value, as_type):
            raise DecryptionError(f"token holds {type(value).__name__}, not {as_type.__name__}")
        return value

    def lookup_tokens(self, value: StrOrBytes | Secret[str] | Secret[bytes], *,
                      context: str) -> list[str]:
        """Return the token of ``value`` under every usable key, primary first.

        Search with ``WHERE column IN (...)`` so rows written under an older key are
        found until :meth:`reencrypt` has moved them to the primary key.
        """
        _check_context(context)
        plaintext = _pack(value)
        primary = self._keyring.primary_id
        ids = [primary] + [k for k in self._usable_key_ids() if k != primary]
        out = []
        for kid in ids:
            entry = self._entry(kid, context)
            out.append(entry.head + b64url_encode(entry.siv.seal(plaintext, entry.ad)))
        return out

    def needs_reencrypt(self, token: str) -> bool:
        """Return whether ``token`` was made under a key other than the primary key."""
        prefix, key_id, _ = decode_token(token)
        if prefix != PREFIX:
            raise DecryptionError("not a valid finprivacy token")
        return key_id != self._keyring.primary_id

    def reencrypt(self, token: str, *, context: str) -> str:
        """Decrypt ``token`` and encrypt its value again under the primary key."""
        return self.encrypt(self.decrypt(token, context=context), context=context)


def _check_context(context: str) -> None:
    if not isinstance(cast(object, context), str) or not context:
        raise InvalidInputError("context must be a non-empty str (e.g. 'customers.card_no')")


def _ad(key_id: str, context: str) -> list[bytes]:
    return [PREFIX.encode("ascii"), key_id.encode("ascii"), context.encode("utf-8")]


def _pack(value: StrOrBytes | Secret[str] | Secret[bytes]) -> bytes:
    return pack(value, str_flag=_TAG_STR, bytes_flag=_TAG_BYTES)


def _unpack(plaintext: bytes) -> StrOrBytes:
    return unpack(plaintext, str_flag=_TAG_STR, bytes_flag=_TAG_BYTES,
                  error="not a valid finprivacy token")
