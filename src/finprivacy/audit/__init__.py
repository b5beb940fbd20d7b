"""Tamper-evident audit log: events, hash chain, Merkle tree, checkpoints, monitoring.

``AuditLog(store, signer=...)`` appends canonical entries, sequences them into a hash
chain and an RFC 6962 Merkle tree, signs checkpoints (Ed25519), produces inclusion
and consistency proofs, verifies itself, exports for auditors, closes and prunes
segments, and feeds monitors. :mod:`finprivacy.audit.events` is the only module
other domains import.
"""

from __future__ import annotations

from ..crypto._signing import Ed25519Signer as Ed25519Signer
from ..crypto._signing import Ed25519Verifier as Ed25519Verifier
from ._entry import AuditEntry as AuditEntry
from ._entry import decode_entry as decode_entry
from ._entry import encode_event as encode_event
from ._export import ExportReport as ExportReport
from ._export import verify_export as verify_export
from ._log import AuditLog as AuditLog
from ._log import AuditReceipt as AuditReceipt
from ._log import Segment as Segment
from ._merkle import leaf_hash as leaf_hash
from ._merkle import verify_consistency as verify_consistency
from ._merkle import verify_inclusion as verify_inclusion
from ._monitor import Alert as Alert
from ._monitor import BreakGlassRule as BreakGlassRule
from ._monitor import BulkReadRule as BulkReadRule
from ._monitor import DeniedBurstRule as DeniedBurstRule
from ._monitor import Monitor as Monitor
from ._monitor import MonitorRule as MonitorRule
from ._monitor import OffHoursRule as OffHoursRule
from ._proofs import Checkpoint as Checkpoint
from ._proofs import ConsistencyProof as ConsistencyProof
from ._proofs import InclusionProof as InclusionProof
from ._proofs import read_public_key as read_public_key
from ._proofs import verify_checkpoint as verify_checkpoint
from ._review import AccessReview as AccessReview
from ._review import AccessReviewRow as AccessReviewRow
from ._review import IncidentScope as IncidentScope
from ._store import AuditStore as AuditStore
from ._verify import VerifyReport as VerifyReport
from .events import AuditEvent as AuditEvent
from .events import AuditSink as AuditSink

__all__ = [
    "AccessReview",
    "AccessReviewRow",
    "Alert",
    "AuditEntry",
    "AuditEvent",
    "AuditLog",
    "AuditReceipt",
    "AuditSink",
    "AuditStore",
    "BreakGlassRule",
    "BulkReadRule",
    "Checkpoint",
    "ConsistencyProof",
    "DeniedBurstRule",
    "Ed25519Signer",
    "Ed25519Verifier",
    "ExportReport",
    "IncidentScope",
    "InclusionProof",
    "Monitor",
    "MonitorRule",
    "OffHoursRule",
    "Segment",
    "VerifyReport",
    "decode_entry",
    "encode_event",
    "leaf_hash",
    "read_public_key",
    "verify_checkpoint",
    "verify_consistency",
    "verify_export",
    "verify_inclusion",
]
