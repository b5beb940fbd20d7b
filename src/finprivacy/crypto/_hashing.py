"""One-way hashing for authentication secrets: PINs, passwords, security answers.

These are the data a bookkeeping firm must be able to *check* but never *read back*
(sensitivity C3 under JR/T 0171-2020 §5.2; PCI DSS v4.0 requirement 3.3.1 forbids
keeping PIN data after authorisation): they are hashed with Argon2id (RFC 9106) through
``argon2-cffi`` and never encrypted.

* Named, frozen profiles instead of knobs: :data:`PROFILE_RFC9106_LOW_MEMORY` (RFC 9106
  §4, second recommended option), :data:`PROFILE_FINANCE` (the default, stronger) and
  :data:`PROFILE_TESTING_ONLY` (cheap, for test suites only).
* :meth:`SecretHasher.verify` raises :class:`~finprivacy.errors.VerificationError` on a
  mismatch and never returns ``False``; :meth:`SecretHasher.needs_rehash` says when a
  stored hash was made with older parameters or an old pepper key.
* Inputs are normalised per ``kind`` as NIST SP 800-63B §5.1.1.2 recommends (Unicode
  NFKC); security answers are also case-folded and their spaces collapsed; PINs must be
  4–12 digits.
* Optional *pepper*: with ``pepper=keyring`` the secret is first keyed with
  HMAC-SHA256 under a key derived from the keyring, so a stolen table of hashes cannot
  be brute-forced without the keyring as well. This matters most for PINs: a 6-digit
  PIN has only 10**6 values, which no memory-hard hash protects on its own.
"""

from __future__ import annotations

import dataclasses
import hmac
import re
import unicodedata
from hashlib import sha256
from typing import Final, Literal, Protocol

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..errors import InvalidInputError
from ..errors import VerificationError as FpVerificationError
from ..secret import Secret

__all__ = [
    "PROFILE_FINANCE",
    "PROFILE_RFC9106_LOW_MEMORY",
    "PROFILE_TESTING_ONLY",
    "HashProfile",
    "SecretHasher",
    "SecretKind",
]

SecretKind = Literal["password", "pin", "security_answer"]
"""What is being hashed; decides the normalisation applied before hashing."""

_PEPPER_INFO: Final = b"finprivacy/hash-pepper/v1"
_PEPPER_PREFIX: Final = "$fpp1$k="
_PIN = re.compile(r"[0-9]{4,12}")
_SPACES = re.compile(r"\s+")
_MAX_SECRET: Final = 4096


@dataclasses.dataclass(frozen=True, slots=True)
class HashProfile:
    """Named Argon2id parameters (RFC 9106 §3.1): ``memory_cost`` in KiB."""

    name: str
    time_cost: int
    memory_cost: int
    parallelism: int
    hash_len: int = 32
    salt_len: int = 16

    def __post_init__(self) -> None:
        if self.time_cost < 1 or self.parallelism < 1 or self.memory_cost < 8 * self.parallelism:
            raise InvalidInputError(
                f"hash profile {self.name!r}: time_cost >= 1, parallelism >= 1 and "
                "memory_cost >= 8 * parallelism KiB are required (RFC 9106 §3.1)"
            )
        if self.hash_len < 16 or self.salt_len < 16:
            raise InvalidInputError(
                f"hash profile {self.name!r}: hash_len and salt_len must be >= 16 bytes"
            )


PROFILE_RFC9106_LOW_MEMORY: Final = HashProfile("rfc9106-low-memory", 3, 64 * 1024, 4)
"""RFC 9106 §4, second recommended option: Argon2id, t=3, m=64 MiB, p=4."""

PROFILE_FINANCE: Final = HashProfile("finance", 4, 128 * 1024, 4)
"""The default: Argon2id, t=4, m=128 MiB, p=4, about twice the RFC 9106 low-memory cost.

Authentication secrets in finance are short (6-digit PINs, one-word answers) and
checked rarely, so a slower hash costs little and buys margin; pair it with a pepper.
"""

PROFILE_TESTING_ONLY: Final = HashProfile("testing-only", 1, 8, 1)
"""Cheap parameters for test suites only: gives almost no protection. Never in production."""


class _PepperSource(Protocol):
    @property
    def primary_id(self) -> str: ...

    def derive_key(self, info: bytes, *, key_id: str | None = None,
                   length: int = 32) -> tuple[str, bytes]: ...


class SecretHasher:
    """Argon2id hashing of PINs, passwords and security answers with a named profile.

    >>> h = SecretHasher(PROFILE_TESTING_ONLY, kind="pin")
    >>> stored = h.hash("246810")
    >>> h.verify(stored, "246810")          # returns None; raises on a mismatch
    >>> h.needs_rehash(stored)
    False
    """

    __slots__ = ("_hasher", "_kind", "_pepper", "_profile")

    def __init__(self, profile: HashProfile = PROFILE_FINANCE, *,
                 kind: SecretKind = "password", pepper: _PepperSource | None = None) -> None:
        if not isinstance(profile, HashProfile):
            raise InvalidInputError("profile must be a HashProfile")
        if kind not in ("password", "pin", "security_answer"):
            raise InvalidInputError("kind must be 'password', 'pin' or 'security_answer'")
        self._profile = profile
        self._kind: SecretKind = kind
        self._pepper = pepper
        self._hasher = argon2.PasswordHasher(
            time_cost=profile.time_cost, memory_cost=profile.memory_cost,
            parallelism=profile.parallelism, hash_len=profile.hash_len,
            salt_len=profile.salt_len, type=argon2.Type.ID,
        )

    def __repr__(self) -> str:
        peppered = ", peppered" if self._pepper is not None else ""
        return f"SecretHasher({self._profile.name!r}, kind={self._kind!r}{peppered})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("SecretHasher objects may hold a pepper key and cannot be pickled")

    @property
    def profile(self) -> HashProfile:
        """The Argon2id parameters new hashes are made with."""
        return self._profile

    @property
    def kind(self) -> SecretKind:
        """What this hasher is for: ``password``, ``pin`` or ``security_answer``."""
        return self._kind

    # -- API -----------------------------------------------------------------------------
    def hash(self, secret: str | bytes | Secret[str] | Secret[bytes]) -> str:
        """Return the encoded Argon2id hash of ``secret`` (with a fresh random salt)."""
        material = self._normalise(secret)
        if self._pepper is None:
            return self._hasher.hash(material)
        key_id, key = self._pepper.derive_key(_PEPPER_INFO)
        return f"{_PEPPER_PREFIX}{key_id}" + self._hasher.hash(_keyed(key, material))

    def verify(self, stored: str, secret: str | bytes | Secret[str] | Secret[bytes]) -> None:
        """Check ``secret`` against ``stored``; raise VerificationError if it does not match.

        A malformed stored hash, a peppered hash without the keyring (or the reverse)
        and a wrong secret all raise :class:`~finprivacy.errors.VerificationError`.
        """
        material = self._normalise(secret)
        encoded, key_id = _split(stored)
        if key_id is not None:
            if self._pepper is None:
                raise FpVerificationError("stored hash is peppered; this hasher has no pepper")
            try:
                _, key = self._pepper.derive_key(_PEPPER_INFO, key_id=key_id)
            except Exception:
                raise FpVerificationError(
                    f"pepper key {key_id!r} is not in the keyring"
                ) from None
            material = _keyed(key, material)
        elif self._pepper is not None:
            raise FpVerificationError("stored hash is not peppered; this hasher is")
        try:
            self._hasher.verify(encoded, material)
        except VerifyMismatchError:
            raise FpVerificationError(f"{self._kind} does not match") from None
        except (InvalidHashError, VerificationError, ValueError):
            raise FpVerificationError("stored hash is malformed or not Argon2id") from None

    def is_valid(self, stored: str, secret: str | bytes | Secret[str] | Secret[bytes]) -> bool:
        """Return whether ``secret`` matches ``stored`` (wraps :meth:`verify`)."""
        try:
            self.verify(stored, secret)
        except FpVerificationError:
            return False
        return True

    def needs_rehash(self, stored: str) -> bool:
        """Return whether ``stored`` should be re-hashed at the next successful login.

        True when its Argon2id parameters differ from this hasher's profile, or when it
        was peppered with a key other than the keyring's primary key (or peppering was
        turned on or off).
        """
        encoded, key_id = _split(stored)
        if (key_id is None) != (self._pepper is None):
            return True
        if key_id is not None and self._pepper is not None and key_id != self._pepper.primary_id:
            return True
        try:
            return self._hasher.check_needs_rehash(encoded)
        except (InvalidHashError, ValueError):
            raise FpVerificationError("stored hash is malformed or not Argon2id") from None

    # -- normalisation --------------------------------------------------------------------
    def _normalise(self, secret: str | bytes | Secret[str] | Secret[bytes]) -> bytes:
        raw = secret.reveal() if isinstance(secret, Secret) else secret
        if isinstance(raw, bytes):
            if self._kind != "password":
                raise InvalidInputError(f"a {self._kind} must be given as str")
            data = raw
        elif isinstance(raw, str):
            text = unicodedata.normalize("NFKC", raw)
            if self._kind == "pin":
                if not _PIN.fullmatch(text):
                    raise InvalidInputError("a PIN must be 4 to 12 digits")
            elif self._kind == "security_answer":
                text = _SPACES.sub(" ", text.casefold()).strip()
                if not text:
                    raise InvalidInputError("a security answer must not be empty")
            elif not text:
                raise InvalidInputError("a password must not be empty")
            data = text.encode("utf-8")
        else:
            raise InvalidInputError(f"secret must be str or bytes, not {type(raw).__name__}")
        if len(data) > _MAX_SECRET:
            raise InvalidInputError(f"secret longer than {_MAX_SECRET} bytes")
        return data


def _keyed(key: bytes, material: bytes) -> bytes:
    return hmac.new(key, material, sha256).digest()


def _split(stored: str) -> tuple[str, str | None]:
    if not isinstance(stored, str):
        raise FpVerificationError("stored hash must be a str")
    if stored.startswith(_PEPPER_PREFIX):
        key_id, sep, rest = stored[len(_PEPPER_PREFIX):].partition("$")
        if not sep or not key_id:
            raise FpVerificationError("stored hash is malformed")
        return "$" + rest, key_id
    return stored, None
