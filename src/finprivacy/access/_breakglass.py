"""Break-glass: emergency access sessions, their review queue and the context manager.

The decision engine (:class:`~finprivacy.access.AccessControl`) opens and closes
sessions; this module holds what they are and how they are reviewed, and the context
variable that marks the code running inside one.
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as _dt
import threading
from collections.abc import Iterable, Mapping
from typing import Literal, Protocol

from ..errors import AccessDeniedError, ConfigurationError, ConflictError, NotFoundError

__all__ = [
    "AuditRecordLike",
    "BreakGlassReview",
    "BreakGlassSession",
    "GlassOwner",
    "ReviewQueue",
]


class AuditRecordLike(Protocol):
    """What :meth:`ReviewQueue.restore` reads: an ``AuditEntry`` or ``AuditEvent``."""

    @property
    def action(self) -> str:
        """The action recorded."""
        ...

    @property
    def actor(self) -> str:
        """Who acted."""
        ...

    @property
    def tenant(self) -> str:
        """The tenant."""
        ...

    @property
    def reason(self) -> str:
        """The reason recorded."""
        ...

    @property
    def time(self) -> _dt.datetime | None:
        """When it happened."""
        ...

    @property
    def details(self) -> Mapping[str, str]:
        """Extra string attributes."""
        ...


class GlassOwner(Protocol):
    """What opens and closes break-glass sessions (an :class:`AccessControl`)."""

    def _open_glass(self, reason: str, ttl: _dt.timedelta) -> _GlassState:
        ...

    def _close_glass(self, state: _GlassState) -> None:
        ...


# -- break-glass ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True, slots=True)
class BreakGlassSession:
    """One use of emergency access, as recorded before any data was returned."""

    id: str
    """The session id (``bg_…``), named in every audit entry inside it."""
    principal: str
    """Who broke the glass."""
    tenant: str
    """Their tenant."""
    reason: str
    """The justification they gave."""
    started: _dt.datetime
    """When it started (aware, UTC)."""
    expires: _dt.datetime
    """When emergency access ends by itself."""


@dataclasses.dataclass(frozen=True, slots=True)
class BreakGlassReview:
    """A reviewer's verdict on a break-glass session."""

    session_id: str
    """The session reviewed."""
    reviewer: str
    """Who reviewed it (never the person who broke the glass)."""
    outcome: Literal["justified", "unjustified"]
    """The verdict."""
    at: _dt.datetime
    """When it was reviewed."""
    note: str = ""
    """Free text."""
    accesses: int = 0
    """How many accesses happened in the session."""


class _GlassState:
    __slots__ = ("accesses", "control", "session")

    def __init__(self, session: BreakGlassSession, control: object | None) -> None:
        self.session = session
        self.control = control
        self.accesses = 0


_glass: contextvars.ContextVar[_GlassState | None] = contextvars.ContextVar(
    "finprivacy_break_glass", default=None)


class ReviewQueue:
    """Break-glass sessions awaiting review, and the reviews given (thread-safe, in memory).

    The durable record is the audit log: every session start, end and review is an
    audit entry, so a queue can be rebuilt from it after a restart.
    """

    __slots__ = ("_lock", "_reviews", "_sessions", "_states")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, BreakGlassSession] = {}
        self._states: dict[str, _GlassState] = {}
        self._reviews: dict[str, BreakGlassReview] = {}

    @classmethod
    def restore(cls, entries: Iterable[AuditRecordLike]) -> ReviewQueue:
        """Rebuild a queue from audit entries (``AuditLog.query(break_glass=True)``).

        Reads the ``break_glass.start``, access and ``break_glass.review`` entries that
        access control wrote, in log order, so sessions opened before a restart are
        still waiting for review afterwards. Entries it cannot read are skipped.
        """
        queue = cls()
        for e in entries:
            session_id = e.details.get("break_glass_session", "")
            if not session_id or e.time is None:
                continue
            if e.action == "break_glass.start":
                try:
                    expires = _dt.datetime.fromisoformat(e.details.get("expires", ""))
                except ValueError:
                    continue
                queue._add(_GlassState(BreakGlassSession(
                    session_id, e.actor, e.tenant, e.reason, e.time, expires), None))
            elif e.action == "break_glass.review":
                state = queue._states.get(session_id)
                if state is None or e.reason not in ("justified", "unjustified"):
                    continue
                outcome: Literal["justified", "unjustified"] = (
                    "justified" if e.reason == "justified" else "unjustified")
                queue._reviews[session_id] = BreakGlassReview(
                    session_id, e.actor, outcome, e.time, e.details.get("note", ""),
                    state.accesses)
            elif not e.action.startswith("break_glass."):
                state = queue._states.get(session_id)
                if state is not None:
                    state.accesses += 1
        return queue

    def _add(self, state: _GlassState) -> None:
        with self._lock:
            self._sessions[state.session.id] = state.session
            self._states[state.session.id] = state

    def pending(self) -> tuple[BreakGlassSession, ...]:
        """Sessions not yet reviewed, oldest first."""
        with self._lock:
            return tuple(s for i, s in self._sessions.items() if i not in self._reviews)

    def reviewed(self) -> tuple[BreakGlassReview, ...]:
        """Reviews given so far."""
        with self._lock:
            return tuple(self._reviews.values())

    def session(self, session_id: str) -> BreakGlassSession:
        """Return the session with ``session_id``; raise :class:`NotFoundError` if none."""
        try:
            return self._sessions[session_id]
        except KeyError:
            raise NotFoundError(f"break-glass session {session_id!r} does not exist") from None

    def accesses(self, session_id: str) -> int:
        """How many accesses the session has made so far."""
        self.session(session_id)
        return self._states[session_id].accesses

    def _review(self, session_id: str, reviewer: str, outcome: Literal["justified", "unjustified"],
                note: str, at: _dt.datetime) -> BreakGlassReview:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                raise NotFoundError(f"break-glass session {session_id!r} does not exist")
            if session_id in self._reviews:
                raise ConflictError(f"break-glass session {session_id!r} is already reviewed")
            if reviewer == session.principal:
                raise AccessDeniedError(
                    f"break-glass session {session_id!r} cannot be reviewed by the principal "
                    "who opened it", reason="self_review")
            review = BreakGlassReview(session_id, reviewer, outcome, at, note,
                                      self._states[session_id].accesses)
            self._reviews[session_id] = review
            return review

    def __len__(self) -> int:
        return len(self.pending())

    def __repr__(self) -> str:
        return f"ReviewQueue({len(self)} pending)"


class _BreakGlass:
    """Context manager returned by :meth:`AccessControl.break_glass`."""

    __slots__ = ("_control", "_reason", "_state", "_token", "_ttl")

    def __init__(self, control: GlassOwner, reason: str, ttl: _dt.timedelta) -> None:
        self._control = control
        self._reason = reason
        self._ttl = ttl
        self._state: _GlassState | None = None
        self._token: contextvars.Token[_GlassState | None] | None = None

    def __enter__(self) -> BreakGlassSession:
        if self._token is not None:
            raise ConfigurationError("a break_glass block cannot be re-entered")
        state = self._control._open_glass(self._reason, self._ttl)
        self._state = state
        self._token = _glass.set(state)
        return state.session

    def __exit__(self, *exc: object) -> None:
        if self._token is None or self._state is None:
            raise ConfigurationError("break_glass exited without entering")
        _glass.reset(self._token)
        self._control._close_glass(self._state)


