"""AWS KMS as the key provider of a keyring file (extra ``aws``: ``pip install finprivacy[aws]``).

The keyring file's data-encryption key (DEK) is encrypted by a KMS key that never leaves
AWS (``kms:Encrypt`` on save, ``kms:Decrypt`` on load), bound to an *encryption context*
(AWS KMS Developer Guide, "Encryption context") that KMS authenticates and logs in
CloudTrail. The application server then holds no long-term key at all: revoking its IAM
permission, or disabling the KMS key, stops it from opening the keyring.

KMS is called once per :meth:`Keyring.load <finprivacy.crypto.Keyring.load>`
(``kms:Decrypt``) and once per save (``kms:Encrypt``), never per field: the keyring keeps
the unwrapped keys in memory. The IAM policy needs ``kms:Encrypt`` and ``kms:Decrypt`` on
the key (and ``kms:DescribeKey`` with ``check_key_state=True``).
Every KMS failure becomes a :class:`~finprivacy.errors.KeyProviderError` that names the
KMS key and what went wrong (not found, disabled, pending deletion, access denied,
wrong key, wrong context), never the DEK.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Mapping
from typing import Any, Final, NoReturn, cast

from ..errors import ConfigurationError, InvalidInputError, KeyProviderError

__all__ = ["AwsKmsProvider"]

_DEFAULT_CONTEXT: Final = {"finprivacy": "keyring-dek"}
_HINTS: Final = {
    "NotFoundException": "the KMS key does not exist",
    "DisabledException": "the KMS key is disabled",
    "KMSInvalidStateException": "the KMS key is not usable (pending deletion or import)",
    "AccessDeniedException": "access to the KMS key is denied (IAM or key policy)",
    "IncorrectKeyException": "the keyring was wrapped with another KMS key",
    "InvalidCiphertextException": "the wrapped key or the encryption context does not match",
    "InvalidKeyUsageException": "the KMS key is not a symmetric encryption key",
    "KeyUnavailableException": "the KMS key is temporarily unavailable",
    "DependencyTimeoutException": "AWS KMS timed out",
    "KMSInternalException": "AWS KMS had an internal error",
    "UnrecognizedClientException": "the AWS credentials are not valid",
    "InvalidSignatureException": "the AWS credentials are not valid",
}


class AwsKmsProvider:
    """Wrap a keyring file's DEK with an AWS KMS symmetric key.

    ``key_id`` is a key id, key ARN, alias name (``alias/finprivacy``) or alias ARN.
    ``encryption_context`` adds pairs to the default ``{"finprivacy": "keyring-dek"}``;
    the same context must be given when loading. ``region`` and ``endpoint_url`` are
    passed to boto3 (``endpoint_url`` for a VPC endpoint or a test server); or pass a
    ready boto3 KMS ``client``. No client is created, and no call made, until the first
    wrap or unwrap. With ``check_key_state=True`` every wrap and unwrap first asks
    ``DescribeKey`` and reports a disabled key or one pending deletion by its state, also
    against KMS emulators that do not enforce key states on ``Decrypt``.

    >>> # kr.save("keys.json", provider=fp.AwsKmsProvider("alias/finprivacy",
    >>> #                                                 region="ap-east-1"))
    >>> # kr = fp.Keyring.load("keys.json", provider=fp.AwsKmsProvider(...))
    """

    kind: str = "aws-kms"
    __slots__ = ("_check_state", "_client", "_context", "_endpoint_url", "_key_id", "_lock",
                 "_region")

    def __init__(self, key_id: str, *, region: str | None = None,
                 endpoint_url: str | None = None,
                 encryption_context: Mapping[str, str] | None = None,
                 client: Any = None, check_key_state: bool = False) -> None:
        if not isinstance(cast(object, key_id), str) or not key_id.strip():
            raise InvalidInputError("key_id must name a KMS key (id, ARN or alias)")
        context = dict(_DEFAULT_CONTEXT)
        if encryption_context is not None:
            pairs: list[tuple[object, object]] = list(encryption_context.items())
            if not all(isinstance(k, str) and isinstance(v, str) for k, v in pairs):
                raise InvalidInputError("encryption_context must map str to str")
            context.update(encryption_context)
        self._key_id = key_id.strip()
        self._region = region
        self._endpoint_url = endpoint_url
        self._context = context
        self._client = client
        self._check_state = bool(check_key_state)
        self._lock = threading.Lock()

    @property
    def key_id(self) -> str:
        """The KMS key this provider wraps with."""
        return self._key_id

    @property
    def encryption_context(self) -> dict[str, str]:
        """The encryption context sent with every KMS call (not secret; logged by AWS)."""
        return dict(self._context)

    def __repr__(self) -> str:
        return f"AwsKmsProvider({self._key_id!r}, region={self._region!r})"

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("key providers cannot be pickled")

    def _kms(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    import boto3
                except ImportError:  # pragma: no cover - depends on the environment
                    raise ConfigurationError(
                        "AwsKmsProvider needs boto3: pip install 'finprivacy[aws]'"
                    ) from None
                try:
                    self._client = boto3.client("kms", region_name=self._region,
                                                endpoint_url=self._endpoint_url)
                except Exception as exc:
                    raise KeyProviderError(
                        f"aws-kms provider: cannot create a KMS client: {type(exc).__name__}"
                    ) from None
            return self._client

    def _fail(self, operation: str, exc: BaseException) -> KeyProviderError:
        code = ""
        response = getattr(exc, "response", None)
        if isinstance(response, dict):
            code = str(response.get("Error", {}).get("Code", ""))
        what = _HINTS.get(code) or (code or type(exc).__name__)
        return KeyProviderError(
            f"aws-kms provider: {operation} with KMS key {self._key_id!r} failed: {what}"
            + (f" ({code})" if code and code in _HINTS else "")
        )

    def _ensure_enabled(self, client: Any) -> None:
        if not self._check_state:
            return
        try:
            meta = client.describe_key(KeyId=self._key_id)["KeyMetadata"]
        except Exception as exc:
            raise self._fail("DescribeKey", exc) from None
        state = str(meta.get("KeyState", ""))
        if state == "Disabled":
            raise KeyProviderError(
                f"aws-kms provider: KMS key {self._key_id!r} is disabled (KeyState Disabled)"
            )
        if state and state != "Enabled":
            raise KeyProviderError(
                f"aws-kms provider: KMS key {self._key_id!r} is not usable (KeyState {state})"
            )

    def wrap_key(self, dek: bytes) -> dict[str, str]:
        """Encrypt ``dek`` with the KMS key (one ``kms:Encrypt`` call)."""
        if not isinstance(cast(object, dek), bytes) or not dek:
            raise InvalidInputError("dek must be non-empty bytes")
        client = self._kms()
        self._ensure_enabled(client)
        try:
            resp = client.encrypt(KeyId=self._key_id, Plaintext=dek,
                                  EncryptionContext=self._context)
        except Exception as exc:
            raise self._fail("Encrypt", exc) from None
        return {
            "key_id": self._key_id,
            "key_arn": str(resp.get("KeyId", "")),
            "wrapped_dek": base64.b64encode(resp["CiphertextBlob"]).decode("ascii"),
            "encryption_context": json.dumps(self._context, sort_keys=True),
        }

    def unwrap_key(self, params: Mapping[str, str]) -> bytes:
        """Decrypt the DEK with the KMS key (one ``kms:Decrypt`` call).

        The configured key id and encryption context are sent, so KMS refuses a file
        wrapped by another key or under another context.
        """
        try:
            blob = base64.b64decode(params["wrapped_dek"].encode("ascii"), validate=True)
        except (KeyError, AttributeError, binascii.Error, UnicodeError):
            raise KeyProviderError("aws-kms provider: the wrapped key is missing or "
                                   "not base64") from None
        client = self._kms()
        self._ensure_enabled(client)
        try:
            resp = client.decrypt(CiphertextBlob=blob, KeyId=self._key_id,
                                  EncryptionContext=self._context)
        except Exception as exc:
            raise self._fail("Decrypt", exc) from None
        plaintext = resp.get("Plaintext")
        if not isinstance(plaintext, bytes) or len(plaintext) != 32:
            raise KeyProviderError("aws-kms provider: KMS returned a key of the wrong size")
        return plaintext
