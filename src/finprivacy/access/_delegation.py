"""Delegation: a client authorises another person to act on their data.

A spouse, a lawyer or an outside accountant gets a :class:`DelegationGrant` for
some scopes (view, export, rectify, erase, consent), optionally some fields, from
and until given times; the grant is revocable. Access decisions that rely on a
grant name it, and so do their audit entries. PIPL Art. 45–47 give these rights
to the individual; a grant records that the individual chose to let someone else
exercise them.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import secrets
import threading
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import Final, Literal, Protocol, runtime_checkable

from ..audit.events import AuditEvent, AuditSink
from ..clock import Clock, SystemClock, utc
from ..errors import ConfigurationError, ConflictError, InvalidTimeError, NotFoundError
from ._policy import _SCOPES, Scope
from ._principal import _request

__all__ = ["DelegationGrant", "Delegations", "GrantStatus", "GrantStore", "MemoryGrantStore"]

GrantStatus = Literal["active", "not_yet_valid", "expired", "revoked"]
"""Where a grant stands at a given time."""

_ID_PREFIX: Final = "dg_"


@dataclasses.dataclass(frozen=True, slots=True)
class DelegationGrant:
    """A subject's authorisation for a grantee, with scopes, fields and a time window.

    ``fields`` holds field names, dotted paths or categories; empty means every
    field the subject could see of themself (C3 is never shown).
    """

    id: str
    """The grant id, named in decisions and audit entries."""
    subject: str
    """The data subject (the client) who grants."""
    grantee: str
    """The principal id who may act."""
    scopes: AbstractSet[Scope]
    """What the grantee may do."""
    valid_from: _dt.datetime
    """Start of validity (aware, UTC)."""
    valid_until: _dt.datetime | None = None
    """End of validity; ``None`` until revoked."""
    fields: AbstractSet[str] = frozenset()
    """Fields, paths or categories covered; empty for all."""
    relationship: str = ""
    """Spouse, lawyer, accountant …"""
    revoked_at: _dt.datetime | None = None
    """When it was revoked, if it was."""

    def __post_init__(self) -> None:
        for attr in ("id", "subject", "grantee"):
            v = getattr(self, attr)
            if not isinstance(v, str) or not v:
                raise ConfigurationError(f"a delegation grant needs a non-empty {attr}")
        if isinstance(self.scopes, str):
            raise ConfigurationError(f"grant {self.id!r}: scopes must be a collection")
        scopes = frozenset(self.scopes)
        if not scopes or not scopes <= _SCOPES:
            raise ConfigurationError(f"grant {self.id!r}: scopes must be a non-empty subset of "
                                     f"{sorted(_SCOPES)}")
        object.__setattr__(self, "scopes", scopes)
        if isinstance(self.fields, str):
            raise ConfigurationError(f"grant {self.id!r}: fields must be a collection")
        object.__setattr__(self, "fields", frozenset(self.fields))
        object.__setattr__(self, "valid_from", utc(self.valid_from, "valid_from"))
        if self.valid_until is not None:
            until = utc(self.valid_until, "valid_until")
            if until <= self.valid_from:
                raise InvalidTimeError(f"grant {self.id!r}: valid_until must be after valid_from")
            object.__setattr__(self, "valid_until", until)
        if self.revoked_at is not None:
            object.__setattr__(self, "revoked_at", utc(self.revoked_at, "revoked_at"))

    def status(self, at: _dt.datetime) -> GrantStatus:
        """Whether the grant is active at ``at`` (aware)."""
        if self.revoked_at is not None and at >= self.revoked_at:
            return "revoked"
        if at < self.valid_from:
            return "not_yet_valid"
        if self.valid_until is not None and at >= self.valid_until:
            return "expired"
        return "active"

    def covers(self, scope: Scope) -> bool:
        """Return True when the grant includes ``scope``."""
        return scope in self.scopes


@runtime_checkable
class GrantStore(Protocol):
    """Where delegation grants live. Lookups by (grantee, subject) must not scan."""

    def put(self, grant: DelegationGrant) -> None:
        """Insert ``grant`` or replace the stored grant with the same id."""
        ...

    def get(self, grant_id: str) -> DelegationGrant | None:
        """Return the grant with ``grant_id``, or ``None``."""
        ...

    def find(self, grantee: str, subject: str) -> Sequence[DelegationGrant]:
        """Every grant (any status) from ``subject`` to ``grantee``."""
        ...

    def for_subject(self, subject: str) -> Sequence[DelegationGrant]:
        """Every grant ``subject`` has given."""
        ...


class MemoryGrantStore:
    """An in-memory :class:`GrantStore`, indexed by id, (grantee, subject) and subject."""

    __slots__ = ("_by_id", "_by_pair", "_by_subject", "_lock")

    def __init__(self, grants: Iterable[DelegationGrant] = ()) -> None:
        self._by_id: dict[str, DelegationGrant] = {}
        self._by_pair: dict[tuple[str, str], tuple[DelegationGrant, ...]] = {}
        self._by_subject: dict[str, tuple[DelegationGrant, ...]] = {}
        self._lock = threading.Lock()
        for g in grants:
            self.put(g)

    def put(self, grant: DelegationGrant) -> None:
        """Insert or replace ``grant`` (readers see a consistent tuple, never a torn one)."""
        with self._lock:
            old = self._by_id.get(grant.id)
            if old is not None and (old.subject, old.grantee) != (grant.subject, grant.grantee):
                raise ConflictError(f"grant {grant.id!r} already exists for another pair")
            self._by_id[grant.id] = grant
            pair = (grant.grantee, grant.subject)
            self._by_pair[pair] = (*(g for g in self._by_pair.get(pair, ()) if g.id != grant.id),
                                   grant)
            self._by_subject[grant.subject] = (
                *(g for g in self._by_subject.get(grant.subject, ()) if g.id != grant.id), grant)

    def get(self, grant_id: str) -> DelegationGrant | None:
        """Return the grant with ``grant_id``, or ``None``."""
        return self._by_id.get(grant_id)

    def find(self, grantee: str, subject: str) -> Sequence[DelegationGrant]:
        """Grants from ``subject`` to ``grantee``."""
        return self._by_pair.get((grantee, subject), ())

    def for_subject(self, subject: str) -> Sequence[DelegationGrant]:
        """Grants ``subject`` has given."""
        return self._by_subject.get(subject, ())

    def __len__(self) -> int:
        return len(self._by_id)

    def __repr__(self) -> str:
        return f"MemoryGrantStore({len(self._by_id)} grants)"


class Delegations:
    """Create, revoke and query delegation grants, recording each change in the audit log."""

    __slots__ = ("_audit", "_clock", "_store")

    def __init__(self, store: GrantStore, *, clock: Clock | None = None,
                 audit: AuditSink | None = None) -> None:
        self._store = store
        self._clock: Clock = clock or SystemClock()
        self._audit = audit

    @property
    def store(self) -> GrantStore:
        """The underlying store."""
        return self._store

    def grant(self, subject: str, grantee: str, *, scopes: Iterable[Scope],
              valid_until: _dt.datetime | None, valid_from: _dt.datetime | None = None,
              fields: Iterable[str] = (), relationship: str = "",
              grant_id: str | None = None) -> DelegationGrant:
        """Record that ``subject`` authorises ``grantee``; return the new grant.

        ``valid_until`` must be given (``None`` explicitly for "until revoked"), so an
        open-ended delegation is always a deliberate choice.
        """
        now = self._clock.now()
        if isinstance(fields, str):
            raise ConfigurationError("grant fields must be a collection of names")
        grant = DelegationGrant(
            id=grant_id or _ID_PREFIX + secrets.token_hex(8), subject=subject, grantee=grantee,
            scopes=frozenset(scopes), valid_from=valid_from or now, valid_until=valid_until,
            fields=frozenset(fields), relationship=relationship)
        if self._store.get(grant.id) is not None:
            raise ConflictError(f"grant {grant.id!r} already exists")
        self._store.put(grant)
        self._record("delegation.grant", grant, now)
        return grant

    def revoke(self, grant_id: str, *, at: _dt.datetime | None = None) -> DelegationGrant:
        """Revoke a grant from ``at`` (default now); return the updated grant."""
        grant = self._store.get(grant_id)
        if grant is None:
            raise NotFoundError(f"delegation grant {grant_id!r} does not exist")
        when = utc(at, "at") if at is not None else self._clock.now()
        if grant.revoked_at is not None and grant.revoked_at <= when:
            return grant
        revoked = dataclasses.replace(grant, revoked_at=when)
        self._store.put(revoked)
        self._record("delegation.revoke", revoked, when)
        return revoked

    def get(self, grant_id: str) -> DelegationGrant:
        """Return the grant with ``grant_id``; raise :class:`NotFoundError` if none."""
        grant = self._store.get(grant_id)
        if grant is None:
            raise NotFoundError(f"delegation grant {grant_id!r} does not exist")
        return grant

    def active(self, grantee: str, subject: str, *,
               at: _dt.datetime | None = None) -> tuple[DelegationGrant, ...]:
        """Return the grants from ``subject`` to ``grantee`` active at ``at`` (default now)."""
        when = utc(at, "at") if at is not None else self._clock.now()
        return tuple(g for g in self._store.find(grantee, subject) if g.status(when) == "active")

    def _record(self, action: str, grant: DelegationGrant, at: _dt.datetime) -> None:
        if self._audit is None:
            return
        self._audit.record(AuditEvent(
            action=action, actor=grant.subject, subject=grant.subject, on_behalf_of="",
            grant_id=grant.id, time=at, decision="info", request_id=_request.get(),
            details={"grantee": grant.grantee, "scopes": ",".join(sorted(grant.scopes)),
                     "fields": ",".join(sorted(grant.fields)),
                     "relationship": grant.relationship}))
