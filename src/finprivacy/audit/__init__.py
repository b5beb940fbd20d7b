"""Tamper-evident audit log: events, hash chain, Merkle tree, checkpoints, monitoring."""

from __future__ import annotations

from .events import AuditEvent as AuditEvent
from .events import AuditSink as AuditSink

__all__ = ["AuditEvent", "AuditSink"]
