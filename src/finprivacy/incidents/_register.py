"""The incident register: open, record, classify, scope, report, close — and what is due."""

from __future__ import annotations

import datetime as _dt
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._stores import open_store
from ..audit.events import AuditEvent, AuditSink
from ..clock import Clock, SystemClock, utc
from ..errors import AuditIntegrityError, ConflictError, InvalidInputError, NotFoundError
from ._clocks import Obligation, obligations
from ._model import (
    GRADES,
    OPERATOR_CLASSES,
    PERSONAL_INFORMATION_THRESHOLDS,
    Incident,
    IncidentEvent,
    IncidentStore,
    fold,
    personal_information_grade,
)

__all__ = [
    "IncidentRegister",
    "MemoryIncidentStore",
]

_REGIMES = frozenset({"cn_cac", "pipl", "gdpr"})
_AFTER_CLOSE = frozenset({"note", "reported", "followup_reported", "summary_reported",
                          "subjects_notified"})


class MemoryIncidentStore:
    """An :class:`IncidentStore` in memory (tests, demos)."""

    def __init__(self) -> None:
        self._events: dict[str, list[IncidentEvent]] = {}
        self._lock = threading.Lock()

    def append(self, event: IncidentEvent) -> None:
        """Add ``event``; raise ``ConflictError`` if its position is taken."""
        with self._lock:
            timeline = self._events.setdefault(event.incident_id, [])
            if event.seq != len(timeline) + 1:
                raise ConflictError(f"incident {event.incident_id} already has event "
                                    f"{event.seq}")
            timeline.append(event)

    def events(self, incident_id: str) -> Sequence[IncidentEvent]:
        """Return the incident's events in order."""
        with self._lock:
            return tuple(self._events.get(incident_id, ()))

    def incident_ids(self) -> Sequence[str]:
        """Return every incident id, oldest first."""
        with self._lock:
            return tuple(self._events)


class IncidentRegister:
    """The firm's incident register, on any store (``memory:``, ``sqlite:///…``, …).

    Every change is a new event on the incident's timeline (nothing is edited), chained
    by hash, and mirrored to ``audit`` (an ``AuditLog``) as ``incident.<kind>``, so the
    register is tamper-evident twice over. ``create=False`` (readers) raises
    :class:`~finprivacy.errors.NotFoundError` for a store that does not exist instead
    of creating it. Decisions — the grade, whether a risk is
    unlikely, whether the data was safely encrypted — are recorded with who made them
    and their evidence; the register never decides on its own.
    """

    def __init__(self, store: IncidentStore | str = "memory:", *,
                 audit: AuditSink | None = None, clock: Clock | None = None,
                 create: bool = True) -> None:
        self._store: IncidentStore = (open_store("incidents", store, create=create)
                                      if isinstance(store, str) else store)
        self._audit = audit
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()

    # -- recording ---------------------------------------------------------------------

    def _record(self, incident_id: str, kind: str, actor: str,
                data: Mapping[str, object], at: _dt.datetime | None) -> IncidentEvent:
        if not actor:
            raise InvalidInputError("every incident event names its actor")
        when = utc(at, "at") if at is not None else self._clock.now()
        with self._lock:
            previous = self._store.events(incident_id)
            if kind != "opened" and not previous:
                raise NotFoundError(f"no incident {incident_id!r}")
            if previous and fold(previous).closed_at is not None and kind not in _AFTER_CLOSE:
                raise InvalidInputError(f"incident {incident_id} is closed; only notes and "
                                        "reports (the summary, a late report) are recorded")
            event = IncidentEvent(incident_id=incident_id, seq=len(previous) + 1, kind=kind,
                                  at=when, actor=actor, data=dict(data),
                                  prev_hash=previous[-1].hash if previous else "")
            self._store.append(event)
        if self._audit is not None:
            self._audit.record(AuditEvent(
                action=f"incident.{kind}", actor=actor, decision="info", time=when,
                details={"incident": incident_id, "seq": str(event.seq),
                         "hash": event.hash,
                         **{k: str(v) for k, v in data.items()
                            if isinstance(v, str | int | bool | float)}}))
        return event

    def open(self, title: str, *, actor: str, source: str = "manual",
             detected_at: _dt.datetime | None = None,
             aware_at: _dt.datetime | None = None) -> Incident:
        """Open an incident; ``aware_at`` starts the clocks (it can be recorded later)."""
        if not title:
            raise InvalidInputError("an incident needs a title (no personal data in it)")
        incident_id = "inc-" + uuid.uuid4().hex[:12]
        self._record(incident_id, "opened", actor, {"title": title, "source": source}, None)
        if detected_at is not None:
            self._record(incident_id, "detected", actor, {}, detected_at)
        if aware_at is not None:
            self._record(incident_id, "aware", actor, {}, aware_at)
        return self.get(incident_id)

    def open_from_alert(self, alert: Any, *, rules: Iterable[str],
                        actor: str = "") -> Incident | None:
        """Open an incident for a monitor alert whose rule is in ``rules`` (auto-open).

        The alert's time is when the firm became aware. Returns ``None`` for other
        rules. ``alert`` is a :class:`~finprivacy.audit.Alert` (or anything with
        ``rule``, ``time`` and ``message``).
        """
        rule = str(getattr(alert, "rule", ""))
        if rule not in set(rules):
            return None
        at = getattr(alert, "time", None)
        return self.open(f"monitor alert: {rule}", actor=actor or f"monitor:{rule}",
                         source=f"monitor:{rule}", detected_at=at, aware_at=at)

    def aware(self, incident_id: str, *, actor: str, at: _dt.datetime | None = None) -> None:
        """Record when the firm became aware (the clocks' start)."""
        self._record(incident_id, "aware", actor, {}, at)

    def classify(self, incident_id: str, *, actor: str, operator_class: str, grade: str,
                 regimes: Iterable[str], high_risk: bool | None = None,
                 risk_unlikely: bool = False, evidence: str = "",
                 people_affected: int | None = None, suspected_crime: bool = False,
                 at: _dt.datetime | None = None) -> None:
        """Record the classification decision: who decided, on what evidence.

        ``people_affected`` is the number of people whose personal information leaked:
        a grade below the one the grading guide's thresholds give for it (1,000,000
        people or more: 较大; 10,000,000: 重大; 100,000,000: 特别重大) is refused with
        the threshold cited. A later scope with more people raises the incident's
        :attr:`~Incident.effective_grade` (and its clocks) the same way.
        ``suspected_crime`` adds the 办法's report to the police.
        """
        if operator_class not in OPERATOR_CLASSES:
            raise InvalidInputError(f"operator_class is one of {sorted(OPERATOR_CLASSES)}")
        if grade not in GRADES:
            raise InvalidInputError(f"grade is one of {sorted(GRADES)}")
        chosen = sorted(set(regimes))
        if not set(chosen) <= _REGIMES:
            raise InvalidInputError(f"regimes are among {sorted(_REGIMES)}")
        if people_affected is not None:
            floor = personal_information_grade(people_affected)
            order = list(GRADES)
            if floor is not None and order.index(grade) < order.index(floor):
                cite = next(c for _, g, c in PERSONAL_INFORMATION_THRESHOLDS if g == floor)
                raise InvalidInputError(
                    f"a leak of {people_affected:,} people's personal information is at "
                    f"least {GRADES[floor]} ({floor}) under {cite}; grade "
                    f"{GRADES[grade]} ({grade}) is below it")
        data: dict[str, object] = {"operator_class": operator_class, "grade": grade,
                                   "regimes": chosen, "risk_unlikely": risk_unlikely,
                                   "evidence": evidence}
        if high_risk is not None:
            data["high_risk"] = high_risk
        if people_affected is not None:
            data["people_affected"] = people_affected
        if suspected_crime:
            data["suspected_crime"] = True
        self._record(incident_id, "classified", actor, data, at)

    def attach_scope(self, incident_id: str, scope: Any, *, actor: str,
                     categories: Iterable[str] = (), encrypted_safe: bool | None = None,
                     evidence: str = "", at: _dt.datetime | None = None) -> None:
        """Attach an audit-log incident scope (``AuditLog.incident_scope(...)``).

        Only counts and ids are kept: the number of subjects, the fields, the data
        categories (from the inventory) and the decision whether the data was
        encrypted under keys not compromised, with its evidence.
        """
        subjects = tuple(getattr(scope, "subjects", ()))
        fields = sorted({f for fs in getattr(scope, "fields_by_subject", {}).values()
                         for f in fs})
        data: dict[str, object] = {"subjects": len(subjects), "fields": ",".join(fields),
                                   "categories": ",".join(sorted(set(categories))),
                                   "evidence": evidence}
        if encrypted_safe is not None:
            data["encrypted_safe"] = encrypted_safe
        self._record(incident_id, "scoped", actor, data, at)

    def contained(self, incident_id: str, *, actor: str, at: _dt.datetime | None = None,
                  note: str = "") -> None:
        """Record that the incident was contained."""
        self._record(incident_id, "contained", actor, {"note": note}, at)

    def reported(self, incident_id: str, to: str, *, actor: str,
                 at: _dt.datetime | None = None, reference: str = "",
                 delay_reasons: str = "", partial: bool = False) -> None:
        """Record a report (``to``: an obligation key such as ``gdpr.authority``).

        ``partial=True`` on ``cn_cac.initial`` records that the cause, impact or trend
        could not be told in time and only the first items were sent (办法 Art. 7 ¶2):
        the follow-up report (:meth:`followup_reported`) then falls due.
        """
        data: dict[str, object] = {"to": to, "reference": reference,
                                   "delay_reasons": delay_reasons}
        if partial:
            data["partial"] = True
        self._record(incident_id, "reported", actor, data, at)

    def followup_reported(self, incident_id: str, *, actor: str,
                          at: _dt.datetime | None = None, reference: str = "") -> None:
        """Record the follow-up report of the items a partial first report left out."""
        self._record(incident_id, "followup_reported", actor,
                     {"to": "cn_cac.followup", "reference": reference}, at)

    def summary_reported(self, incident_id: str, *, actor: str,
                         at: _dt.datetime | None = None, reference: str = "") -> None:
        """Record the post-incident summary report (办法 Art. 8; allowed after closing)."""
        self._record(incident_id, "summary_reported", actor,
                     {"to": "cn_cac.summary", "reference": reference}, at)

    def subjects_notified(self, incident_id: str, *, actor: str, channel: str, count: int,
                          at: _dt.datetime | None = None) -> None:
        """Record that the affected people were told (channel and how many, no contacts)."""
        self._record(incident_id, "subjects_notified", actor,
                     {"channel": channel, "count": count}, at)

    def note(self, incident_id: str, text: str, *, actor: str,
             at: _dt.datetime | None = None) -> None:
        """Add a note to the timeline (allowed after closing: lessons learnt)."""
        self._record(incident_id, "note", actor, {"text": text}, at)

    def close(self, incident_id: str, *, actor: str, at: _dt.datetime | None = None,
              summary: str = "") -> None:
        """Close the incident: the handling is over (the 办法's 30 days start here).

        Afterwards only notes and reports are recorded: the post-incident summary, and
        any report still owed.
        """
        self._record(incident_id, "closed", actor, {"summary": summary}, at)

    # -- reading -------------------------------------------------------------------------

    def get(self, incident_id: str) -> Incident:
        """Return the incident's state; raise ``NotFoundError`` if unknown."""
        events = self._store.events(incident_id)
        if not events:
            raise NotFoundError(f"no incident {incident_id!r}")
        return fold(events)

    def incidents(self, *, open_only: bool = False) -> list[Incident]:
        """Return every incident, oldest first."""
        found = [self.get(i) for i in self._store.incident_ids()]
        return [i for i in found if i.open] if open_only else found

    def due(self, now: _dt.datetime | None = None) -> tuple[list[Obligation], list[Obligation]]:
        """Return (overdue, coming) unmet obligations, each sorted by deadline.

        Closed incidents count too: the post-incident summary falls due after closing,
        and a report never made stays overdue.
        """
        when = utc(now, "now") if now is not None else self._clock.now()
        overdue: list[Obligation] = []
        coming: list[Obligation] = []
        for incident in self.incidents():  # a closed incident can still owe a report
            for ob in obligations(incident):
                if ob.met_at is not None:
                    continue
                (overdue if ob.overdue(when) else coming).append(ob)
        return (sorted(overdue, key=lambda o: o.due), sorted(coming, key=lambda o: o.due))

    def verify(self, incident_id: str | None = None) -> int:
        """Check every timeline's hash chain; return the events checked.

        Raises :class:`~finprivacy.errors.AuditIntegrityError` naming the first event
        whose link is broken (an event edited, removed or inserted in the store).
        """
        ids = [incident_id] if incident_id is not None else list(self._store.incident_ids())
        checked = 0
        for iid in ids:
            prev = ""
            for n, event in enumerate(self._store.events(iid), start=1):
                if event.seq != n or event.prev_hash != prev:
                    raise AuditIntegrityError(
                        f"incident {iid}: event {n} does not follow the one before")
                prev = event.hash
                checked += 1
        return checked
