"""The keyring: named keys, token format v1 (``fp1``), rotation and persistence.

Token v1 is ``"fp1.{key_id}.{base64url(nonce ‖ ciphertext ‖ tag)}"``:

* ``nonce``: 12 bytes from the operating system's CSPRNG, new for every token;
* ``ciphertext``: AES-256-GCM (NIST SP 800-38D) of ``type_flag ‖ value``, where
  ``type_flag`` is ``0x01`` for ``str`` (the value is UTF-8) and ``0x02`` for ``bytes``,
  so the type is both confidential and authenticated;
* ``tag``: the 16-byte GCM tag;
* additional authenticated data: ``b"fp1" 0x00 key_id 0x00 context`` (the context in
  UTF-8), binding the version, the key id and the context.

The AES-GCM key is not the stored key material itself but
``HKDF-SHA256(material, salt=∅, info=b"finprivacy/v1/fp1/AES-256-GCM")`` (RFC 5869),
so :meth:`Keyring.derive_key` can hand out independent subkeys of the same material.
docs/explanation/tokens.md draws the layout; fixed-token tests pin it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as _dt
import enum
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..clock import Clock, SystemClock, utc
from ..errors import (
    DecryptionError,
    InvalidInputError,
    KeyProviderError,
    KeyringError,
    KeyStateError,
    KeyUnavailableError,
)
from ..secret import Secret
from . import _keyfile
from ._aead import NONCE_SIZE, TAG_SIZE, Aead
from ._providers import KeyProvider, PassphraseProvider
from ._token import _NON_CANONICAL, _PAD, KEY_ID_PATTERN, b64url_decode, b64url_encode

__all__ = ["AES256_GCM", "KeyInfo", "KeyStatus", "KeyTemplate", "Keyring", "record_context"]

_PREFIX = "fp1"
_FLAG_STR = 0x01
_FLAG_BYTES = 0x02
_B_STR = b"\x01"
_B_BYTES = b"\x02"
_MIN_BODY = NONCE_SIZE + 1 + TAG_SIZE
_AEAD_INFO = b"finprivacy/v1/fp1/AES-256-GCM"
_DERIVE_INFO = b"finprivacy/v1/derive_key\x00"
_BAD = "token cannot be decrypted with this keyring"
_b2a = binascii.b2a_base64
_a2b = binascii.a2b_base64
_urandom = os.urandom

_url_encode: Callable[[bytes], bytes] | None
_url_decode: Callable[[str], bytes] | None
try:  # the optional ``speed`` extra: simdutf's SIMD base64url (same text, same rules)
    import fastpybase64

    _url_encode, _url_decode = fastpybase64.urlsafe_b64encode, fastpybase64.urlsafe_b64decode
except ImportError:  # pragma: no cover - the tests also run with it hidden
    _url_encode = _url_decode = None
# The shortest body text: nonce, flag byte and tag are 29 bytes, ceil(29 * 4 / 3) chars.
_MIN_TEXT = (_MIN_BODY * 4 + 2) // 3
_AAD_CACHE_MAX = 256
# Slices built once (Python 3.11 builds a slice object for every ``x[a:b]``).
_NONCE_PART = slice(None, NONCE_SIZE)
_SEALED_PART = slice(NONCE_SIZE, None)
_VALUE_PART = slice(1, None)
# base64url to the standard alphabet for binascii; "+" and "/" become "!", which it skips.
_URL_TO_STD = bytes.maketrans(b"-_+/", b"+/!!")


class KeyStatus(enum.StrEnum):
    """The life-cycle state of a key in a :class:`Keyring`.

    ``primary`` encrypts and decrypts (exactly one key); ``decrypt-only`` only
    decrypts (a former primary); ``retired`` refuses both but keeps its material so
    it can be reinstated; ``destroyed`` has no material left.
    """

    PRIMARY = "primary"
    DECRYPT_ONLY = "decrypt-only"
    RETIRED = "retired"
    DESTROYED = "destroyed"


@dataclasses.dataclass(frozen=True, slots=True)
class KeyTemplate:
    """A named key type: algorithm, key size and the token version it writes."""

    name: str
    algorithm: str
    key_size: int
    token_prefix: str


#: AES-256-GCM with 96-bit random nonces and 128-bit tags (NIST SP 800-38D); the default.
AES256_GCM = KeyTemplate("AES256_GCM", "AES-256-GCM", 32, _PREFIX)
_TEMPLATES = {AES256_GCM.name: AES256_GCM}


@dataclasses.dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be said about a key without revealing it."""

    key_id: str
    template: str
    algorithm: str
    status: KeyStatus
    created_at: _dt.datetime
    changed_at: _dt.datetime

    @property
    def id(self) -> str:
        """The key id (same as :attr:`key_id`)."""
        return self.key_id

    @property
    def is_primary(self) -> bool:
        """Whether this key encrypts new values."""
        return self.status is KeyStatus.PRIMARY


def _hkdf(material: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(material)


class _Key:
    """One key and its cached AEAD object. Never leaves the keyring."""

    __slots__ = ("aad_prefix", "aads", "aead", "changed_at", "created_at", "derived",
                 "key_id", "material", "open_raw", "seal", "status", "template",
                 "text_prefix")

    def __init__(self, key_id: str, template: KeyTemplate, status: KeyStatus,
                 created_at: _dt.datetime, changed_at: _dt.datetime,
                 material: bytes | None) -> None:
        self.key_id = key_id
        self.template = template
        self.created_at = created_at
        self.changed_at = changed_at
        self.material = material
        self.aad_prefix = b"fp1\x00" + key_id.encode("ascii") + b"\x00"
        self.text_prefix = f"fp1.{key_id}."
        # AAD bytes by context, filled by aad(): only non-empty exact-str contexts that
        # encode, so a hit is always aad_prefix + context.encode("utf-8") of a context
        # encrypt() would accept. Bounded: cleared when full (per-record contexts).
        self.aads: dict[str, bytes] = {}
        self.derived: dict[tuple[bytes, int], bytes] = {}
        self.aead: Aead | None = None
        self.seal: Callable[[bytes, bytes, bytes], bytes] | None = None
        self.open_raw: Callable[[bytes, bytes, bytes], bytes] | None = None
        self.status = status
        self.set_status(status, changed_at)

    def set_status(self, status: KeyStatus, at: _dt.datetime) -> None:
        self.status = status
        self.changed_at = at
        if status is KeyStatus.DESTROYED:
            self.material = None
            self.derived.clear()
        usable = status in (KeyStatus.PRIMARY, KeyStatus.DECRYPT_ONLY)
        if usable and self.material is not None and self.aead is None:
            self.aead = Aead(_hkdf(self.material, _AEAD_INFO, 32))
            self.seal = self.aead.seal
            self.open_raw = self.aead.open_raw
        elif not usable:
            self.aead = None
            self.seal = None
            self.open_raw = None

    def aad(self, context: str) -> bytes:
        """Return the AAD for ``context`` and cache it; raise as the uncached code would.

        ``AttributeError`` for a non-str, ``UnicodeEncodeError`` for a lone surrogate.
        """
        aad = self.aad_prefix + context.encode("utf-8")
        if type(context) is str and context:
            aads = self.aads
            if len(aads) >= _AAD_CACHE_MAX:
                aads.clear()
            aads[context] = aad
        return aad

    def info(self) -> KeyInfo:
        return KeyInfo(self.key_id, self.template.name, self.template.algorithm,
                       self.status, self.created_at, self.changed_at)

    def __repr__(self) -> str:
        return f"<key {self.key_id} {self.template.algorithm} {self.status.value}>"

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("keys cannot be pickled")


class Keyring:
    """A set of named keys with one primary; encrypts fields into ``fp1`` tokens.

    Create one with :meth:`generate`, persist it with :meth:`save` and :meth:`load`.
    The primary key encrypts; every key that is ``primary`` or ``decrypt-only``
    decrypts, found by the id written in the token (never by trying keys). The repr
    shows ids, algorithms and statuses only; pickling and copying are refused; the
    one way to get raw key material out is :meth:`export_key_material`.

    A keyring is safe to share between threads.
    """

    __slots__ = ("__weakref__", "_by_head", "_clock", "_keys", "_lock", "_primary")

    _keys: dict[str, _Key]
    # Keys by the head of their tokens, ``"fp1.{key_id}"``: decrypt() finds the key of
    # a token with one rpartition and one lookup.
    _by_head: dict[str, _Key]
    _primary: _Key
    _clock: Clock
    _lock: threading.RLock

    def __init__(self) -> None:
        raise TypeError("use Keyring.generate() or Keyring.load() to make a keyring")

    @classmethod
    def _build(cls, keys: list[_Key], clock: Clock) -> Keyring:
        self = object.__new__(cls)
        self._clock = clock
        self._lock = threading.RLock()
        self._keys = {k.key_id: k for k in keys}
        primaries = [k for k in keys if k.status is KeyStatus.PRIMARY]
        if len(primaries) != 1 or len(self._keys) != len(keys):
            raise KeyringError("a keyring needs exactly one primary key and unique key ids")
        self._primary = primaries[0]
        self._by_head = {k.text_prefix[:-1]: k for k in keys}
        return self

    # -- creation ---------------------------------------------------------------

    @classmethod
    def generate(cls, *, template: KeyTemplate = AES256_GCM,
                 clock: Clock | None = None) -> Keyring:
        """Return a new keyring holding one fresh primary key of ``template``."""
        clock = clock if clock is not None else SystemClock()
        cls._check_template(template)
        now = utc(clock.now(), "clock.now()")
        key = _Key(_new_id(()), template, KeyStatus.PRIMARY, now, now,
                   os.urandom(template.key_size))
        return cls._build([key], clock)

    @classmethod
    def _from_material(cls, key_id: str, material: bytes, *,
                       created_at: _dt.datetime | None = None,
                       clock: Clock | None = None) -> Keyring:
        """Test seam: a keyring whose primary key has fixed ``key_id`` and ``material``."""
        clock = clock if clock is not None else SystemClock()
        at = utc(created_at if created_at is not None else clock.now(), "created_at")
        _check_key_id(key_id)
        if len(material) != AES256_GCM.key_size:
            raise InvalidInputError("key material must be 32 bytes")
        key = _Key(key_id, AES256_GCM, KeyStatus.PRIMARY, at, at, bytes(material))
        return cls._build([key], clock)

    @staticmethod
    def _check_template(template: KeyTemplate) -> None:
        if _TEMPLATES.get(getattr(template, "name", "")) != template:
            raise InvalidInputError("unknown key template; use finprivacy.crypto.AES256_GCM")

    # -- the hot path -----------------------------------------------------------

    def encrypt(self, value: str | bytes, *, context: str) -> str:
        """Encrypt ``value`` under the primary key, bound to ``context``; return a token.

        ``context`` names where the value lives (``"customers.card_no"``, optionally
        with the record id, see :func:`record_context`); decryption must pass the same
        context. The token records whether ``value`` was ``str`` or ``bytes``.
        """
        return self._seal(value, context, _urandom(NONCE_SIZE))

    def _encrypt(self, value: str | bytes, *, context: str, nonce: bytes) -> str:
        """Encrypt with an explicit nonce. Test seam: reusing a nonce breaks GCM."""
        if len(nonce) != NONCE_SIZE or not isinstance(nonce, bytes):
            raise InvalidInputError("nonce must be 12 bytes")
        return self._seal(value, context, nonce)

    def _seal(self, value: str | bytes, context: str, nonce: bytes) -> str:
        # The hot path: every token is made here, flat on purpose (see
        # benchmarks/bench_crypto.py). Only valid contexts are cached, so a cache hit
        # needs no other check than the type.
        key = self._primary
        tv = type(value)
        if tv is bytes:
            plain = _B_BYTES + value  # type: ignore[operator]
        elif tv is str:
            try:
                plain = _B_STR + value.encode("utf-8")  # type: ignore[union-attr]
            except UnicodeEncodeError:
                raise InvalidInputError(
                    "value or context is not encodable as UTF-8") from None
        else:
            plain = _plain_of(value)
        if type(context) is str:
            try:
                aad = key.aads[context]
            except KeyError:
                aad = _encrypt_aad(key, context)
        else:
            raise InvalidInputError("context must be a non-empty str")
        seal = key.seal
        if seal is None:  # pragma: no cover - the primary always has its AEAD
            raise KeyStateError(f"primary key {key.key_id} cannot encrypt")
        body = nonce + seal(nonce, plain, aad)
        if _url_encode is not None:
            text = _url_encode(body).decode()
        else:
            text = _b2a(body, newline=False).decode("ascii").replace(
                "+", "-").replace("/", "_")
        pad = len(body) % 3
        if pad:
            return key.text_prefix + text[:pad - 3]
        return key.text_prefix + text

    def decrypt(self, token: str, *, context: str) -> str | bytes:
        """Decrypt a token made by :meth:`encrypt` with the same ``context``.

        Returns ``str`` or ``bytes``, whichever was encrypted. Raises
        :class:`~finprivacy.errors.DecryptionError` for every bad token (malformed,
        unknown version or key id, wrong context, tampered) and
        :class:`~finprivacy.errors.KeyUnavailableError` (a ``KeyStateError`` and a
        ``DecryptionError``) if its key is retired or destroyed. A value that is no
        token at all (``None``, a number) raises
        :class:`~finprivacy.errors.InvalidInputError`, as :meth:`encrypt` does.
        """
        # The decrypt hot path, flat on purpose (see benchmarks/bench_crypto.py).
        # The key is looked up by id, never by trying keys: the text before the last
        # "." must be the head "fp1.{key_id}" of a key in this keyring (key ids hold no
        # "."), which means exactly three parts, the fp1 prefix and a known id.
        try:
            head, _, data = token.rpartition(".")
            key = self._by_head[head]
        except Exception:  # not a token of this keyring, or not text
            return self._decrypt_other(token, context)
        gcm_open = key.open_raw
        if gcm_open is None:
            raise _state_error(key)
        # Strict, canonical base64url (_token.b64url_decode is the reference): one
        # text form per body. Refused up front: too short for nonce, flag and tag; a
        # length of 4n + 1; unused low bits set in the last character; "+" and "/"
        # (fastpybase64 would read them as "-" and "_"; the stdlib path maps them to
        # "!" instead). Both codecs refuse or skip any other stray character (binascii
        # skips "!"), and stop at "="; each of these makes the body shorter than
        # 3n // 4 (n is never 4k + 1 here), so the length check catches them all.
        n = len(data)
        try:
            if n < _MIN_TEXT:
                raise ValueError
            rem = n & 3
            if rem:
                if rem == 1 or data[-1] in _NON_CANONICAL[rem]:
                    raise ValueError
                data += _PAD[rem]
            if _url_decode is not None:  # reads "+" "/" as "-" "_": refused first
                if "+" in data or "/" in data:
                    raise ValueError
                body = _url_decode(data)
            else:  # one table pass, which also turns "+" "/" into "!" (UTF-8 is a
                # plain copy for ASCII text; the codec refuses or skips the rest)
                body = _a2b(data.encode().translate(_URL_TO_STD))
            if len(body) != (n * 3) >> 2:
                raise ValueError
            try:
                aad = key.aads[context]
            except Exception:  # not cached, or not even hashable: the reference way
                aad = key.aad(context)
            plain = gcm_open(body[_NONCE_PART], body[_SEALED_PART], aad)
        except (InvalidTag, ValueError, TypeError, OverflowError):
            raise DecryptionError(_BAD) from None
        except AttributeError:
            raise InvalidInputError("context must be a non-empty str") from None
        if plain[0] == 2:  # _FLAG_BYTES
            return plain[_VALUE_PART]
        if plain[0] == 1:  # _FLAG_STR
            try:
                return plain[_VALUE_PART].decode("utf-8")
            except UnicodeDecodeError:  # pragma: no cover - authentic tokens are valid
                raise DecryptionError(_BAD) from None
        raise DecryptionError(_BAD)  # pragma: no cover - authentic tokens carry a flag

    def _decrypt_other(self, token: object, context: str) -> str | bytes:
        """Decrypt what is not a text token of this keyring: refuse it, or read bytes.

        A bytes-like token is read as ASCII text and decrypted; anything else is a
        :class:`DecryptionError` (a str here has the wrong number of parts, another
        prefix or an unknown key id).
        """
        if isinstance(token, str):
            raise DecryptionError(_BAD)
        if not isinstance(token, bytes | bytearray | memoryview):
            # Not a token at all (None, a number): the caller's mistake, reported as
            # encrypt() reports a value of the wrong type.
            raise InvalidInputError(
                f"can only decrypt a token (str or bytes), not {type(token).__name__}")
        return self.decrypt(_token_text(token), context=context)

    def decrypt_str(self, token: str, *, context: str) -> str:
        """Like :meth:`decrypt`, for a token known to hold text; else DecryptionError."""
        value = self.decrypt(token, context=context)
        if not isinstance(value, str):
            raise DecryptionError("token holds bytes, not text")
        return value

    def decrypt_bytes(self, token: str, *, context: str) -> bytes:
        """Like :meth:`decrypt`, for a token known to hold bytes; else DecryptionError."""
        value = self.decrypt(token, context=context)
        if not isinstance(value, bytes):
            raise DecryptionError("token holds text, not bytes")
        return value

    # -- rotation ---------------------------------------------------------------

    @property
    def primary_id(self) -> str:
        """The id of the key that encrypts new values."""
        return self._primary.key_id

    def key_id_of(self, token: str) -> str:
        """Return the key id written in an ``fp1`` token (without decrypting it).

        Raises :class:`~finprivacy.errors.DecryptionError` if ``token`` is not an
        ``fp1`` token of a key in this keyring.
        """
        if type(token) is not str:
            token = _token_text(token)
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _PREFIX or parts[1] not in self._keys:
            raise DecryptionError(_BAD)
        return parts[1]

    def needs_reencrypt(self, token: str) -> bool:
        """Whether ``token`` was written under a key other than the primary.

        Does not authenticate the token; :meth:`reencrypt` does.
        """
        return self.key_id_of(token) != self._primary.key_id

    def reencrypt(self, token: str, *, context: str) -> str:
        """Return ``token`` re-encrypted under the primary key (after authenticating it).

        A token already under the primary is returned unchanged once authenticated.
        """
        value = self.decrypt(token, context=context)
        if self.key_id_of(token) == self._primary.key_id:
            return token
        return self.encrypt(value, context=context)

    def rotate(self) -> str:
        """Make a fresh key the primary; the old primary becomes ``decrypt-only``.

        Returns the new primary's id. Old tokens still decrypt; re-encrypt them with
        :meth:`reencrypt`, then :meth:`retire` the old key.
        """
        with self._lock:
            now = self._now()
            template = self._primary.template
            key = _Key(_new_id(self._keys), template, KeyStatus.PRIMARY, now, now,
                       os.urandom(template.key_size))
            self._primary.set_status(KeyStatus.DECRYPT_ONLY, now)
            self._keys[key.key_id] = key
            self._by_head[key.text_prefix[:-1]] = key
            self._primary = key
            return key.key_id

    def promote(self, key_id: str) -> None:
        """Make a ``decrypt-only`` key the primary again (the old primary turns decrypt-only)."""
        with self._lock:
            key = self._get(key_id)
            if key is self._primary:
                return
            if key.status is not KeyStatus.DECRYPT_ONLY:
                raise KeyStateError(f"key {key_id} is {key.status.value}; only a "
                                    "decrypt-only key can become the primary")
            now = self._now()
            self._primary.set_status(KeyStatus.DECRYPT_ONLY, now)
            key.set_status(KeyStatus.PRIMARY, now)
            self._primary = key

    def retire(self, key_id: str) -> None:
        """Stop a ``decrypt-only`` key from decrypting; its material is kept.

        Retire a key once every token under it has been re-encrypted. A retired key
        can be reinstated; :meth:`destroy` removes it for good. The primary cannot be
        retired: :meth:`rotate` first.
        """
        with self._lock:
            key = self._get(key_id)
            if key.status is KeyStatus.RETIRED:
                return
            if key.status is KeyStatus.PRIMARY:
                raise KeyStateError(f"key {key_id} is the primary; rotate() before retiring it")
            if key.status is KeyStatus.DESTROYED:
                raise KeyStateError(f"key {key_id} is destroyed and cannot be retired")
            key.set_status(KeyStatus.RETIRED, self._now())

    def reinstate(self, key_id: str) -> None:
        """Let a retired key decrypt again (status ``decrypt-only``)."""
        with self._lock:
            key = self._get(key_id)
            if key.status is KeyStatus.DECRYPT_ONLY:
                return
            if key.status is not KeyStatus.RETIRED:
                raise KeyStateError(f"key {key_id} is {key.status.value}; "
                                    "only a retired key can be reinstated")
            key.set_status(KeyStatus.DECRYPT_ONLY, self._now())

    def destroy(self, key_id: str) -> None:
        """Forget a retired key's material for good; its tokens become unreadable.

        The key must be retired first (a deliberate second step). The id stays
        listed as ``destroyed`` so its tokens fail with a clear
        :class:`~finprivacy.errors.KeyStateError`. Saved copies of the keyring and
        backups still hold the material until they are replaced or erased.
        """
        with self._lock:
            key = self._get(key_id)
            if key.status is KeyStatus.DESTROYED:
                return
            if key.status is not KeyStatus.RETIRED:
                raise KeyStateError(f"key {key_id} is {key.status.value}; retire it "
                                    "before destroying it")
            key.set_status(KeyStatus.DESTROYED, self._now())

    def keys(self) -> list[KeyInfo]:
        """Describe every key (ids, templates, statuses, times), oldest first."""
        return sorted((k.info() for k in list(self._keys.values())),
                      key=lambda i: (i.created_at, i.key_id))

    def key(self, key_id: str) -> KeyInfo:
        """Describe one key; :class:`~finprivacy.errors.KeyringError` if unknown."""
        return self._get(key_id).info()

    def __iter__(self) -> Iterator[KeyInfo]:
        """Iterate over :meth:`keys` (oldest first)."""
        return iter(self.keys())

    def __contains__(self, key_id: object) -> bool:
        """Whether a key with this id (in any status) is in the keyring."""
        return key_id in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    # -- derived keys and raw material -----------------------------------------

    def derive_key(self, info: bytes, *, key_id: str | None = None,
                   length: int = 32) -> tuple[str, bytes]:
        """Derive a subkey with HKDF-SHA256 (RFC 5869) from a key's material.

        ``info`` separates uses (``b"finprivacy/blind-index/customers.card_no"``);
        different ``info`` give independent keys, and none equals the AES-GCM key
        of the token format. ``key_id`` defaults to the primary; a ``decrypt-only``
        key may be named (to read older derived values). Returns ``(key_id, key)``.
        """
        if not info or not isinstance(info, bytes):
            raise InvalidInputError("info must be non-empty bytes")
        if type(length) is not int or not 16 <= length <= 255 * 32:
            raise InvalidInputError("length must be an int between 16 and 8160")
        key = self._primary if key_id is None else self._get(key_id)
        material = key.material
        if key.aead is None or material is None:
            raise _state_error(key, decrypting=False)
        cached = key.derived.get((info, length))
        if cached is None:
            cached = _hkdf(material, _DERIVE_INFO + info, length)
            key.derived[(info, length)] = cached
        return key.key_id, cached

    def export_key_material(self, key_id: str) -> bytes:
        """Return a key's raw material. DANGER: the one way key material leaves a keyring.

        Anyone holding the result can decrypt every token of that key. Raises
        :class:`~finprivacy.errors.KeyStateError` for a destroyed key.
        """
        key = self._get(key_id)
        if key.material is None:
            raise _state_error(key, decrypting=False)
        return key.material

    # -- persistence ------------------------------------------------------------

    def dumps(self, *, passphrase: str | bytes | Secret[str] | None = None,
              provider: KeyProvider | None = None) -> str:
        """Return the keyring sealed as keyring-file text (see :meth:`save`)."""
        prov = _provider(passphrase, provider)
        with self._lock:
            payload = self._payload()
        return _keyfile.seal_document(payload, prov)

    def save(self, path: str | os.PathLike[str], *,
             passphrase: str | bytes | Secret[str] | None = None,
             provider: KeyProvider | None = None) -> None:
        """Write the keyring to ``path`` atomically, its key material sealed.

        Pass ``passphrase`` (Argon2id, :class:`~finprivacy.crypto.PassphraseProvider`)
        or a ``provider``. The file is written to a temporary file in the same folder,
        fsynced and renamed over ``path``, so a crash leaves the old file or the new
        one, never a mix.
        """
        target = Path(path)
        try:
            text = self.dumps(passphrase=passphrase, provider=provider)
        except KeyProviderError as exc:
            raise KeyringError(f"keyring {target} could not be sealed: {exc}") from None
        _keyfile.atomic_write(target, text.encode("utf-8"))

    @classmethod
    def loads(cls, text: str | bytes, *,
              passphrase: str | bytes | Secret[str] | None = None,
              provider: KeyProvider | None = None, clock: Clock | None = None,
              source: str = "text") -> Keyring:
        """Load a keyring from keyring-file text; errors name ``source``."""
        prov = _provider(passphrase, provider)
        payload = _keyfile.open_document(text, prov, source)
        return cls._from_payload(payload, clock if clock is not None else SystemClock(),
                                 source)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *,
             passphrase: str | bytes | Secret[str] | None = None,
             provider: KeyProvider | None = None, clock: Clock | None = None) -> Keyring:
        """Load a keyring file written by :meth:`save`.

        Give the ``passphrase`` it was saved with, or a ``provider`` of the kind
        recorded in the file. A wrong passphrase, a mismatched provider, a truncated
        or corrupted file raise :class:`~finprivacy.errors.KeyringError` naming the
        file (never the passphrase or a key).
        """
        target = Path(path)
        data = _keyfile.read_file(target)
        _keyfile.remove_stale_temporaries(target)
        return cls.loads(data, passphrase=passphrase, provider=provider, clock=clock,
                         source=str(target))

    @classmethod
    def from_env(cls, var_name: str = "FINPRIVACY_KEYRING", *,
                 passphrase: str | bytes | Secret[str] | None = None,
                 provider: KeyProvider | None = None,
                 clock: Clock | None = None) -> Keyring:
        """Load a keyring whose sealed file text is in environment variable ``var_name``.

        The variable holds the text of a keyring file (as written by :meth:`dumps`),
        either as is or base64-encoded. Its key material is still sealed: pass a
        ``passphrase`` or a ``provider`` (e.g. an
        :class:`~finprivacy.crypto.EnvironmentProvider` naming a second variable).
        """
        value = os.environ.get(var_name)
        source = f"in environment variable {var_name}"
        if not value:
            raise KeyringError(f"keyring {source} is missing: the variable is not set")
        text = value.strip()
        if not text.startswith("{"):
            try:
                text = base64.b64decode("".join(text.split()), validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                raise KeyringError(
                    f"keyring {source} is neither keyring JSON nor its base64") from None
        return cls.loads(text, passphrase=passphrase, provider=provider, clock=clock,
                         source=source)

    def _payload(self) -> dict[str, Any]:
        keys = []
        for k in self._keys.values():
            keys.append({
                "id": k.key_id,
                "template": k.template.name,
                "status": k.status.value,
                "created_at": k.created_at.isoformat(),
                "changed_at": k.changed_at.isoformat(),
                "material": None if k.material is None else b64url_encode(k.material),
            })
        return {"primary": self._primary.key_id, "keys": keys}

    @classmethod
    def _from_payload(cls, payload: Mapping[str, Any], clock: Clock, source: str) -> Keyring:
        def bad(what: str) -> KeyringError:
            return KeyringError(f"keyring {source} is corrupted ({what})")

        entries = payload.get("keys")
        if not isinstance(entries, list) or not entries:
            raise bad("no key list")
        keys: list[_Key] = []
        for n, e in enumerate(entries):
            try:
                key_id = e["id"]
                _check_key_id(key_id)
                template = _TEMPLATES[e["template"]]
                status = KeyStatus(e["status"])
                created = utc(_dt.datetime.fromisoformat(e["created_at"]))
                changed = utc(_dt.datetime.fromisoformat(e["changed_at"]))
                raw = e["material"]
                if status is KeyStatus.DESTROYED:
                    if raw is not None:
                        raise ValueError
                    material = None
                else:
                    material = b64url_decode(raw)
                    if len(material) != template.key_size:
                        raise ValueError
            except (KeyError, TypeError, ValueError, InvalidInputError):
                raise bad(f"key entry {n}") from None
            keys.append(_Key(key_id, template, status, created, changed, material))
        try:
            kr = cls._build(keys, clock)
        except KeyringError:
            raise bad("primary key or key ids") from None
        if payload.get("primary") != kr._primary.key_id:
            raise bad("primary key")
        return kr

    # -- helpers ----------------------------------------------------------------

    def _get(self, key_id: str) -> _Key:
        key = self._keys.get(key_id)
        if key is None:
            raise KeyringError(f"this keyring has no key {key_id!r}"
                               if KEY_ID_PATTERN.fullmatch(str(key_id))
                               else "this keyring has no such key")
        return key

    def _now(self) -> _dt.datetime:
        return utc(self._clock.now(), "clock.now()")

    def __repr__(self) -> str:
        keys = ", ".join(f"{k.key_id} {k.template.algorithm} {k.status.value}"
                         for k in sorted(self._keys.values(), key=lambda k: k.created_at))
        return f"<Keyring primary={self._primary.key_id} keys=[{keys}]>"

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("a Keyring cannot be pickled or copied; use save()/load()")

    def __copy__(self) -> NoReturn:
        raise TypeError("a Keyring cannot be copied; use save()/load()")

    def __deepcopy__(self, memo: object) -> NoReturn:
        raise TypeError("a Keyring cannot be copied; use save()/load()")


def record_context(context: str, record_id: object) -> str:
    """Bind ``context`` to one record: ``"{context}#{record_id}"``.

    A token encrypted under ``record_context("customers.card_no", 42)`` decrypts only
    for record 42, so a value copied into another row fails. The pydantic
    integration's ``context_field=`` uses the same form.
    """
    if type(context) is not str or not context:
        raise InvalidInputError("context must be a non-empty str")
    if record_id is None or (isinstance(record_id, str) and not record_id):
        raise InvalidInputError("record id must not be empty")
    if isinstance(record_id, bytes | bytearray):
        raise InvalidInputError("record id must be text or a number, not bytes")
    return f"{context}#{record_id}"


def _check_key_id(key_id: object) -> None:
    if not isinstance(key_id, str) or not KEY_ID_PATTERN.fullmatch(key_id):
        raise InvalidInputError("key id must be 1-64 characters of [A-Za-z0-9_-]")


def _new_id(taken: object) -> str:
    while True:
        key_id = secrets.token_hex(4)
        if key_id not in taken:  # type: ignore[operator]
            return key_id


def _plain_of(value: object) -> bytes:
    """Return ``type flag ‖ value`` for a value that is not exactly str or bytes."""
    try:
        if isinstance(value, str):
            return _B_STR + str(value).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError("value or context is not encodable as UTF-8") from None
    if isinstance(value, bytes | bytearray | memoryview):
        return _B_BYTES + bytes(value)
    raise InvalidInputError(f"can only encrypt str or bytes, not {type(value).__name__}")


def _encrypt_aad(key: _Key, context: object) -> bytes:
    """Return the AAD for encrypting under ``context``, validated, cached by the key."""
    if type(context) is not str or not context:
        raise InvalidInputError("context must be a non-empty str")
    try:
        return key.aad(context)
    except UnicodeEncodeError:
        raise InvalidInputError("value or context is not encodable as UTF-8") from None


def _token_text(token: object) -> str:
    if isinstance(token, bytes | bytearray | memoryview):
        try:
            return bytes(token).decode("ascii")
        except UnicodeDecodeError:
            raise DecryptionError(_BAD) from None
    raise DecryptionError(_BAD)


def _state_error(key: _Key, *, decrypting: bool = True) -> KeyStateError:
    """Return the error for using a retired or destroyed key, naming it and what to do.

    Decrypting gets a :class:`KeyUnavailableError` (also a DecryptionError); other
    uses (deriving, exporting) a plain :class:`KeyStateError`.
    """
    when = key.changed_at.isoformat()
    if key.status is KeyStatus.RETIRED:
        message = (
            f"key {key.key_id} was retired at {when}: it no longer decrypts. To read its "
            f"tokens, reinstate it (keyring.reinstate({key.key_id!r})), re-encrypt them "
            "with keyring.reencrypt(), then retire it again")
    else:
        message = (
            f"key {key.key_id} was destroyed at {when}: its tokens cannot be decrypted "
            "any more. Only a keyring backup from before then can read them")
    if decrypting:
        return KeyUnavailableError(message, key_id=key.key_id, status=key.status.value)
    return KeyStateError(message)


def _provider(passphrase: str | bytes | Secret[str] | None,
              provider: KeyProvider | None) -> KeyProvider:
    if passphrase is not None and provider is not None:
        raise InvalidInputError("pass either passphrase= or provider=, not both")
    if passphrase is not None:
        return PassphraseProvider(passphrase)
    if provider is None:
        raise InvalidInputError("pass passphrase= or provider= to seal the keyring file")
    if not isinstance(provider, KeyProvider):
        raise InvalidInputError("provider must implement the KeyProvider protocol")
    return provider
