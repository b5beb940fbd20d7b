"""Crypto-shredding: one data key per data subject, destroyed to erase the subject.

A firm keeps a client's data in many places (rows, exports, logs, backups) and for
years; erasing every copy when the law requires it (PIPL art. 47, GDPR art. 17) is
often impossible. Crypto-shredding encrypts each subject's values under a data key
of their own and, to erase the subject, destroys that one key: every token made with
it, wherever it was copied, becomes unreadable at once. ``shred`` therefore costs the
same for a subject with 10 tokens as for one with 100,000.

* Each subject gets a random 256-bit data-encryption key (DEK) on first use, wrapped
  by the keyring (an ``fp1`` token bound to the key reference) and kept in a
  :class:`SubjectKeyStore` (memory, SQLite or PostgreSQL, see ``finprivacy.storage``).
* Values are sealed with AES-256-GCM under the DEK into ``fps1`` tokens::

      fps1.<key_ref>.<base64url(nonce ‖ ciphertext ‖ tag)>

  ``key_ref`` is a random, opaque reference to the subject's key; it never contains
  the subject id. The associated data binds the version, the key reference and the
  context, as for ``fp1`` tokens.
* :meth:`SubjectKeys.shred` overwrites the wrapped DEK with nothing and keeps a
  tombstone (when and why). Decrypting any token of that subject afterwards raises
  :class:`~finprivacy.errors.SubjectErasedError` (a ``DecryptionError``).
* Unwrapped DEKs (and which key belongs to which subject) are cached in memory
  (bounded, with a time-to-live so a shred done by another process takes effect here,
  for reading and writing, within ``cache_ttl`` seconds; a shred in this process takes
  effect at once). The keyring, and so any KMS or HSM behind it, is used once
  per DEK unwrap, never per field.

Backups of the *key store* bring shredded keys back: keep the key store's backups on
a short rotation (shorter than the erasure deadline), separately from data backups.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import secrets
import threading
import time
from collections import OrderedDict
from typing import Final, Protocol, cast, overload, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._types import StrOrBytes
from ..clock import Clock, SystemClock, utc
from ..errors import (
    ConfigurationError,
    ConflictError,
    DecryptionError,
    InvalidInputError,
    SubjectErasedError,
)
from ..secret import Secret
from ._payload import pack, unpack
from ._token import KEY_ID_PATTERN, decode_token, encode_token

__all__ = [
    "SubjectKeyRecord",
    "SubjectKeyStore",
    "SubjectKeys",
    "SubjectTombstone",
]

PREFIX: Final = "fps1"
_NONCE: Final = 12
_TAG: Final = 16
_F_STR: Final = b"\x01"
_F_BYTES: Final = b"\x02"
_BAD: Final = "not a valid finprivacy token"
_MAX_SUBJECT: Final = 256
_MAX_REASON: Final = 1000


@dataclasses.dataclass(frozen=True, slots=True)
class SubjectKeyRecord:
    """A live subject key as stored: the DEK wrapped by the keyring, never in clear."""

    key_ref: str
    subject: str
    wrapped_key: str = dataclasses.field(repr=False)
    created_at: _dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class SubjectTombstone:
    """What remains of a shredded subject key: when and why, and no key material."""

    key_ref: str
    subject: str
    created_at: _dt.datetime
    shredded_at: _dt.datetime
    reason: str


@runtime_checkable
class SubjectKeyStore(Protocol):
    """Where subject keys live. Implemented in ``finprivacy.storage`` for every backend.

    Implementations must make :meth:`create` and :meth:`shred` atomic, keep one key
    per subject, and remove the wrapped key completely on :meth:`shred`.
    """

    def get(self, key_ref: str) -> SubjectKeyRecord | SubjectTombstone | None:
        """Return the record or tombstone with ``key_ref``, or ``None``."""
        ...

    def for_subject(self, subject: str) -> SubjectKeyRecord | SubjectTombstone | None:
        """Return the subject's record or tombstone, or ``None``."""
        ...

    def create(self, record: SubjectKeyRecord) -> SubjectKeyRecord | SubjectTombstone:
        """Insert ``record`` unless the subject already has one; return what is stored."""
        ...

    def shred(self, subject: str, *, reason: str,
              at: _dt.datetime) -> SubjectTombstone:
        """Delete the subject's wrapped key and keep a tombstone; idempotent.

        Raises :class:`~finprivacy.errors.NotFoundError` for an unknown subject.
        """
        ...

    def live_records(self, *, after: str | None = None,
                     limit: int = 1000) -> list[SubjectKeyRecord]:
        """Return up to ``limit`` live records with ``key_ref > after``, by ``key_ref``."""
        ...

    def replace_wrapped(self, key_ref: str, old: str, new: str) -> bool:
        """Swap the wrapped key if it still equals ``old`` (compare-and-set)."""
        ...


class _KeyWrapper(Protocol):
    """What :class:`SubjectKeys` needs from a :class:`~finprivacy.crypto.Keyring`."""

    @property
    def primary_id(self) -> str: ...

    def encrypt(self, value: str | bytes, *, context: str) -> str: ...

    def decrypt(self, token: str, *, context: str) -> str | bytes: ...

    def needs_reencrypt(self, token: str) -> bool: ...

    def reencrypt(self, token: str, *, context: str) -> str: ...


class SubjectKeys:
    """Encrypt values under per-subject keys, and shred a subject's key to erase them.

    >>> # sk = fp.SubjectKeys(keyring, "sqlite:///keys.db")
    >>> # t = sk.encrypt("client-42", "6222020200112233446", context="clients.card_no")
    >>> # sk.decrypt(t, context="clients.card_no")
    >>> # sk.shred("client-42", reason="erasure request 2026-118 (PIPL art. 47)")

    ``store`` is a :class:`SubjectKeyStore` or a store URL (``"memory:"``,
    ``"sqlite:///path.db"``, ``"postgresql://…"``). ``cache_size`` bounds the number of
    unwrapped keys kept in memory; ``cache_ttl`` (seconds) bounds how long a key
    shredded by another process can still decrypt here.
    """

    __slots__ = (
        "_cache",
        "_cache_size",
        "_cache_ttl",
        "_clock",
        "_keyring",
        "_lock",
        "_store",
        "_subjects",
    )

    def __init__(self, keyring: _KeyWrapper, store: SubjectKeyStore | str, *,
                 clock: Clock | None = None, cache_size: int = 4096,
                 cache_ttl: float = 60.0) -> None:
        if not all(hasattr(keyring, a) for a in ("encrypt", "decrypt", "primary_id")):
            raise ConfigurationError("SubjectKeys needs a Keyring")
        if isinstance(store, str):
            from .._stores import open_store

            store = cast(SubjectKeyStore, open_store("subject_keys", store))
        if not isinstance(store, SubjectKeyStore):
            raise ConfigurationError("store must be a SubjectKeyStore or a store URL")
        if not isinstance(cast(object, cache_size), int) or cache_size < 0:
            raise ConfigurationError("cache_size must be a non-negative int")
        if not isinstance(cast(object, cache_ttl), int | float) or cache_ttl < 0:
            raise ConfigurationError("cache_ttl must be a non-negative number of seconds")
        self._keyring = keyring
        self._store = store
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._cache: OrderedDict[str, tuple[AESGCM, float]] = OrderedDict()
        self._subjects: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_ttl = float(cache_ttl)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SubjectKeys(store={type(self._store).__name__})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("SubjectKeys objects hold keys and cannot be pickled")

    @property
    def store(self) -> SubjectKeyStore:
        """The store holding the wrapped subject keys and tombstones."""
        return self._store

    # -- keys -------------------------------------------------------------------------
    def _wrap_context(self, key_ref: str) -> str:
        return f"finprivacy.subject_key.{key_ref}"

    def _cached(self, key_ref: str) -> AESGCM | None:
        with self._lock:
            hit = self._cache.get(key_ref)
            if hit is None:
                return None
            if hit[1] < time.monotonic():
                del self._cache[key_ref]
                return None
            self._cache.move_to_end(key_ref)
            return hit[0]

    def _remember(self, key_ref: str, aead: AESGCM) -> None:
        if not self._cache_size:
            return
        with self._lock:
            self._cache[key_ref] = (aead, time.monotonic() + self._cache_ttl)
            self._cache.move_to_end(key_ref)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _forget(self, key_ref: str, subject: str) -> None:
        with self._lock:
            self._cache.pop(key_ref, None)
            self._subjects.pop(subject, None)

    def _subject_ref(self, subject: str) -> str | None:
        with self._lock:
            hit = self._subjects.get(subject)
            if hit is None:
                return None
            if hit[1] < time.monotonic():
                del self._subjects[subject]
                return None
            self._subjects.move_to_end(subject)
            return hit[0]

    def _remember_subject(self, subject: str, key_ref: str) -> None:
        if not self._cache_size:
            return
        with self._lock:
            self._subjects[subject] = (key_ref, time.monotonic() + self._cache_ttl)
            self._subjects.move_to_end(subject)
            while len(self._subjects) > self._cache_size:
                self._subjects.popitem(last=False)

    def clear_cache(self) -> None:
        """Drop every unwrapped key held in memory."""
        with self._lock:
            self._cache.clear()
            self._subjects.clear()

    def _unwrap(self, record: SubjectKeyRecord) -> AESGCM:
        dek = self._keyring.decrypt(record.wrapped_key,
                                    context=self._wrap_context(record.key_ref))
        if not isinstance(dek, bytes) or len(dek) != 32:
            raise DecryptionError("subject key record is corrupt")
        return AESGCM(dek)

    def _key_for_subject(self, subject: str) -> tuple[str, AESGCM]:
        ref = self._subject_ref(subject)
        if ref is not None:
            hit = self._cached(ref)
            if hit is not None:
                return ref, hit
        found = self._store.for_subject(subject)
        if found is None:
            key_ref = _new_ref()
            dek = os.urandom(32)
            wrapped = self._keyring.encrypt(dek, context=self._wrap_context(key_ref))
            now = utc(self._clock.now(), "clock.now()")
            found = self._store.create(SubjectKeyRecord(key_ref, subject, wrapped, now))
            if isinstance(found, SubjectKeyRecord) and found.key_ref == key_ref:
                aead = AESGCM(dek)
                self._remember(key_ref, aead)
                self._remember_subject(subject, key_ref)
                return key_ref, aead
        if isinstance(found, SubjectTombstone):
            raise SubjectErasedError(
                f"subject {subject!r} was erased at {found.shredded_at.isoformat()}; "
                "a returning data subject needs a new subject id"
            )
        aead_hit = self._cached(found.key_ref)
        if aead_hit is None:
            aead_hit = self._unwrap(found)
            self._remember(found.key_ref, aead_hit)
        self._remember_subject(subject, found.key_ref)
        return found.key_ref, aead_hit

    # -- API ----------------------------------------------------------------------------
    def encrypt(self, subject: str, value: StrOrBytes | Secret[str] | Secret[bytes], *,
                context: str) -> str:
        """Encrypt ``value`` under ``subject``'s key (made on first use); return an ``fps1`` token.

        Raises :class:`~finprivacy.errors.SubjectErasedError` if the subject was shredded.
        """
        _check_subject(subject)
        _check_context(context)
        plaintext = _pack(value)
        key_ref, aead = self._key_for_subject(subject)
        return self._seal(aead, key_ref, plaintext, context, os.urandom(_NONCE))

    def _seal(self, aead: AESGCM, key_ref: str, plaintext: bytes, context: str,
              nonce: bytes) -> str:
        body = nonce + aead.encrypt(nonce, plaintext, _aad(key_ref, context))
        return encode_token(PREFIX, key_ref, body)

    @overload
    def decrypt(self, token: str, *, context: str, as_type: type[str]) -> str: ...
    @overload
    def decrypt(self, token: str, *, context: str, as_type: type[bytes]) -> bytes: ...
    @overload
    def decrypt(self, token: str, *, context: str, as_type: None = None) -> StrOrBytes: ...

    def decrypt(self, token: str, *, context: str,
                as_type: type[str] | type[bytes] | None = None) -> StrOrBytes:
        """Return the value of an ``fps1`` token (``str`` or ``bytes``, as encrypted).

        Raises :class:`~finprivacy.errors.SubjectErasedError` when the subject's key was
        shredded, and :class:`~finprivacy.errors.DecryptionError` for any other bad token.
        """
        _check_context(context)
        prefix, key_ref, body = decode_token(token)
        if prefix != PREFIX or len(body) < _NONCE + _TAG + 1:
            raise DecryptionError(_BAD)
        aead = self._cached(key_ref)
        if aead is None:
            found = self._store.get(key_ref)
            if found is None:
                raise DecryptionError(_BAD)
            if isinstance(found, SubjectTombstone):
                raise SubjectErasedError(
                    f"the subject key of this token was shredded at "
                    f"{found.shredded_at.isoformat()}: the value is gone for good"
                )
            aead = self._unwrap(found)
            self._remember(key_ref, aead)
        try:
            plaintext = aead.decrypt(body[:_NONCE], body[_NONCE:], _aad(key_ref, context))
        except (InvalidTag, ValueError):
            raise DecryptionError(_BAD) from None
        value = _unpack(plaintext)
        if as_type is not None and not isinstance(value, as_type):
            raise DecryptionError(f"token holds {type(value).__name__}, not {as_type.__name__}")
        return value

    def shred(self, subject: str, *, reason: str = "no reason given") -> SubjectTombstone:
        """Destroy ``subject``'s key; every token of the subject becomes unreadable.

        One store write, whatever the number of tokens. Keeps a tombstone with the time
        and ``reason`` — give one (the request id and the legal basis, never personal
        data): the default only records that none was given. Shredding again returns
        the first tombstone.
        """
        _check_subject(subject)
        if not isinstance(cast(object, reason), str) or not reason.strip():
            raise InvalidInputError("reason must be a non-empty str (why the key is shredded)")
        if len(reason) > _MAX_REASON:
            raise InvalidInputError(f"reason must be at most {_MAX_REASON} characters")
        now = utc(self._clock.now(), "clock.now()")
        tomb = self._store.shred(subject, reason=reason.strip(), at=now)
        self._forget(tomb.key_ref, subject)
        return tomb

    def tombstone(self, subject: str) -> SubjectTombstone | None:
        """Return the tombstone of a shredded subject, or ``None`` if not shredded."""
        _check_subject(subject)
        found = self._store.for_subject(subject)
        return found if isinstance(found, SubjectTombstone) else None

    def is_shredded(self, subject: str) -> bool:
        """Return whether ``subject``'s key has been shredded."""
        return self.tombstone(subject) is not None

    def rewrap(self, *, batch: int = 500) -> int:
        """Re-wrap every live subject key under the keyring's primary key; return how many.

        Run after a keyring rotation, before the old key is retired. Safe to run while
        the application works (each key is swapped with a compare-and-set).
        """
        if not isinstance(cast(object, batch), int) or batch < 1:
            raise InvalidInputError("batch must be a positive int")
        changed = 0
        after: str | None = None
        while True:
            records = self._store.live_records(after=after, limit=batch)
            if not records:
                return changed
            for rec in records:
                if self._keyring.needs_reencrypt(rec.wrapped_key):
                    new = self._keyring.reencrypt(rec.wrapped_key,
                                                  context=self._wrap_context(rec.key_ref))
                    if self._store.replace_wrapped(rec.key_ref, rec.wrapped_key, new):
                        changed += 1
            after = records[-1].key_ref


def _new_ref() -> str:
    return secrets.token_urlsafe(16)


def _check_subject(subject: str) -> None:
    if not isinstance(cast(object, subject), str) or not subject or len(subject) > _MAX_SUBJECT:
        raise InvalidInputError(f"subject must be a non-empty str of at most {_MAX_SUBJECT} "
                                "characters")


def _check_context(context: str) -> None:
    if not isinstance(cast(object, context), str) or not context:
        raise InvalidInputError("context must be a non-empty str (e.g. 'clients.card_no')")


def _aad(key_ref: str, context: str) -> bytes:
    return b"\x00".join((PREFIX.encode("ascii"), key_ref.encode("ascii"),
                         context.encode("utf-8")))


def _pack(value: StrOrBytes | Secret[str] | Secret[bytes]) -> bytes:
    return pack(value, str_flag=_F_STR, bytes_flag=_F_BYTES)


def _unpack(plaintext: bytes) -> StrOrBytes:
    return unpack(plaintext, str_flag=_F_STR, bytes_flag=_F_BYTES, error=_BAD)


def check_key_ref(key_ref: str) -> str:
    """Validate a key reference's shape (stores use it on their inputs)."""
    if not isinstance(cast(object, key_ref), str) or not KEY_ID_PATTERN.fullmatch(key_ref):
        raise InvalidInputError("key_ref must be 1-64 characters of [A-Za-z0-9_-]")
    return key_ref


def record_or_tombstone(key_ref: str, subject: str, wrapped: str | None,
                        created_at: _dt.datetime, shredded_at: _dt.datetime | None,
                        reason: str | None) -> SubjectKeyRecord | SubjectTombstone:
    """Build the domain object for one stored row (shared by the store implementations)."""
    if wrapped is not None and shredded_at is None:
        return SubjectKeyRecord(key_ref, subject, wrapped, created_at)
    if wrapped is None and shredded_at is not None:
        return SubjectTombstone(key_ref, subject, created_at, shredded_at, reason or "")
    raise ConflictError(f"subject key {key_ref!r} is half shredded; the store is corrupt")

