"""finprivacy: privacy primitives for finance and bookkeeping software.

Everyday names are re-exported here; implementation lives in private modules.
``import finprivacy`` does no I/O, reads no environment variable and loads no key.
It loads only the error tree, the clocks and :class:`Secret`; every other name loads
its module the first time it is used (PEP 562), so a program that needs only the
keyring does not pay for the audit log, consent ledger or pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .clock import Clock as Clock
from .clock import FixedClock as FixedClock
from .clock import SystemClock as SystemClock
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
from .errors import InvalidChecksumError as InvalidChecksumError
from .errors import InvalidComponentError as InvalidComponentError
from .errors import InvalidFormatError as InvalidFormatError
from .errors import InvalidIdentifierError as InvalidIdentifierError
from .errors import InvalidInputError as InvalidInputError
from .errors import InvalidLengthError as InvalidLengthError
from .errors import InvalidTimeError as InvalidTimeError
from .errors import KeyProviderError as KeyProviderError
from .errors import KeyringError as KeyringError
from .errors import KeyStateError as KeyStateError
from .errors import KeyUnavailableError as KeyUnavailableError
from .errors import LegalHoldError as LegalHoldError
from .errors import NotFoundError as NotFoundError
from .errors import PolicyError as PolicyError
from .errors import RequestStateError as RequestStateError
from .errors import RetentionError as RetentionError
from .errors import SchemaError as SchemaError
from .errors import StoreError as StoreError
from .errors import SubjectErasedError as SubjectErasedError
from .errors import VerificationError as VerificationError
from .errors import WeakPassphraseError as WeakPassphraseError
from .secret import Secret as Secret

if TYPE_CHECKING:  # the lazily loaded names, for type checkers and IDEs
    from . import consent as consent
    from . import retention as retention
    from . import rights as rights
    from . import storage as storage
    from ._pydantic_hashed import Hashed as Hashed
    from .access import AccessControl as AccessControl
    from .access import Attestation as Attestation
    from .access import AttestationRequirement as AttestationRequirement
    from .access import DelegationGrant as DelegationGrant
    from .access import MemoryGrantStore as MemoryGrantStore
    from .access import Permission as Permission
    from .access import Policy as Policy
    from .access import Principal as Principal
    from .access import Purpose as Purpose
    from .access import Role as Role
    from .access import acting_as as acting_as
    from .access import break_glass as break_glass
    from .access import configure_access as configure_access
    from .access import current_principal as current_principal
    from .access import load_policy as load_policy
    from .access import minimize as minimize
    from .access import requires as requires
    from .access import set_access_control as set_access_control
    from .audit import AccessReview as AccessReview
    from .audit import Alert as Alert
    from .audit import AuditEntry as AuditEntry
    from .audit import AuditLog as AuditLog
    from .audit import AuditReceipt as AuditReceipt
    from .audit import BreakGlassRule as BreakGlassRule
    from .audit import BulkReadRule as BulkReadRule
    from .audit import Checkpoint as Checkpoint
    from .audit import ConsistencyProof as ConsistencyProof
    from .audit import DeniedBurstRule as DeniedBurstRule
    from .audit import IncidentScope as IncidentScope
    from .audit import InclusionProof as InclusionProof
    from .audit import Monitor as Monitor
    from .audit import OffHoursRule as OffHoursRule
    from .audit import verify_checkpoint as verify_checkpoint
    from .audit import verify_consistency as verify_consistency
    from .audit import verify_export as verify_export
    from .audit import verify_inclusion as verify_inclusion
    from .audit.events import AuditEvent as AuditEvent
    from .audit.events import AuditSink as AuditSink
    from .consent import Actor as Actor
    from .consent import ConsentEvent as ConsentEvent
    from .consent import ConsentLedger as ConsentLedger
    from .consent import ConsentReceipt as ConsentReceipt
    from .consent import ConsentStatus as ConsentStatus
    from .consent import Controller as Controller
    from .consent import Evidence as Evidence
    from .consent import NoticeVersion as NoticeVersion
    from .consent import Purpose as ConsentPurpose
    from .consent import parse_receipt as parse_receipt
    from .crypto import FF1 as FF1
    from .crypto import AwsKmsProvider as AwsKmsProvider
    from .crypto import BlindIndex as BlindIndex
    from .crypto import CardTokenizer as CardTokenizer
    from .crypto import CompoundBlindIndex as CompoundBlindIndex
    from .crypto import DeterministicCipher as DeterministicCipher
    from .crypto import Ed25519Signer as Ed25519Signer
    from .crypto import Ed25519Verifier as Ed25519Verifier
    from .crypto import EnvironmentProvider as EnvironmentProvider
    from .crypto import KeyProvider as KeyProvider
    from .crypto import Keyring as Keyring
    from .crypto import PassphraseProvider as PassphraseProvider
    from .crypto import Pkcs11Provider as Pkcs11Provider
    from .crypto import SecretHasher as SecretHasher
    from .crypto import SubjectKeys as SubjectKeys
    from .crypto import decrypt_file as decrypt_file
    from .crypto import encrypt_file as encrypt_file
    from .crypto import open_encrypted as open_encrypted
    from .crypto import plan_blind_index as plan_blind_index
    from .crypto import use_keyring as use_keyring
    from .discovery import discover as discover
    from .identifiers import Recognizer as Recognizer
    from .identifiers import register_recognizer as register_recognizer
    from .identifiers import unregister_recognizer as unregister_recognizer
    from .incidents import IncidentRegister as IncidentRegister
    from .inventory import DataField as DataField
    from .inventory import DataInventory as DataInventory
    from .inventory import load_inventory as load_inventory
    from .masking import Finding as Finding
    from .masking import mask as mask
    from .masking import mask_field as mask_field
    from .masking import redact as redact
    from .masking import redact_json as redact_json
    from .masking import scan as scan
    from .pydantic import Encrypted as Encrypted
    from .pydantic import needs_resave as needs_resave
    from .retention import LegalHold as LegalHold
    from .retention import RetentionRule as RetentionRule
    from .retention import RetentionSchedule as RetentionSchedule

__version__ = "0.1.0.dev0"

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "AccessControl",
    "AccessDeniedError",
    "AccessReview",
    "Actor",
    "Alert",
    "Attestation",
    "AttestationRequirement",
    "AuditEntry",
    "AuditEvent",
    "AuditIntegrityError",
    "AuditLog",
    "AuditReceipt",
    "AuditSink",
    "AwsKmsProvider",
    "BlindIndex",
    "BreakGlassRule",
    "BulkReadRule",
    "CardTokenizer",
    "Checkpoint",
    "Clock",
    "CompoundBlindIndex",
    "ConfigurationError",
    "ConflictError",
    "ConsentEvent",
    "ConsentIntegrityError",
    "ConsentLedger",
    "ConsentPurpose",
    "ConsentReceipt",
    "ConsentRequiredError",
    "ConsentStatus",
    "ConsistencyProof",
    "Controller",
    "CryptoError",
    "DataField",
    "DataInventory",
    "DecryptionError",
    "DelegationGrant",
    "DeniedBurstRule",
    "DeterministicCipher",
    "Ed25519Signer",
    "Ed25519Verifier",
    "Encrypted",
    "EnvironmentProvider",
    "Evidence",
    "FF1",
    "FinPrivacyError",
    "Finding",
    "FixedClock",
    "FormatError",
    "Hashed",
    "IncidentRegister",
    "IncidentScope",
    "InclusionProof",
    "InvalidChecksumError",
    "InvalidComponentError",
    "InvalidFormatError",
    "InvalidIdentifierError",
    "InvalidInputError",
    "InvalidLengthError",
    "InvalidTimeError",
    "KeyProvider",
    "KeyProviderError",
    "KeyStateError",
    "KeyUnavailableError",
    "Keyring",
    "KeyringError",
    "LegalHold",
    "LegalHoldError",
    "MemoryGrantStore",
    "Monitor",
    "NotFoundError",
    "NoticeVersion",
    "OffHoursRule",
    "PassphraseProvider",
    "Permission",
    "Pkcs11Provider",
    "Policy",
    "PolicyError",
    "Principal",
    "Purpose",
    "Recognizer",
    "RequestStateError",
    "RetentionError",
    "RetentionRule",
    "RetentionSchedule",
    "Role",
    "SchemaError",
    "Secret",
    "SecretHasher",
    "StoreError",
    "SubjectErasedError",
    "SubjectKeys",
    "SystemClock",
    "VerificationError",
    "WeakPassphraseError",
    "acting_as",
    "break_glass",
    "configure_access",
    "consent",
    "current_principal",
    "decrypt_file",
    "discover",
    "encrypt_file",
    "load_inventory",
    "load_policy",
    "mask",
    "mask_field",
    "minimize",
    "needs_resave",
    "open_encrypted",
    "parse_receipt",
    "plan_blind_index",
    "redact",
    "redact_json",
    "register_recognizer",
    "requires",
    "retention",
    "rights",
    "scan",
    "set_access_control",
    "storage",
    "unregister_recognizer",
    "use_keyring",
    "verify_checkpoint",
    "verify_consistency",
    "verify_export",
    "verify_inclusion",
]

# Where each lazily loaded name lives: public name -> (module, attribute). Kept equal to
# the TYPE_CHECKING imports above by tests/test_exports.py.
_LAZY: dict[str, tuple[str, str]] = {
    "consent": (".consent", ""),
    "retention": (".retention", ""),
    "rights": (".rights", ""),
    "storage": (".storage", ""),
    "Hashed": ("._pydantic_hashed", "Hashed"),
    "AccessControl": (".access", "AccessControl"),
    "Attestation": (".access", "Attestation"),
    "AttestationRequirement": (".access", "AttestationRequirement"),
    "DelegationGrant": (".access", "DelegationGrant"),
    "MemoryGrantStore": (".access", "MemoryGrantStore"),
    "Permission": (".access", "Permission"),
    "Policy": (".access", "Policy"),
    "Principal": (".access", "Principal"),
    "Purpose": (".access", "Purpose"),
    "Role": (".access", "Role"),
    "acting_as": (".access", "acting_as"),
    "break_glass": (".access", "break_glass"),
    "configure_access": (".access", "configure_access"),
    "current_principal": (".access", "current_principal"),
    "load_policy": (".access", "load_policy"),
    "minimize": (".access", "minimize"),
    "requires": (".access", "requires"),
    "set_access_control": (".access", "set_access_control"),
    "AccessReview": (".audit", "AccessReview"),
    "Alert": (".audit", "Alert"),
    "AuditEntry": (".audit", "AuditEntry"),
    "AuditLog": (".audit", "AuditLog"),
    "AuditReceipt": (".audit", "AuditReceipt"),
    "BreakGlassRule": (".audit", "BreakGlassRule"),
    "BulkReadRule": (".audit", "BulkReadRule"),
    "Checkpoint": (".audit", "Checkpoint"),
    "ConsistencyProof": (".audit", "ConsistencyProof"),
    "DeniedBurstRule": (".audit", "DeniedBurstRule"),
    "IncidentScope": (".audit", "IncidentScope"),
    "InclusionProof": (".audit", "InclusionProof"),
    "Monitor": (".audit", "Monitor"),
    "OffHoursRule": (".audit", "OffHoursRule"),
    "verify_checkpoint": (".audit", "verify_checkpoint"),
    "verify_consistency": (".audit", "verify_consistency"),
    "verify_export": (".audit", "verify_export"),
    "verify_inclusion": (".audit", "verify_inclusion"),
    "AuditEvent": (".audit.events", "AuditEvent"),
    "AuditSink": (".audit.events", "AuditSink"),
    "Actor": (".consent", "Actor"),
    "ConsentEvent": (".consent", "ConsentEvent"),
    "ConsentLedger": (".consent", "ConsentLedger"),
    "ConsentReceipt": (".consent", "ConsentReceipt"),
    "ConsentStatus": (".consent", "ConsentStatus"),
    "Controller": (".consent", "Controller"),
    "Evidence": (".consent", "Evidence"),
    "NoticeVersion": (".consent", "NoticeVersion"),
    "ConsentPurpose": (".consent", "Purpose"),
    "parse_receipt": (".consent", "parse_receipt"),
    "FF1": (".crypto", "FF1"),
    "AwsKmsProvider": (".crypto", "AwsKmsProvider"),
    "BlindIndex": (".crypto", "BlindIndex"),
    "CardTokenizer": (".crypto", "CardTokenizer"),
    "CompoundBlindIndex": (".crypto", "CompoundBlindIndex"),
    "DeterministicCipher": (".crypto", "DeterministicCipher"),
    "Ed25519Signer": (".crypto", "Ed25519Signer"),
    "Ed25519Verifier": (".crypto", "Ed25519Verifier"),
    "EnvironmentProvider": (".crypto", "EnvironmentProvider"),
    "KeyProvider": (".crypto", "KeyProvider"),
    "Keyring": (".crypto", "Keyring"),
    "PassphraseProvider": (".crypto", "PassphraseProvider"),
    "Pkcs11Provider": (".crypto", "Pkcs11Provider"),
    "SecretHasher": (".crypto", "SecretHasher"),
    "SubjectKeys": (".crypto", "SubjectKeys"),
    "IncidentRegister": (".incidents", "IncidentRegister"),
    "discover": (".discovery", "discover"),
    "decrypt_file": (".crypto", "decrypt_file"),
    "encrypt_file": (".crypto", "encrypt_file"),
    "open_encrypted": (".crypto", "open_encrypted"),
    "plan_blind_index": (".crypto", "plan_blind_index"),
    "use_keyring": (".crypto", "use_keyring"),
    "DataField": (".inventory", "DataField"),
    "DataInventory": (".inventory", "DataInventory"),
    "load_inventory": (".inventory", "load_inventory"),
    "Finding": (".masking", "Finding"),
    "Recognizer": (".identifiers", "Recognizer"),
    "register_recognizer": (".identifiers", "register_recognizer"),
    "unregister_recognizer": (".identifiers", "unregister_recognizer"),
    "mask": (".masking", "mask"),
    "mask_field": (".masking", "mask_field"),
    "redact": (".masking", "redact"),
    "redact_json": (".masking", "redact_json"),
    "scan": (".masking", "scan"),
    "Encrypted": (".pydantic", "Encrypted"),
    "needs_resave": (".pydantic", "needs_resave"),
    "LegalHold": (".retention", "LegalHold"),
    "RetentionRule": (".retention", "RetentionRule"),
    "RetentionSchedule": (".retention", "RetentionSchedule"),
}


def __getattr__(name: str) -> Any:
    """Load a lazily exported name on first use (PEP 562) and keep it."""
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'finprivacy' has no attribute {name!r}") from None
    module = importlib.import_module(module_name, __name__)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
