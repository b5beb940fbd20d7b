"""Data-subject requests: receive, verify identity, extend, complete or reject.

A request's life is a list of append-only :class:`RequestEvent` objects; its current
state (:class:`SubjectRequest`) is folded from them, so the register keeps the whole
story an auditor or regulator asks for: when it came in, who verified the requester,
why the deadline was extended, what was done or why it was refused.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import secrets
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from .._stores import open_store
from ..audit.events import AuditEvent, AuditSink
from ..clock import Clock, SystemClock, utc
from ..errors import InvalidInputError, NotFoundError, RequestStateError
from ._deadlines import PIPL, DeadlinePolicy

__all__ = [
    "RequestEvent",
    "RequestKind",
    "RequestRegister",
    "RequestStatus",
    "RequestStore",
    "SubjectRequest",
]


class RequestKind(enum.StrEnum):
    """What the data subject asks for, with the provisions that grant it."""

    ACCESS = "access"
    """See what is held (PIPL Art. 45; GDPR Art. 15)."""
    PORTABILITY = "portability"
    """Receive a copy in a machine-readable form (PIPL Art. 45(3); GDPR Art. 20)."""
    RECTIFICATION = "rectification"
    """Correct or complete the data (PIPL Art. 46; GDPR Art. 16)."""
    ERASURE = "erasure"
    """Delete the data (PIPL Art. 47; GDPR Art. 17), weighed against retention duties."""
    RESTRICTION = "restriction"
    """Limit the processing (PIPL Art. 44; GDPR Art. 18)."""
    OBJECTION = "objection"
    """Refuse a processing (PIPL Art. 44; GDPR Art. 21)."""
    EXPLANATION = "explanation"
    """Have the processing rules explained (PIPL Art. 48)."""
    DELEGATION = "delegation"
    """Authorise another person (spouse, lawyer) to act or see (PIPL Art. 49 for heirs)."""
    COMPLAINT = "complaint"
    """A complaint about the firm's handling (PIPL Art. 50; GDPR Art. 77)."""


class RequestStatus(enum.StrEnum):
    """Where a request stands."""

    RECEIVED = "received"
    IDENTITY_VERIFIED = "identity_verified"
    EXTENDED = "extended"
    COMPLETED = "completed"
    REJECTED = "rejected"


_OPEN = frozenset({RequestStatus.RECEIVED, RequestStatus.IDENTITY_VERIFIED,
                   RequestStatus.EXTENDED})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RequestEvent:
    """One step in a request's life. Never updated in place."""

    request_id: str
    """The request."""
    seq: int
    """0 for the receipt, then 1, 2 … in order."""
    step: str
    """``received``, ``identity_verified``, ``extended``, ``completed``, ``rejected``, ``note``."""
    at: _dt.datetime
    """When (aware, UTC)."""
    actor: str
    """Who recorded it (staff id, ``subject``, an agent id)."""
    data: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Step details: kind, subject, channel, method, reason, outcome … (never values)."""

    def to_json(self) -> str:
        """Canonical JSON of the event's data."""
        return json.dumps(dict(self.data), sort_keys=True, ensure_ascii=False)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SubjectRequest:
    """The current state of a data-subject request, folded from its events."""

    id: str
    subject: str
    kind: RequestKind
    status: RequestStatus
    received_at: _dt.datetime
    due_at: _dt.datetime
    """The last instant of the response period (extended if an extension was taken)."""
    channel: str = ""
    agent: str = ""
    """The authorised agent who filed it for the subject, if any."""
    grant_id: str = ""
    """The delegation grant that authorises the agent."""
    identity_verified_at: _dt.datetime | None = None
    extended: bool = False
    extension_reason: str = ""
    closed_at: _dt.datetime | None = None
    outcome: str = ""
    """What was done (completed) or why it was refused (rejected)."""
    history: tuple[RequestEvent, ...] = ()

    @property
    def is_open(self) -> bool:
        """True until the request is completed or rejected."""
        return self.status in _OPEN

    def overdue(self, at: _dt.datetime) -> bool:
        """Return True when the request is still open after its deadline."""
        return self.is_open and utc(at, "at") > self.due_at


@runtime_checkable
class RequestStore(Protocol):
    """Where request events live; implemented for memory, SQLite and PostgreSQL."""

    def append_event(self, event: RequestEvent) -> None:
        """Store ``event``; raise ConflictError if ``(request_id, seq)`` exists."""
        ...

    def request_events(self, request_id: str) -> list[RequestEvent]:
        """Return a request's events in ``seq`` order (empty if unknown)."""
        ...

    def request_ids(self, *, subject: str | None = None) -> list[str]:
        """Return the ids of all requests (of one subject), oldest first."""
        ...


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{name} must be a non-empty string")
    return value


class RequestRegister:
    """The firm's register of data-subject requests and their deadlines.

    >>> from finprivacy.rights import RequestRegister
    >>> register = RequestRegister("memory:")
    >>> req = register.receive("client-42", "access", channel="web", actor="client-42")
    >>> req.status.value
    'received'
    """

    def __init__(self, store: RequestStore | str, *, policy: DeadlinePolicy = PIPL,
                 zone: str = "Asia/Shanghai", clock: Clock | None = None,
                 audit: AuditSink | None = None) -> None:
        self._store: RequestStore = open_store("rights", store) if isinstance(store, str) \
            else store
        self.policy = policy
        self.zone = zone
        policy.due(_dt.datetime(2000, 1, 1, tzinfo=_dt.UTC), zone)  # validate the zone now
        self._clock = clock or SystemClock()
        self._audit = audit

    def __repr__(self) -> str:
        return f"RequestRegister(policy={self.policy.name!r}, zone={self.zone!r})"

    # -- steps ------------------------------------------------------------------------
    def receive(self, subject: str, kind: RequestKind | str, *, actor: str,
                channel: str = "", agent: str = "", grant_id: str = "",
                received_at: _dt.datetime | None = None) -> SubjectRequest:
        """Register a new request and start its deadline clock."""
        _text(subject, "subject")
        _text(actor, "actor")
        try:
            kind = RequestKind(kind)
        except ValueError:
            raise InvalidInputError(
                f"unknown request kind; expected one of {[k.value for k in RequestKind]}"
            ) from None
        if agent and not grant_id:
            raise InvalidInputError("a request filed by an agent must name the delegation grant")
        at = utc(received_at, "received_at") if received_at is not None else self._clock.now()
        request_id = "dsr_" + secrets.token_hex(8)
        data = {"subject": subject, "kind": kind.value, "channel": channel, "agent": agent,
                "grant_id": grant_id}
        self._append(request_id, 0, "received", at, actor, data)
        return self.get(request_id)

    def verify_identity(self, request_id: str, *, by: str, method: str) -> SubjectRequest:
        """Record that the requester's identity (or the agent's authority) was verified.

        GB/T 35273-2020 §8.7 a) and GDPR Art. 12(6): verify before acting.
        """
        req = self._open(request_id)
        if req.identity_verified_at is not None:
            raise RequestStateError(f"request {request_id} is already verified")
        self._step(req, "identity_verified", by, {"method": _text(method, "method")})
        return self.get(request_id)

    def extend(self, request_id: str, *, by: str, reason: str) -> SubjectRequest:
        """Extend the deadline once, within the first period, with a reason for the subject."""
        req = self._open(request_id)
        if not self.policy.extendable:
            raise RequestStateError(f"{self.policy.name} allows no extension")
        if req.extended:
            raise RequestStateError(f"request {request_id} was already extended")
        if self._clock.now() > req.due_at:
            raise RequestStateError(
                f"request {request_id} is overdue; an extension must be taken in time")
        self._step(req, "extended", by, {"reason": _text(reason, "reason")})
        return self.get(request_id)

    def complete(self, request_id: str, *, by: str, outcome: str) -> SubjectRequest:
        """Close the request as fulfilled, saying what was done."""
        req = self._open(request_id)
        if req.identity_verified_at is None and req.kind is not RequestKind.COMPLAINT:
            raise RequestStateError(
                f"request {request_id}: verify the requester's identity before fulfilling it")
        self._step(req, "completed", by, {"outcome": _text(outcome, "outcome")})
        return self.get(request_id)

    def reject(self, request_id: str, *, by: str, reason: str) -> SubjectRequest:
        """Refuse the request with the reason the subject must be told (PIPL Art. 50)."""
        req = self._open(request_id)
        self._step(req, "rejected", by, {"outcome": _text(reason, "reason")})
        return self.get(request_id)

    def note(self, request_id: str, *, by: str, text: str) -> SubjectRequest:
        """Add a note (a call made, a document asked for) without changing the state."""
        req = self.get(request_id)
        self._step(req, "note", by, {"text": _text(text, "text")})
        return self.get(request_id)

    # -- queries ----------------------------------------------------------------------
    def get(self, request_id: str) -> SubjectRequest:
        """Return a request's current state; NotFoundError if unknown."""
        events = self._store.request_events(request_id)
        if not events:
            raise NotFoundError(f"no data-subject request {request_id!r}")
        return self._fold(events)

    def for_subject(self, subject: str) -> list[SubjectRequest]:
        """Every request of one subject, oldest first."""
        return [self.get(i) for i in self._store.request_ids(subject=_text(subject, "subject"))]

    def open_requests(self) -> list[SubjectRequest]:
        """Every open request, soonest deadline first."""
        reqs = [self.get(i) for i in self._store.request_ids()]
        return sorted((r for r in reqs if r.is_open), key=lambda r: r.due_at)

    def overdue(self, at: _dt.datetime | None = None) -> list[SubjectRequest]:
        """Open requests past their deadline at ``at`` (default: now)."""
        when = utc(at, "at") if at is not None else self._clock.now()
        return [r for r in self.open_requests() if r.overdue(when)]

    def due_within(self, window: _dt.timedelta, at: _dt.datetime | None = None
                   ) -> list[SubjectRequest]:
        """Open requests not yet overdue whose deadline falls within ``window``."""
        when = utc(at, "at") if at is not None else self._clock.now()
        return [r for r in self.open_requests() if when <= r.due_at <= when + window]

    # -- internals --------------------------------------------------------------------
    def _open(self, request_id: str) -> SubjectRequest:
        req = self.get(request_id)
        if not req.is_open:
            raise RequestStateError(f"request {request_id} is closed ({req.status.value})")
        return req

    def _step(self, req: SubjectRequest, step: str, actor: str, data: dict[str, str]) -> None:
        _text(actor, "by")
        self._append(req.id, len(req.history), step, self._clock.now(), actor, data,
                     subject=req.subject, kind=req.kind.value)

    def _append(self, request_id: str, seq: int, step: str, at: _dt.datetime, actor: str,
                data: dict[str, str], *, subject: str = "", kind: str = "") -> None:
        event = RequestEvent(request_id=request_id, seq=seq, step=step, at=at, actor=actor,
                             data=data)
        self._store.append_event(event)
        if self._audit is not None:
            self._audit.record(AuditEvent(
                action=f"rights.{kind or data.get('kind', '')}.{step}", actor=actor,
                subject=subject or data.get("subject", ""), time=at,
                details={"request_id": request_id}))

    def _fold(self, events: list[RequestEvent]) -> SubjectRequest:
        first = events[0]
        if first.step != "received" or first.seq != 0:
            raise RequestStateError(f"request {first.request_id} has no receipt event")
        received = first.at
        state: dict[str, object] = {
            "id": first.request_id, "subject": first.data["subject"],
            "kind": RequestKind(first.data["kind"]), "status": RequestStatus.RECEIVED,
            "received_at": received, "due_at": self.policy.due(received, self.zone),
            "channel": first.data.get("channel", ""), "agent": first.data.get("agent", ""),
            "grant_id": first.data.get("grant_id", ""),
        }
        for ev in events[1:]:
            if ev.step == "identity_verified":
                state["identity_verified_at"] = ev.at
                if state["status"] == RequestStatus.RECEIVED:
                    state["status"] = RequestStatus.IDENTITY_VERIFIED
            elif ev.step == "extended":
                state["extended"] = True
                state["extension_reason"] = ev.data.get("reason", "")
                state["due_at"] = self.policy.due(received, self.zone, extended=True)
                state["status"] = RequestStatus.EXTENDED
            elif ev.step in ("completed", "rejected"):
                state["status"] = RequestStatus(ev.step)
                state["closed_at"] = ev.at
                state["outcome"] = ev.data.get("outcome", "")
        return SubjectRequest(history=tuple(events), **state)  # type: ignore[arg-type]
