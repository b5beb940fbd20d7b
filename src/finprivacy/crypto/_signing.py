"""Ed25519 signing for audit checkpoints (RFC 8032), composed from ``cryptography``.

:class:`Ed25519Signer` holds a private key and signs; :class:`Ed25519Verifier` holds
only the 32-byte public key and is what an auditor needs. A key id is the first eight
bytes of SHA-256 over the raw public key, in hex, so signatures name their key and a
verifier finds the right key by id, never by trying each one.

The private key never appears in a repr, refuses pickling and leaves the object only
through the explicit, greppable :meth:`Ed25519Signer.export_private_bytes`.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from ..errors import InvalidInputError, KeyringError, VerificationError

__all__ = ["Ed25519Signer", "Ed25519Verifier", "ed25519_key_id"]

_PUBLIC_LEN = 32
_PRIVATE_LEN = 32
_SIGNATURE_LEN = 64


def _raw(value: object, length: int) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == length


def ed25519_key_id(public_bytes: bytes) -> str:
    """Return the key id of a raw 32-byte Ed25519 public key: hex of SHA-256's first 8 bytes."""
    if not _raw(public_bytes, _PUBLIC_LEN):
        raise InvalidInputError("an Ed25519 public key is 32 raw bytes")
    return hashlib.sha256(bytes(public_bytes)).digest()[:8].hex()


class Ed25519Verifier:
    """Verifies Ed25519 signatures with a raw 32-byte public key (RFC 8032, section 5.1.7).

    >>> signer = Ed25519Signer.generate()
    >>> verifier = Ed25519Verifier(signer.public_key_bytes())
    >>> verifier.verify(signer.sign(b"checkpoint"), b"checkpoint")
    """

    __slots__ = ("_key", "_public", "key_id")

    def __init__(self, public_bytes: bytes) -> None:
        self.key_id: str = ed25519_key_id(public_bytes)
        """The key id (16 hex digits) that signatures made with the matching key carry."""
        self._public = bytes(public_bytes)
        try:
            self._key = Ed25519PublicKey.from_public_bytes(self._public)
        except ValueError:
            raise InvalidInputError("not a valid Ed25519 public key") from None

    def public_key_bytes(self) -> bytes:
        """Return the raw 32-byte public key."""
        return self._public

    def verify(self, signature: bytes, message: bytes) -> None:
        """Return if ``signature`` is a valid signature of ``message``; raise otherwise.

        Raises :class:`~finprivacy.errors.VerificationError` for a wrong, truncated or
        malformed signature. Never returns ``False``.
        """
        if not _raw(signature, _SIGNATURE_LEN):
            raise VerificationError(f"bad Ed25519 signature for key {self.key_id}")
        if not isinstance(message, bytes | bytearray):
            raise InvalidInputError("message must be bytes")
        try:
            self._key.verify(bytes(signature), bytes(message))
        except InvalidSignature:
            raise VerificationError(f"bad Ed25519 signature for key {self.key_id}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ed25519Verifier):
            return NotImplemented
        return hmac.compare_digest(self._public, other._public)

    def __hash__(self) -> int:
        return hash(self._public)

    def __repr__(self) -> str:
        return f"Ed25519Verifier(key_id={self.key_id!r})"


class Ed25519Signer:
    """Signs with an Ed25519 private key (create with :meth:`generate` or from raw bytes).

    The repr shows the key id only; pickling and copying are refused.
    """

    __slots__ = ("_key", "_verifier")

    def __init__(self, _key: Ed25519PrivateKey) -> None:
        if not isinstance(_key, Ed25519PrivateKey):
            raise InvalidInputError("use Ed25519Signer.generate() or from_private_bytes()")
        self._key = _key
        public = _key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._verifier = Ed25519Verifier(public)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        """Return a signer with a fresh key from the operating system's CSPRNG."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, private_bytes: bytes) -> Ed25519Signer:
        """Load a signer from the raw 32-byte private key (the RFC 8032 seed)."""
        if not _raw(private_bytes, _PRIVATE_LEN):
            raise KeyringError("an Ed25519 private key is 32 raw bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(bytes(private_bytes)))

    @property
    def key_id(self) -> str:
        """The key id (16 hex digits) carried by everything this key signs."""
        return self._verifier.key_id

    def public_key_bytes(self) -> bytes:
        """Return the raw 32-byte public key, safe to publish."""
        return self._verifier.public_key_bytes()

    def verifier(self) -> Ed25519Verifier:
        """Return the matching :class:`Ed25519Verifier`."""
        return self._verifier

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        if not isinstance(message, bytes | bytearray):
            raise InvalidInputError("message must be bytes")
        return self._key.sign(bytes(message))

    def export_private_bytes(self) -> bytes:
        """Return the raw 32-byte private key. Every call site is a place the key leaves."""
        return self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def __repr__(self) -> str:
        return f"Ed25519Signer(key_id={self.key_id!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("Ed25519Signer refuses to be pickled; use export_private_bytes()")

    def __copy__(self) -> NoReturn:
        raise TypeError("Ed25519Signer refuses to be copied")

    def __deepcopy__(self, memo: object) -> NoReturn:
        raise TypeError("Ed25519Signer refuses to be copied")
