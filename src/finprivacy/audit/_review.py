"""Access review reports and incident scoping, computed from the verified log's entries.

An access review answers the periodic question "who saw which clients' data, and
why" (PIPL article 54 compliance audits; ISO/IEC 27001:2022 Annex A 5.18 review of
access rights). Incident scoping answers "which clients and which fields did this
account, this key or this hour touch" for a breach notification (PIPL article 57;
GDPR articles 33-34). Both count only what was actually returned: ``allowed`` and
``masked`` decisions; denials are counted separately.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from ..clock import utc
from ..errors import InvalidInputError, InvalidTimeError
from ._monitor import ALERT_ACTION

if TYPE_CHECKING:
    from ._entry import AuditEntry


class EntrySource(Protocol):
    """What reviews and incident scoping read: entries selected by their columns.

    :class:`~finprivacy.audit.AuditLog` is one; so is anything with the same
    ``iter_query`` (a read replica, a test double).
    """

    def iter_query(self, *, actor: str | None = None, key_id: str | None = None,
                   start: _dt.datetime | None = None,
                   end: _dt.datetime | None = None) -> Iterator[AuditEntry]:
        """Yield the entries matching every filter given, in order."""
        ...

__all__ = ["AccessReview", "AccessReviewRow", "EntrySource", "IncidentScope"]

_SEEN = ("allowed", "masked")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AccessReviewRow:
    """What one actor saw for one purpose during the review period."""

    actor: str
    """The staff member or service."""
    purpose: str
    """The declared purpose."""
    subjects: tuple[str, ...]
    """Distinct subjects whose data was returned, sorted."""
    fields: tuple[str, ...]
    """Distinct field names returned in the clear, sorted."""
    fields_masked: tuple[str, ...]
    """Distinct field names returned masked or withheld, sorted."""
    accesses: int
    """Entries with an ``allowed`` or ``masked`` decision."""
    denied: int
    """Entries with a ``denied`` decision."""
    break_glass: int
    """Entries made under break-glass access."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AccessReview:
    """An access review report for ``[start, end)``; rows sorted by actor and purpose."""

    start: _dt.datetime
    """Start of the period (inclusive)."""
    end: _dt.datetime
    """End of the period (exclusive)."""
    rows: tuple[AccessReviewRow, ...]
    """One row per (actor, purpose)."""

    def for_actor(self, actor: str) -> tuple[AccessReviewRow, ...]:
        """Return the rows of one actor."""
        return tuple(r for r in self.rows if r.actor == actor)

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready dict of the report."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "rows": [dataclasses.asdict(r) for r in self.rows]}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class IncidentScope:
    """Which subjects and fields a set of filters touched."""

    actor: str | None
    """The actor filter, if any."""
    key_id: str | None
    """The key id filter, if any."""
    start: _dt.datetime | None
    """The window start filter (inclusive), if any."""
    end: _dt.datetime | None
    """The window end filter (exclusive), if any."""
    subjects: tuple[str, ...]
    """Subjects whose data was returned, sorted."""
    fields_by_subject: Mapping[str, tuple[str, ...]]
    """Per subject, the field names returned (clear or masked), sorted."""
    entries: tuple[int, ...]
    """Sequence numbers of the matching entries (all decisions)."""
    denied: int
    """Matching entries that were denied (nothing returned)."""
    first: _dt.datetime | None
    """Time of the first matching entry."""
    last: _dt.datetime | None
    """Time of the last matching entry."""

    def to_json(self) -> dict[str, object]:
        """Return a JSON-ready dict of the scope."""
        return {
            "actor": self.actor, "key_id": self.key_id,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "subjects": list(self.subjects),
            "fields_by_subject": {k: list(v) for k, v in self.fields_by_subject.items()},
            "entries": list(self.entries), "denied": self.denied,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
        }


def _period(start: _dt.datetime, end: _dt.datetime) -> tuple[_dt.datetime, _dt.datetime]:
    start, end = utc(start, "start"), utc(end, "end")
    if end <= start:
        raise InvalidTimeError("the review period must have start < end")
    return start, end


class _Acc:
    __slots__ = ("accesses", "break_glass", "denied", "fields", "masked", "subjects")

    def __init__(self) -> None:
        self.subjects: set[str] = set()
        self.fields: set[str] = set()
        self.masked: set[str] = set()
        self.accesses = self.denied = self.break_glass = 0


def build_access_review(log: EntrySource, start: _dt.datetime, end: _dt.datetime) -> AccessReview:
    """Compute an :class:`AccessReview` over the log's entries in ``[start, end)``."""
    start, end = _period(start, end)
    acc: dict[tuple[str, str], _Acc] = {}
    for e in log.iter_query(start=start, end=end):
        if e.action == ALERT_ACTION or not e.subject:
            continue
        slot = acc.get((e.actor, e.purpose))
        if slot is None:
            slot = acc[(e.actor, e.purpose)] = _Acc()
        slot.break_glass += e.break_glass
        if e.decision in _SEEN:
            slot.subjects.add(e.subject)
            slot.fields.update(e.fields_returned)
            slot.masked.update(e.fields_masked)
            slot.accesses += 1
        elif e.decision == "denied":
            slot.denied += 1
    rows = tuple(
        AccessReviewRow(actor=actor, purpose=purpose, subjects=tuple(sorted(v.subjects)),
                        fields=tuple(sorted(v.fields)), fields_masked=tuple(sorted(v.masked)),
                        accesses=v.accesses, denied=v.denied, break_glass=v.break_glass)
        for (actor, purpose), v in sorted(acc.items()))
    return AccessReview(start=start, end=end, rows=rows)


def build_incident_scope(log: EntrySource, *, actor: str | None, key_id: str | None,
                         start: _dt.datetime | None, end: _dt.datetime | None) -> IncidentScope:
    """Compute an :class:`IncidentScope` for the given filters (at least one)."""
    if actor is None and key_id is None and start is None and end is None:
        raise InvalidInputError("incident scoping needs an actor, a key id or a time window")
    s = utc(start, "start") if start is not None else None
    t = utc(end, "end") if end is not None else None
    if s is not None and t is not None and t <= s:
        raise InvalidTimeError("the incident window must have start < end")
    fields: dict[str, set[str]] = {}
    seqs: list[int] = []
    denied = 0
    first: _dt.datetime | None = None
    last: _dt.datetime | None = None
    for e in log.iter_query(actor=actor, key_id=key_id, start=s, end=t):
        if e.action == ALERT_ACTION or e.seq is None:
            continue
        seqs.append(e.seq)
        first = e.time if first is None or e.time < first else first
        last = e.time if last is None or e.time > last else last
        if e.decision == "denied":
            denied += 1
            continue
        if e.subject and e.decision in _SEEN:
            fields.setdefault(e.subject, set()).update(e.fields_returned, e.fields_masked)
    return IncidentScope(
        actor=actor, key_id=key_id, start=s, end=t, subjects=tuple(sorted(fields)),
        fields_by_subject=MappingProxyType({k: tuple(sorted(v))
                                            for k, v in sorted(fields.items())}),
        entries=tuple(seqs), denied=denied, first=first, last=last)
