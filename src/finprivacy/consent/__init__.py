"""Consent ledger with versioned notices, hash-chained events and receipts.

>>> import finprivacy as fp
>>> ledger = fp.ConsentLedger("memory:")

See ``docs/howto/consent.md`` and ``docs/explanation/consent.md``.
"""

from __future__ import annotations

from ._ledger import ConsentAnchor as ConsentAnchor
from ._ledger import ConsentLedger as ConsentLedger
from ._ledger import GrantRequest as GrantRequest
from ._ledger import anchor_digest as anchor_digest
from ._model import GDPR_MIN_AGE_DEFAULT as GDPR_MIN_AGE_DEFAULT
from ._model import GENESIS_HASH as GENESIS_HASH
from ._model import PIPL_AGE_RULE as PIPL_AGE_RULE
from ._model import Actor as Actor
from ._model import ActorKind as ActorKind
from ._model import AgeRule as AgeRule
from ._model import ChangeKind as ChangeKind
from ._model import ConsentEvent as ConsentEvent
from ._model import ConsentStatus as ConsentStatus
from ._model import EventKind as EventKind
from ._model import Evidence as Evidence
from ._model import LegalBasis as LegalBasis
from ._model import NoticeVersion as NoticeVersion
from ._model import Purpose as Purpose
from ._model import Reason as Reason
from ._model import anonymise_ip as anonymise_ip
from ._model import gdpr_age_rule as gdpr_age_rule
from ._model import notice_sha256 as notice_sha256
from ._receipt import KANTARA_VERSION as KANTARA_VERSION
from ._receipt import ConsentReceipt as ConsentReceipt
from ._receipt import Controller as Controller
from ._receipt import PostalAddress as PostalAddress
from ._receipt import ReceiptPurpose as ReceiptPurpose
from ._receipt import ReceiptService as ReceiptService
from ._receipt import parse_receipt as parse_receipt
from ._store import ConsentStore as ConsentStore

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "Actor",
    "ActorKind",
    "AgeRule",
    "ChangeKind",
    "ConsentAnchor",
    "ConsentEvent",
    "ConsentLedger",
    "ConsentReceipt",
    "ConsentStatus",
    "ConsentStore",
    "Controller",
    "EventKind",
    "Evidence",
    "GDPR_MIN_AGE_DEFAULT",
    "GENESIS_HASH",
    "GrantRequest",
    "KANTARA_VERSION",
    "LegalBasis",
    "NoticeVersion",
    "PIPL_AGE_RULE",
    "PostalAddress",
    "Purpose",
    "Reason",
    "ReceiptPurpose",
    "ReceiptService",
    "anchor_digest",
    "anonymise_ip",
    "gdpr_age_rule",
    "notice_sha256",
    "parse_receipt",
]
