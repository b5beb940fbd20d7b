"""finprivacy.crypto: keyrings, the token format, field encryption and key providers.

Only this package imports ``cryptography`` and ``argon2``. The everyday names are
re-exported from :mod:`finprivacy` as well.
"""

from __future__ import annotations

from ._blind_index import NORMALIZERS as NORMALIZERS
from ._blind_index import BlindIndex as BlindIndex
from ._blind_index import BlindIndexPlan as BlindIndexPlan
from ._blind_index import BlindIndexSet as BlindIndexSet
from ._blind_index import CompoundBlindIndex as CompoundBlindIndex
from ._blind_index import Normalizer as Normalizer
from ._blind_index import plan_blind_index as plan_blind_index
from ._codecs import ValueCodec as ValueCodec
from ._context import current_keyring as current_keyring
from ._context import use_keyring as use_keyring
from ._deterministic import DeterministicCipher as DeterministicCipher
from ._ff1 import FF1 as FF1
from ._files import DEFAULT_SEGMENT_SIZE as DEFAULT_SEGMENT_SIZE
from ._files import EncryptedReader as EncryptedReader
from ._files import EncryptedWriter as EncryptedWriter
from ._files import FileKeyWrapper as FileKeyWrapper
from ._files import atomic_output as atomic_output
from ._files import decrypt_file as decrypt_file
from ._files import encrypt_file as encrypt_file
from ._files import file_key_id as file_key_id
from ._files import open_encrypted as open_encrypted
from ._files import rewrap_file as rewrap_file
from ._fpe_card import CardTokenizer as CardTokenizer
from ._fpe_card import luhn_valid as luhn_valid
from ._hashing import PROFILE_FINANCE as PROFILE_FINANCE
from ._hashing import PROFILE_RFC9106_LOW_MEMORY as PROFILE_RFC9106_LOW_MEMORY
from ._hashing import PROFILE_TESTING_ONLY as PROFILE_TESTING_ONLY
from ._hashing import HashProfile as HashProfile
from ._hashing import SecretHasher as SecretHasher
from ._hashing import SecretKind as SecretKind
from ._hsm import Pkcs11Provider as Pkcs11Provider
from ._keyring import AES256_GCM as AES256_GCM
from ._keyring import KeyInfo as KeyInfo
from ._keyring import Keyring as Keyring
from ._keyring import KeyStatus as KeyStatus
from ._keyring import KeyTemplate as KeyTemplate
from ._keyring import record_context as record_context
from ._kms import AwsKmsProvider as AwsKmsProvider
from ._providers import ARGON2_RFC9106_LOW_MEMORY as ARGON2_RFC9106_LOW_MEMORY
from ._providers import ARGON2_TESTING_ONLY as ARGON2_TESTING_ONLY
from ._providers import Argon2Profile as Argon2Profile
from ._providers import EnvironmentProvider as EnvironmentProvider
from ._providers import KeyProvider as KeyProvider
from ._providers import PassphraseProvider as PassphraseProvider
from ._signing import Ed25519Signer as Ed25519Signer
from ._signing import Ed25519Verifier as Ed25519Verifier
from ._signing import ed25519_key_id as ed25519_key_id
from ._subject_keys import SubjectKeyRecord as SubjectKeyRecord
from ._subject_keys import SubjectKeys as SubjectKeys
from ._subject_keys import SubjectKeyStore as SubjectKeyStore
from ._subject_keys import SubjectTombstone as SubjectTombstone
from ._token import is_token as is_token
from ._x509 import CertificateFacts as CertificateFacts
from ._x509 import certificate_facts as certificate_facts

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "AES256_GCM",
    "ARGON2_RFC9106_LOW_MEMORY",
    "ARGON2_TESTING_ONLY",
    "Argon2Profile",
    "AwsKmsProvider",
    "BlindIndex",
    "BlindIndexPlan",
    "BlindIndexSet",
    "CardTokenizer",
    "CertificateFacts",
    "CompoundBlindIndex",
    "DEFAULT_SEGMENT_SIZE",
    "DeterministicCipher",
    "Ed25519Signer",
    "Ed25519Verifier",
    "EncryptedReader",
    "EncryptedWriter",
    "EnvironmentProvider",
    "FF1",
    "FileKeyWrapper",
    "HashProfile",
    "KeyInfo",
    "KeyProvider",
    "KeyStatus",
    "KeyTemplate",
    "Keyring",
    "NORMALIZERS",
    "Normalizer",
    "PROFILE_FINANCE",
    "PROFILE_RFC9106_LOW_MEMORY",
    "PROFILE_TESTING_ONLY",
    "PassphraseProvider",
    "Pkcs11Provider",
    "SecretHasher",
    "SecretKind",
    "SubjectKeyRecord",
    "SubjectKeyStore",
    "SubjectKeys",
    "SubjectTombstone",
    "ValueCodec",
    "atomic_output",
    "certificate_facts",
    "current_keyring",
    "decrypt_file",
    "ed25519_key_id",
    "encrypt_file",
    "file_key_id",
    "is_token",
    "luhn_valid",
    "open_encrypted",
    "plan_blind_index",
    "record_context",
    "rewrap_file",
    "use_keyring",
]
