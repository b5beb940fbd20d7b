"""finprivacy: privacy primitives for finance and bookkeeping software.

Everyday names are re-exported here; implementation lives in private modules.
``import finprivacy`` does no I/O, reads no environment variable and loads no key.
"""

from __future__ import annotations

from . import storage as storage
from ._pydantic_hashed import Hashed as Hashed
from .audit.events import AuditEvent as AuditEvent
from .audit.events import AuditSink as AuditSink
from .clock import Clock as Clock
from .clock import FixedClock as FixedClock
from .clock import SystemClock as SystemClock
from .crypto import FF1 as FF1
from .crypto import BlindIndex as BlindIndex
from .crypto import CardTokenizer as CardTokenizer
from .crypto import CompoundBlindIndex as CompoundBlindIndex
from .crypto import DeterministicCipher as DeterministicCipher
from .crypto import EnvironmentProvider as EnvironmentProvider
from .crypto import KeyProvider as KeyProvider
from .crypto import Keyring as Keyring
from .crypto import PassphraseProvider as PassphraseProvider
from .crypto import SecretHasher as SecretHasher
from .crypto import plan_blind_index as plan_blind_index
from .crypto import use_keyring as use_keyring
from .errors import AccessDeniedError as AccessDeniedError
from .errors import AuditIntegrityError as AuditIntegrityError
from .errors import ConfigurationError as ConfigurationError
from .errors import ConflictError as ConflictError
from .errors import ConsentIntegrityError as ConsentIntegrityError
from .errors import ConsentRequiredError as ConsentRequiredError
from .errors import CryptoError as CryptoError
from .errors import DecryptionError as DecryptionError
from .errors import FinPrivacyError as FinPrivacyError
from .errors import FormatError as FormatError
from .errors import InvalidIdentifierError as InvalidIdentifierError
from .errors import InvalidInputError as InvalidInputError
from .errors import InvalidTimeError as InvalidTimeError
from .errors import KeyProviderError as KeyProviderError
from .errors import KeyringError as KeyringError
from .errors import KeyStateError as KeyStateError
from .errors import LegalHoldError as LegalHoldError
from .errors import NotFoundError as NotFoundError
from .errors import PolicyError as PolicyError
from .errors import RetentionError as RetentionError
from .errors import SchemaError as SchemaError
from .errors import StoreError as StoreError
from .errors import SubjectErasedError as SubjectErasedError
from .errors import VerificationError as VerificationError
from .masking import Finding as Finding
from .masking import mask as mask
from .masking import mask_field as mask_field
from .masking import redact as redact
from .masking import redact_json as redact_json
from .masking import scan as scan
from .pydantic import Encrypted as Encrypted
from .pydantic import needs_resave as needs_resave
from .secret import Secret as Secret

__version__ = "0.1.0.dev0"

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "AccessDeniedError",
    "AuditEvent",
    "AuditIntegrityError",
    "AuditSink",
    "BlindIndex",
    "CardTokenizer",
    "Clock",
    "CompoundBlindIndex",
    "ConfigurationError",
    "ConflictError",
    "ConsentIntegrityError",
    "ConsentRequiredError",
    "CryptoError",
    "DecryptionError",
    "DeterministicCipher",
    "Encrypted",
    "EnvironmentProvider",
    "FF1",
    "FinPrivacyError",
    "Finding",
    "FixedClock",
    "FormatError",
    "Hashed",
    "InvalidIdentifierError",
    "InvalidInputError",
    "InvalidTimeError",
    "KeyProvider",
    "KeyProviderError",
    "KeyStateError",
    "Keyring",
    "KeyringError",
    "LegalHoldError",
    "NotFoundError",
    "PassphraseProvider",
    "PolicyError",
    "RetentionError",
    "SchemaError",
    "Secret",
    "SecretHasher",
    "StoreError",
    "SubjectErasedError",
    "SystemClock",
    "VerificationError",
    "mask",
    "mask_field",
    "needs_resave",
    "plan_blind_index",
    "redact",
    "redact_json",
    "scan",
    "storage",
    "use_keyring",
]
