"""A PKCS#11 HSM as the key provider of a keyring file (extra ``hsm``: python-pkcs11).

The keyring file's data-encryption key (DEK) is sealed with AES-256-GCM (CKM_AES_GCM,
PKCS#11 v2.40 §2.10) *inside* the HSM by a secret key that is generated on the token as
sensitive and non-extractable, so it never exists outside the device. The application
server keeps only the token label, the key label and the user PIN.

The HSM is used once per :meth:`Keyring.load <finprivacy.crypto.Keyring.load>` (one
session: log in, one ``C_Decrypt``, log out) and once per save, never per field.
Every failure becomes a :class:`~finprivacy.errors.KeyProviderError` that names the
library, token or key and what went wrong (library missing, token missing, wrong or
locked PIN, key missing), never the PIN or a key.

Tested against SoftHSM2 (``/usr/lib/softhsm/libsofthsm2.so``); any PKCS#11 v2.40 module
with AES-GCM works (Thales Luna, Utimaco, AWS CloudHSM, YubiHSM 2 with its PKCS#11
module).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, NoReturn, cast

from ..errors import ConfigurationError, InvalidInputError, KeyProviderError
from ..secret import Secret

__all__ = ["Pkcs11Provider"]

SOFTHSM2_LIBRARY: Final = "/usr/lib/softhsm/libsofthsm2.so"
_AAD_PREFIX: Final = b"finprivacy.keyring.dek\x00pkcs11\x00"


def _pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigurationError(
            "Pkcs11Provider needs python-pkcs11: pip install 'finprivacy[hsm]'"
        ) from None
    return pkcs11


class Pkcs11Provider:
    """Wrap a keyring file's DEK with an AES key held in a PKCS#11 token (an HSM).

    ``library`` is the path of the vendor's PKCS#11 module; ``token_label`` and
    ``key_label`` name the token and the AES key on it (create the key once with
    :meth:`create_key`); ``pin`` is the user PIN (read it from a secret store, never
    from the command line).

    >>> # provider = fp.Pkcs11Provider(library="/usr/lib/softhsm/libsofthsm2.so",
    >>> #                              token_label="finprivacy", key_label="keyring-kek",
    >>> #                              pin=fp.Secret(os.environ["HSM_PIN"]))
    >>> # kr = fp.Keyring.load("keys.json", provider=provider)
    """

    kind: str = "pkcs11"
    __slots__ = ("_key_label", "_library", "_pin", "_token_label")

    def __init__(self, *, library: str, token_label: str, key_label: str,
                 pin: str | Secret[str]) -> None:
        for name, value in (("library", library), ("token_label", token_label),
                            ("key_label", key_label)):
            if not isinstance(cast(object, value), str) or not value:
                raise InvalidInputError(f"{name} must be a non-empty str")
        raw = pin.reveal() if isinstance(pin, Secret) else pin
        if not isinstance(cast(object, raw), str) or not raw:
            raise InvalidInputError("pin must be a non-empty str")
        self._library = library
        self._token_label = token_label
        self._key_label = key_label
        self._pin: Secret[str] = Secret(raw)

    @property
    def token_label(self) -> str:
        """The label of the token holding the key."""
        return self._token_label

    @property
    def key_label(self) -> str:
        """The label of the AES key on the token."""
        return self._key_label

    def __repr__(self) -> str:
        return (f"Pkcs11Provider(token_label={self._token_label!r}, "
                f"key_label={self._key_label!r}, pin=***)")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("key providers hold secrets and cannot be pickled")

    # -- sessions -----------------------------------------------------------------------
    def _where(self) -> str:
        return f"token {self._token_label!r}"

    @contextmanager
    def _session(self, *, rw: bool = False) -> Iterator[Any]:
        pk = _pkcs11()
        exc_mod = pk.exceptions
        if not os.path.exists(self._library):
            raise KeyProviderError(f"pkcs11 provider: no PKCS#11 library at {self._library}")
        try:
            lib = pk.lib(self._library)
        except Exception as exc:
            raise KeyProviderError(
                f"pkcs11 provider: cannot load the PKCS#11 library {self._library}: "
                f"{type(exc).__name__}"
            ) from None
        try:
            token = lib.get_token(token_label=self._token_label)
        except exc_mod.NoSuchToken:
            raise KeyProviderError(
                f"pkcs11 provider: {self._where()} is not present (not found in any slot)"
            ) from None
        except exc_mod.MultipleTokensReturned:
            raise KeyProviderError(
                f"pkcs11 provider: more than one token is labelled {self._token_label!r}"
            ) from None
        except exc_mod.PKCS11Error as exc:
            raise KeyProviderError(
                f"pkcs11 provider: cannot reach {self._where()}: {type(exc).__name__}"
            ) from None
        try:
            session = token.open(user_pin=self._pin.reveal(), rw=rw)
        except exc_mod.PinIncorrect:
            raise KeyProviderError(
                f"pkcs11 provider: {self._where()} refused the PIN (incorrect)"
            ) from None
        except (exc_mod.PinLocked, exc_mod.PinExpired, exc_mod.UserPinNotInitialized) as exc:
            raise KeyProviderError(
                f"pkcs11 provider: {self._where()} is locked ({type(exc).__name__})"
            ) from None
        except exc_mod.PKCS11Error as exc:
            raise KeyProviderError(
                f"pkcs11 provider: cannot log in to {self._where()}: {type(exc).__name__}"
            ) from None
        try:
            yield session
        finally:
            with contextlib.suppress(Exception):  # closing must not hide the outcome
                session.close()

    def _key(self, session: Any) -> Any:
        pk = _pkcs11()
        try:
            return session.get_key(label=self._key_label, key_type=pk.KeyType.AES,
                                   object_class=pk.ObjectClass.SECRET_KEY)
        except pk.exceptions.NoSuchKey:
            raise KeyProviderError(
                f"pkcs11 provider: {self._where()} has no AES key {self._key_label!r}"
            ) from None
        except pk.exceptions.MultipleObjectsReturned:
            raise KeyProviderError(
                f"pkcs11 provider: {self._where()} has several keys {self._key_label!r}"
            ) from None

    def _params(self, nonce: bytes) -> Any:
        from pkcs11.mechanisms import GCMParams

        return GCMParams(nonce, _AAD_PREFIX + self._key_label.encode("utf-8"), 128)

    # -- KeyProvider --------------------------------------------------------------------
    def wrap_key(self, dek: bytes) -> dict[str, str]:
        """Seal ``dek`` with AES-GCM inside the HSM (one session, one ``C_Encrypt``)."""
        if not isinstance(cast(object, dek), bytes) or not dek:
            raise InvalidInputError("dek must be non-empty bytes")
        pk = _pkcs11()
        nonce = os.urandom(12)
        with self._session() as session:
            key = self._key(session)
            try:
                sealed = key.encrypt(dek, mechanism=pk.Mechanism.AES_GCM,
                                     mechanism_param=self._params(nonce))
            except pk.exceptions.PKCS11Error as exc:
                raise KeyProviderError(
                    f"pkcs11 provider: key {self._key_label!r} on {self._where()} cannot "
                    f"encrypt with AES-GCM: {type(exc).__name__}"
                ) from None
        return {"token_label": self._token_label, "key_label": self._key_label,
                "mechanism": "CKM_AES_GCM",
                "nonce": base64.b64encode(nonce).decode("ascii"),
                "wrapped_dek": base64.b64encode(bytes(sealed)).decode("ascii")}

    def unwrap_key(self, params: Mapping[str, str]) -> bytes:
        """Unseal the DEK inside the HSM (one session, one ``C_Decrypt``)."""
        if params.get("mechanism") != "CKM_AES_GCM":
            raise KeyProviderError("pkcs11 provider: unsupported wrapping mechanism")
        if params.get("key_label") != self._key_label:
            raise KeyProviderError(
                f"pkcs11 provider: the keyring was wrapped with key "
                f"{params.get('key_label')!r}, this provider uses {self._key_label!r}"
            )
        try:
            nonce = base64.b64decode(params["nonce"].encode("ascii"), validate=True)
            sealed = base64.b64decode(params["wrapped_dek"].encode("ascii"), validate=True)
        except (KeyError, AttributeError, binascii.Error, UnicodeError):
            raise KeyProviderError("pkcs11 provider: the wrapped key is missing or "
                                   "not base64") from None
        if len(nonce) != 12:
            raise KeyProviderError("pkcs11 provider: bad nonce")
        pk = _pkcs11()
        with self._session() as session:
            key = self._key(session)
            try:
                dek = bytes(key.decrypt(sealed, mechanism=pk.Mechanism.AES_GCM,
                                        mechanism_param=self._params(nonce)))
            except pk.exceptions.PKCS11Error:
                raise KeyProviderError(
                    f"pkcs11 provider: key {self._key_label!r} on {self._where()} could not "
                    "unwrap the keyring key (another key, or a corrupted file)"
                ) from None
        if len(dek) != 32:
            raise KeyProviderError("pkcs11 provider: unwrapped key has the wrong size")
        return dek

    def create_key(self) -> None:
        """Generate the AES-256 key ``key_label`` on the token: sensitive, non-extractable.

        Run once when setting up the token. Refuses if a key with the label exists.
        """
        pk = _pkcs11()
        attr = pk.Attribute
        with self._session(rw=True) as session:
            try:
                self._key(session)
            except KeyProviderError:
                pass
            else:
                raise KeyProviderError(
                    f"pkcs11 provider: {self._where()} already has a key {self._key_label!r}"
                )
            try:
                session.generate_key(
                    pk.KeyType.AES, 256, label=self._key_label, store=True,
                    template={attr.SENSITIVE: True, attr.EXTRACTABLE: False,
                              attr.ENCRYPT: True, attr.DECRYPT: True,
                              attr.WRAP: False, attr.UNWRAP: False},
                )
            except pk.exceptions.PKCS11Error as exc:
                raise KeyProviderError(
                    f"pkcs11 provider: cannot create key {self._key_label!r} on "
                    f"{self._where()}: {type(exc).__name__}"
                ) from None
