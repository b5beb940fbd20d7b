"""The AEAD seam: AES-GCM (NIST SP 800-38D) from ``cryptography``, one opaque error.

This is the dangerous layer below the keyring. It takes the nonce explicitly so
vector tests (Wycheproof) and fixed-token tests are deterministic; production code
reaches it only through :class:`~finprivacy.crypto.Keyring`, which draws every nonce
from the operating system's CSPRNG.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import DecryptionError

__all__ = ["NONCE_SIZE", "TAG_SIZE", "Aead"]

#: 96-bit nonces, the size SP 800-38D §8.2 recommends.
NONCE_SIZE = 12
#: 128-bit tags.
TAG_SIZE = 16

_FAILED = "token failed authentication"


class Aead:
    """AES-GCM with a fixed key; the object is cached per key by the keyring."""

    __slots__ = ("_gcm", "open_raw", "seal")

    def __init__(self, key: bytes) -> None:
        self._gcm = AESGCM(key)
        # ``seal(nonce, plaintext, aad) -> ciphertext ‖ tag``: the bound AESGCM method
        # itself, so the keyring's hot path pays for no wrapper.
        self.seal: Callable[[bytes, bytes, bytes], bytes] = self._gcm.encrypt
        # ``open_raw``: the bound AESGCM.decrypt, raising cryptography's InvalidTag.
        # The keyring calls it on its hot path and maps the failure itself, after
        # checking the nonce size (AESGCM also takes 8-11 byte nonces).
        self.open_raw: Callable[[bytes, bytes, bytes], bytes] = self._gcm.decrypt

    def open(self, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
        """Return the plaintext of ``ciphertext ‖ tag``; :class:`DecryptionError` if forged."""
        if len(nonce) != NONCE_SIZE:
            raise DecryptionError(_FAILED)
        try:
            return self._gcm.decrypt(nonce, sealed, aad)
        except (InvalidTag, ValueError, OverflowError):
            raise DecryptionError(_FAILED) from None

    def __repr__(self) -> str:
        return "Aead(AES-GCM, key hidden)"

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("AEAD objects hold key material and cannot be pickled")
