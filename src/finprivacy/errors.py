"""The finprivacy error tree.

Every exception finprivacy raises derives from :class:`FinPrivacyError`, which is
never raised directly. Messages name keys, ids, fields and files; they never
contain a plaintext, a key, a passphrase or any other secret value::

    FinPrivacyError
    ├── ConfigurationError                 (also ValueError)
    ├── InvalidInputError                  (also ValueError)
    │   ├── InvalidIdentifierError         (``kind`` names the identifier)
    │   │   ├── InvalidLengthError
    │   │   ├── InvalidFormatError
    │   │   ├── InvalidChecksumError
    │   │   └── InvalidComponentError      (region, birth date, country, issuer)
    │   ├── InvalidTimeError
    │   ├── WeakPassphraseError            (a keyring sealed under a short passphrase)
    │   └── FormatError
    ├── CryptoError
    │   ├── DecryptionError
    │   │   └── SubjectErasedError
    │   ├── KeyStateError
    │   │   └── KeyUnavailableError     (also DecryptionError: retired or destroyed key)
    │   ├── KeyringError
    │   ├── KeyProviderError
    │   └── VerificationError               (hash or signature mismatch)
    ├── StoreError
    │   ├── SchemaError
    │   ├── ConflictError
    │   └── NotFoundError                   (also LookupError)
    ├── PolicyError
    │   ├── ConsentRequiredError           (also PermissionError)
    │   ├── AccessDeniedError              (also PermissionError)
    │   ├── RetentionError
    │   │   └── LegalHoldError
    │   └── RequestStateError              (a data-subject request step out of order)
    └── AuditIntegrityError
        └── ConsentIntegrityError       (a consent event chain failed)

Input errors also subclass :class:`ValueError` and permission errors
:class:`PermissionError`, so code that already catches those keeps working.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AuditIntegrityError",
    "ConfigurationError",
    "ConflictError",
    "ConsentIntegrityError",
    "ConsentRequiredError",
    "CryptoError",
    "DecryptionError",
    "FinPrivacyError",
    "FormatError",
    "InvalidChecksumError",
    "InvalidComponentError",
    "InvalidFormatError",
    "InvalidIdentifierError",
    "InvalidInputError",
    "InvalidLengthError",
    "InvalidTimeError",
    "KeyProviderError",
    "KeyStateError",
    "KeyUnavailableError",
    "KeyringError",
    "LegalHoldError",
    "NotFoundError",
    "PolicyError",
    "RequestStateError",
    "RetentionError",
    "SchemaError",
    "StoreError",
    "SubjectErasedError",
    "VerificationError",
    "WeakPassphraseError",
]


class FinPrivacyError(Exception):
    """Root of every error raised by finprivacy. Never raised directly."""


class ConfigurationError(FinPrivacyError, ValueError):
    """The library was set up wrongly: a missing keyring, an unknown store URL, a bad preset."""


class InvalidInputError(FinPrivacyError, ValueError):
    """An argument is malformed. The message names the argument, never its value."""


class InvalidIdentifierError(InvalidInputError):
    """An identifier (ID number, card number, IBAN …) failed validation.

    Subclasses say which check failed; the message never echoes the input.
    """

    def __init__(self, message: str, *, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind


class InvalidLengthError(InvalidIdentifierError):
    """The identifier has the wrong number of characters."""


class InvalidFormatError(InvalidIdentifierError):
    """The identifier contains characters or a structure its format does not allow."""


class InvalidChecksumError(InvalidIdentifierError):
    """The identifier's check digit or check characters do not match."""


class InvalidComponentError(InvalidIdentifierError):
    """A part of the identifier is impossible: region, birth date, country, issuer, area."""


class InvalidTimeError(InvalidInputError):
    """A datetime is naive, a time zone is unknown, or a period is reversed."""


class WeakPassphraseError(InvalidInputError):
    """A keyring was to be sealed under a passphrase shorter than the minimum."""


class FormatError(InvalidInputError):
    """A serialised object (receipt, policy file, export) does not have the expected shape."""


class CryptoError(FinPrivacyError):
    """Base of the cryptographic errors."""


class DecryptionError(CryptoError):
    """A token could not be decrypted.

    Raised for every way a token can be bad: not a token, unknown version, unknown
    key id, wrong context, truncated, extended or tampered. Deliberately opaque.
    """


class SubjectErasedError(DecryptionError):
    """The data subject's key was shredded: the value is gone for good."""


class KeyStateError(CryptoError):
    """A key exists but its status forbids the operation (retired, destroyed, decrypt-only)."""


class KeyUnavailableError(KeyStateError, DecryptionError):
    """A token names a key that is retired or destroyed, so it cannot be decrypted.

    Also a :class:`DecryptionError`, so code that handles every unreadable token in one
    place keeps doing so. ``key_id`` and ``status`` say which key and why; the message
    says what to do.
    """

    def __init__(self, message: str, *, key_id: str = "", status: str = "") -> None:
        super().__init__(message)
        self.key_id = key_id
        self.status = status


class KeyringError(CryptoError):
    """A keyring could not be loaded or saved: wrong passphrase, corrupt or truncated file."""


class KeyProviderError(CryptoError):
    """A key provider (environment, KMS, HSM) failed or refused to unwrap a key."""


class VerificationError(CryptoError):
    """A hash or signature did not match (a wrong PIN, a bad checkpoint signature)."""


class StoreError(FinPrivacyError):
    """A store failed: connection, schema or constraint problems."""


class SchemaError(StoreError):
    """A store's schema is newer than this library, or a migration failed."""


class ConflictError(StoreError):
    """A write conflicts with what is already stored (a duplicate id, a concurrent change)."""


class NotFoundError(StoreError, LookupError):
    """A requested object (subject, key, hold, notice) does not exist."""


class PolicyError(FinPrivacyError):
    """Base of the errors raised when a privacy policy forbids an operation."""


class ConsentRequiredError(PolicyError, PermissionError):
    """The data subject has not given (or has withdrawn) consent for the purpose.

    ``reason`` says why: never given, withdrawn, expired, notice changed, separate
    consent missing or guardian needed.
    """

    def __init__(self, message: str, *, subject: str = "", purpose: str = "",
                 reason: str = "") -> None:
        super().__init__(message)
        self.subject = subject
        self.purpose = purpose
        self.reason = reason


class AccessDeniedError(PolicyError, PermissionError):
    """The current principal may not perform the operation. ``reason`` says why."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class RequestStateError(PolicyError):
    """A data-subject request is not in a state that allows the step.

    For example completing a request whose requester's identity was never verified,
    or extending a deadline twice.
    """


class RetentionError(PolicyError):
    """A retention rule or schedule is invalid, or forbids the operation."""


class LegalHoldError(RetentionError):
    """A legal hold forbids disposing of the record."""


class AuditIntegrityError(FinPrivacyError):
    """The audit log failed verification. ``position`` is the first bad sequence number."""

    def __init__(self, message: str, *, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class ConsentIntegrityError(AuditIntegrityError):
    """A data subject's consent event chain failed verification.

    ``position`` is the sequence number (1-based, per subject) of the first event
    whose stored hash, link or numbering does not match; ``subject`` names the chain.
    """

    def __init__(self, message: str, *, position: int | None = None,
                 subject: str = "") -> None:
        super().__init__(message, position=position)
        self.subject = subject
