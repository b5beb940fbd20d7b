"""Key providers: where the key-encryption key of a keyring file lives.

A keyring file's key material is encrypted under a random data-encryption key (DEK);
a :class:`KeyProvider` wraps that DEK for storage in the file and unwraps it on load.
finprivacy ships :class:`PassphraseProvider` (Argon2id, RFC 9106) and
:class:`EnvironmentProvider` (a key-encryption key in an environment variable); the
AWS KMS and PKCS#11 providers implement the same Protocol.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Mapping
from typing import NoReturn, Protocol, runtime_checkable

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import InvalidInputError, KeyProviderError, WeakPassphraseError
from ..secret import Secret

__all__ = [
    "ARGON2_RFC9106_LOW_MEMORY",
    "ARGON2_TESTING_ONLY",
    "MAX_ARGON2_MEMORY_KIB",
    "MAX_ARGON2_PARALLELISM",
    "MAX_ARGON2_TIME_COST",
    "MIN_PASSPHRASE_LENGTH",
    "Argon2Profile",
    "EnvironmentProvider",
    "KeyProvider",
    "PassphraseProvider",
]

_DEK_SIZE = 32


@runtime_checkable
class KeyProvider(Protocol):
    """Wraps and unwraps the data-encryption key (DEK) of a keyring file.

    ``kind`` is recorded in the file, and :meth:`Keyring.load
    <finprivacy.crypto.Keyring.load>` refuses a provider of another kind. Both
    methods raise :class:`~finprivacy.errors.KeyProviderError` on failure, with a
    message that names the provider and its parameters but never a key.
    """

    kind: str

    def wrap_key(self, dek: bytes) -> dict[str, str]:
        """Return a JSON-able description of the wrapped ``dek`` (base64 inside)."""
        ...

    def unwrap_key(self, params: Mapping[str, str]) -> bytes:
        """Return the DEK from the description :meth:`wrap_key` produced."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class Argon2Profile:
    """Named Argon2id parameters (RFC 9106 §4): ``memory_cost`` is in KiB."""

    name: str
    time_cost: int
    memory_cost: int
    parallelism: int


#: RFC 9106 §4, second recommended option: t=3, m=64 MiB, p=4. The default.
ARGON2_RFC9106_LOW_MEMORY = Argon2Profile("rfc9106-low-memory", 3, 64 * 1024, 4)
#: Cheap parameters for test suites only; offers almost no protection to a passphrase.
ARGON2_TESTING_ONLY = Argon2Profile("testing-only", 1, 8, 1)

# Refuse parameters from a file that would make loading hang or exhaust memory.
#: The most a keyring file may ask of Argon2id at load (checked before any work): a
#: crafted file cannot make ``load`` spend minutes or gigabytes. Ten times the default
#: profile's time cost, sixteen times its memory (1 GiB), four times its lanes.
MAX_ARGON2_TIME_COST = 30
MAX_ARGON2_MEMORY_KIB = 1024 * 1024
MAX_ARGON2_PARALLELISM = 16
#: The shortest passphrase a keyring is sealed with, unless ``allow_weak=True``.
MIN_PASSPHRASE_LENGTH = 12
_MAX_TIME = MAX_ARGON2_TIME_COST
_MAX_MEMORY = MAX_ARGON2_MEMORY_KIB
_MAX_PARALLELISM = MAX_ARGON2_PARALLELISM


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str, kind: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeError, AttributeError):
        raise KeyProviderError(f"{kind} provider: parameter {what!r} is not base64") from None


def _wrap(kek: bytes, dek: bytes, aad: bytes) -> tuple[str, str]:
    nonce = os.urandom(12)
    return _b64(nonce), _b64(AESGCM(kek).encrypt(nonce, dek, aad))


def _unwrap(kek: bytes, params: Mapping[str, str], aad: bytes, kind: str, why: str) -> bytes:
    nonce = _unb64(params.get("nonce", ""), "nonce", kind)
    wrapped = _unb64(params.get("wrapped_dek", ""), "wrapped_dek", kind)
    try:
        dek = AESGCM(kek).decrypt(nonce, wrapped, aad)
    except (InvalidTag, ValueError):
        raise KeyProviderError(f"{kind} provider could not unwrap the key: {why}") from None
    if len(dek) != _DEK_SIZE:
        raise KeyProviderError(f"{kind} provider: unwrapped key has the wrong size")
    return dek


class PassphraseProvider:
    """Wrap the keyring file's DEK under a key derived from a passphrase with Argon2id.

    The key-encryption key is Argon2id (RFC 9106) of the passphrase with a fresh
    16-byte salt per save, using ``profile``; the salt and parameters are stored in
    the file, so a file written with older parameters still loads. The DEK is then
    sealed with AES-256-GCM. Pass :data:`ARGON2_TESTING_ONLY` in test suites only.
    """

    kind: str = "passphrase"
    __slots__ = ("_allow_weak", "_length", "_passphrase", "_profile")

    def __init__(self, passphrase: str | bytes | Secret[str] | Secret[bytes], *,
                 profile: Argon2Profile = ARGON2_RFC9106_LOW_MEMORY,
                 allow_weak: bool = False) -> None:
        raw = passphrase.reveal() if isinstance(passphrase, Secret) else passphrase
        if isinstance(raw, str):
            length = len(raw)  # characters, not UTF-8 bytes
            raw = raw.encode("utf-8")
        elif isinstance(raw, bytes):
            length = len(raw)
        else:
            raise InvalidInputError("passphrase must be str or bytes")
        if not raw:
            raise InvalidInputError("passphrase must not be empty")
        if not isinstance(profile, Argon2Profile):
            raise InvalidInputError("profile must be an Argon2Profile")
        self._passphrase: Secret[bytes] = Secret(raw)
        self._profile = profile
        self._length = length
        self._allow_weak = allow_weak is True

    def _kek(self, salt: bytes, t: int, m: int, p: int) -> bytes:
        return hash_secret_raw(self._passphrase.reveal(), salt, time_cost=t, memory_cost=m,
                               parallelism=p, hash_len=32, type=Type.ID)

    def wrap_key(self, dek: bytes) -> dict[str, str]:
        """Derive a key-encryption key with a fresh salt and seal ``dek`` under it.

        Refuses a passphrase shorter than :data:`MIN_PASSPHRASE_LENGTH` characters
        unless the provider was made with ``allow_weak=True`` (a file sealed under a
        short passphrase falls to guessing, Argon2id or not). Loading never refuses:
        an old file under a short passphrase still opens, to be saved under a longer one.
        """
        if self._length < MIN_PASSPHRASE_LENGTH and not self._allow_weak:
            raise WeakPassphraseError(
                f"passphrase has {self._length} characters; a keyring is sealed under at "
                f"least {MIN_PASSPHRASE_LENGTH} (pass allow_weak=True to "
                "PassphraseProvider to override, e.g. in tests)")
        prof = self._profile
        salt = os.urandom(16)
        kek = self._kek(salt, prof.time_cost, prof.memory_cost, prof.parallelism)
        nonce, wrapped = _wrap(kek, dek, b"finprivacy.keyring.dek\x00passphrase")
        return {"kdf": "argon2id", "version": "19", "salt": _b64(salt),
                "time_cost": str(prof.time_cost), "memory_cost": str(prof.memory_cost),
                "parallelism": str(prof.parallelism), "nonce": nonce, "wrapped_dek": wrapped}

    def unwrap_key(self, params: Mapping[str, str]) -> bytes:
        """Re-derive the key-encryption key from the stored parameters and unseal the DEK."""
        if params.get("kdf") != "argon2id" or params.get("version") != "19":
            raise KeyProviderError("passphrase provider: unsupported key derivation function")
        try:
            t = int(params["time_cost"])
            m = int(params["memory_cost"])
            p = int(params["parallelism"])
        except (KeyError, ValueError, TypeError):
            raise KeyProviderError("passphrase provider: missing Argon2 parameters") from None
        if not (1 <= t <= _MAX_TIME and 1 <= p <= _MAX_PARALLELISM
                and 8 * p <= m <= _MAX_MEMORY):
            raise KeyProviderError(
                "passphrase provider: the file asks for Argon2 parameters beyond the "
                f"caps (time cost <= {_MAX_TIME}, memory <= {_MAX_MEMORY} KiB, "
                f"parallelism <= {_MAX_PARALLELISM}); refused before any work")
        salt = _unb64(params.get("salt", ""), "salt", self.kind)
        if len(salt) < 8:
            raise KeyProviderError("passphrase provider: salt too short")
        kek = self._kek(salt, t, m, p)
        return _unwrap(kek, params, b"finprivacy.keyring.dek\x00passphrase", self.kind,
                       "wrong passphrase or corrupted file")

    def __repr__(self) -> str:
        return f"PassphraseProvider(passphrase=***, profile={self._profile.name!r})"

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("key providers hold secrets and cannot be pickled")


class EnvironmentProvider:
    """Wrap the keyring file's DEK under a key-encryption key held in an environment variable.

    The variable holds 32 random bytes in standard base64 (make one with
    :meth:`generate_kek`). It is read when a key is wrapped or unwrapped, never at
    construction or import. Suits containers whose orchestrator injects secrets as
    environment variables; the keyring file itself can live in the image or a volume.
    """

    kind: str = "environment"
    __slots__ = ("_var",)

    def __init__(self, var_name: str = "FINPRIVACY_KEK") -> None:
        if not var_name or "=" in str(var_name):
            raise InvalidInputError("var_name must be a non-empty environment variable name")
        self._var = var_name

    @property
    def var_name(self) -> str:
        """The name of the environment variable holding the key-encryption key."""
        return self._var

    @staticmethod
    def generate_kek() -> str:
        """Return a fresh random key-encryption key as base64, to store in the variable."""
        return _b64(os.urandom(32))

    def _kek(self) -> bytes:
        value = os.environ.get(self._var)
        if not value:
            raise KeyProviderError(f"environment variable {self._var} is not set or empty")
        try:
            kek = base64.b64decode(value.strip().encode("ascii"), validate=True)
        except (binascii.Error, UnicodeError):
            raise KeyProviderError(
                f"environment variable {self._var} does not hold base64") from None
        if len(kek) != 32:
            raise KeyProviderError(
                f"environment variable {self._var} must hold 32 bytes in base64")
        return kek

    def _aad(self) -> bytes:
        return b"finprivacy.keyring.dek\x00environment"

    def wrap_key(self, dek: bytes) -> dict[str, str]:
        """Seal ``dek`` under the key-encryption key read from the variable now."""
        nonce, wrapped = _wrap(self._kek(), dek, self._aad())
        return {"var": self._var, "nonce": nonce, "wrapped_dek": wrapped}

    def unwrap_key(self, params: Mapping[str, str]) -> bytes:
        """Unseal the DEK with the key-encryption key read from the variable now."""
        return _unwrap(self._kek(), params, self._aad(), self.kind,
                       f"wrong key in {self._var} or corrupted file")

    def __repr__(self) -> str:
        return f"EnvironmentProvider({self._var!r})"
