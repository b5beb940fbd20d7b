"""Audit events and the :class:`AuditSink` protocol.

This is the only audit module other domains (consent, retention, access, crypto)
import: they describe what happened as an :class:`AuditEvent` and hand it to
whatever sink the application configured (usually an ``AuditLog``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Mapping
from typing import Literal, Protocol, runtime_checkable

__all__ = ["AuditEvent", "AuditSink", "Decision"]

Decision = Literal["allowed", "masked", "denied", "info", "alert"]
"""The outcome recorded for an access decision; ``info`` for plain changes."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """One thing that happened to personal data, described without the data itself.

    Field *names* are recorded (``fields_returned``, ``fields_masked``), never values.
    """

    action: str
    """What was done: ``read``, ``update``, ``export``, ``consent.grant`` …"""
    actor: str = ""
    """Who did it: a staff id, a service name or ``subject`` for the client themself."""
    subject: str = ""
    """The data subject (client) whose data was touched; empty for system events."""
    purpose: str = ""
    """The declared purpose of the access."""
    decision: Decision = "info"
    """The access decision."""
    reason: str = ""
    """Why the decision was taken (human-readable; never a value)."""
    time: _dt.datetime | None = None
    """When it happened (aware, UTC); ``None`` lets the sink stamp it from its clock."""
    tenant: str = ""
    """The firm or tenant in a multi-tenant system."""
    on_behalf_of: str = ""
    """Whom the actor acted for, under a delegation."""
    grant_id: str = ""
    """The delegation grant used, if any."""
    fields_returned: tuple[str, ...] = ()
    """Field names returned in the clear."""
    fields_masked: tuple[str, ...] = ()
    """Field names returned masked or withheld."""
    break_glass: bool = False
    """True when the access happened under emergency (break-glass) access."""
    request_id: str = ""
    """The application's request or correlation id."""
    policy_version: str = ""
    """The version of the access policy that decided."""
    key_id: str = ""
    """A key id involved (rotation, shredding), never key material."""
    details: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Extra string attributes (ids, counts); never personal data values."""


@runtime_checkable
class AuditSink(Protocol):
    """Anything that durably records :class:`AuditEvent` objects (an ``AuditLog``, a test list)."""

    def record(self, event: AuditEvent) -> object:
        """Record ``event``; return whatever the sink uses to identify it (e.g. a sequence)."""
        ...
