"""Incidents as an append-only timeline of typed events, and the state folded from it."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

from ..errors import InvalidInputError

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "EVENT_KINDS",
    "EventKind",
    "GRADES",
    "Grade",
    "Incident",
    "IncidentEvent",
    "IncidentStore",
    "OPERATOR_CLASSES",
    "OperatorClass",
    "PERSONAL_INFORMATION_THRESHOLDS",
    "personal_information_grade",
]

EventKind = Literal["opened", "detected", "aware", "classified", "contained", "scoped",
                    "reported", "subjects_notified", "followup_reported",
                    "summary_reported", "note", "closed"]
EVENT_KINDS: tuple[str, ...] = ("opened", "detected", "aware", "classified", "contained",
                                "scoped", "reported", "subjects_notified",
                                "followup_reported", "summary_reported", "note", "closed")
"""The timeline's event kinds, in the order an incident usually meets them."""

Grade = Literal["general", "relatively_major", "major", "especially_major"]
GRADES: Mapping[str, str] = {"general": "一般", "relatively_major": "较大", "major": "重大",
                             "especially_major": "特别重大"}
"""The four grades of the 国家网络安全事件报告管理办法's grading guide, in order."""

PERSONAL_INFORMATION_THRESHOLDS: tuple[tuple[int, str, str], ...] = (
    (100_000_000, "especially_major",
     "网络安全事件分级指南 一(通常情况下)5: 泄露1亿人以上公民个人信息"),
    (10_000_000, "major",
     "网络安全事件分级指南 二(通常情况下)5: 泄露1000万人以上公民个人信息"),
    (1_000_000, "relatively_major",
     "网络安全事件分级指南 三(通常情况下)5: 泄露100万人以上公民个人信息"),
)
"""The grading guide's personal-information thresholds, highest first: (people, grade,
citation). "以上" includes the number itself (the guide's closing note).

The guide annexed to the 国家网络安全事件报告管理办法 (CAC, 2025-09-11, in force
2025-11-01; https://www.cac.gov.cn/2025-09/15/c_1759583017717009.htm) says that an
event meeting one of these "can usually be determined" (通常情况下…可判别为) to be of
that grade. Below one million people no number applies: the guide's general clauses
(较大量公民个人信息丢失或被窃取…) call for a person's judgement."""


def personal_information_grade(people: int) -> str | None:
    """Return the grade the guide's personal-information thresholds give, or ``None``.

    ``people`` is how many people's personal information leaked; below the lowest
    threshold the result is ``None`` and a person decides.

    >>> personal_information_grade(1_000_000), personal_information_grade(999_999)
    ('relatively_major', None)
    """
    value: object = people
    if isinstance(value, bool) or not isinstance(value, int) or people < 0:
        raise InvalidInputError("people must be a non-negative integer")
    return next((g for limit, g, _ in PERSONAL_INFORMATION_THRESHOLDS if people >= limit),
                None)


OperatorClass = Literal["cii", "state_organ", "other"]
OPERATOR_CLASSES: Mapping[str, str] = {
    "cii": "关键信息基础设施运营者 (critical information infrastructure operator)",
    "state_organ": "中央和国家机关 (central or state organ)",
    "other": "其他网络运营者 (other network operator)",
}
"""Operator classes, which decide the first reporting clock under the 办法."""


@dataclasses.dataclass(frozen=True, slots=True)
class IncidentEvent:
    """One entry of an incident's timeline; ``data`` holds ids and facts, never personal data."""

    incident_id: str
    seq: int
    """Position in the incident's timeline, from 1."""
    kind: str
    at: _dt.datetime
    """When it happened (UTC), as stated by ``actor``."""
    actor: str
    """Who recorded it (staff id, or ``monitor:<rule>``)."""
    data: Mapping[str, object] = dataclasses.field(default_factory=dict)
    prev_hash: str = ""
    """The previous event's hash (empty for the first): the register's own chain."""

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise InvalidInputError(f"unknown incident event kind {self.kind!r}")
        if self.at.tzinfo is None:
            raise InvalidInputError("incident event times must be timezone-aware")

    def body(self) -> bytes:
        """Return the canonical bytes the chain hashes."""
        return json.dumps({"incident": self.incident_id, "seq": self.seq, "kind": self.kind,
                           "at": self.at.astimezone(_dt.UTC).isoformat(),
                           "actor": self.actor, "data": self.data, "prev": self.prev_hash},
                          sort_keys=True, ensure_ascii=False,
                          separators=(",", ":")).encode()

    @property
    def hash(self) -> str:
        """SHA-256 of :meth:`body`, hex."""
        return hashlib.sha256(self.body()).hexdigest()


class IncidentStore(Protocol):
    """Where the register keeps timelines (memory, SQLite, PostgreSQL)."""

    def append(self, event: IncidentEvent) -> None:
        """Add ``event``; raise ``ConflictError`` if its (incident, seq) exists."""
        ...

    def events(self, incident_id: str) -> Sequence[IncidentEvent]:
        """Return the incident's events in order (empty if unknown)."""
        ...

    def incident_ids(self) -> Sequence[str]:
        """Return every incident id, oldest first."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class Incident:
    """An incident's current state, folded from its timeline."""

    id: str
    title: str
    opened_at: _dt.datetime
    opened_by: str
    source: str
    """``manual`` or ``monitor:<rule>``."""
    aware_at: _dt.datetime | None
    """When the firm became aware: the reporting clocks run from here."""
    operator_class: str | None
    grade: str | None
    regimes: tuple[str, ...]
    """Which reporting regimes apply (``cn_cac``, ``pipl``, ``gdpr``)."""
    high_risk: bool | None
    """GDPR Art. 34: likely a high risk to people's rights (None: not decided)."""
    risk_unlikely: bool
    """GDPR Art. 33(1): recorded decision that a risk is unlikely (no notification)."""
    encrypted_safe: bool | None
    """The data was encrypted under keys not compromised (PIPL Art. 57, GDPR 34(3)(a))."""
    contained_at: _dt.datetime | None
    people_affected: int | None
    """The largest number of people recorded as affected (a classification's
    ``people_affected`` or an attached scope's subjects)."""
    suspected_crime: bool
    """Recorded as suspected of being a crime (办法 Art. 4: report to the police)."""
    partial_report: bool
    """The first report to the regulator left items to follow (办法 Art. 7 ¶2)."""
    reports: tuple[tuple[str, _dt.datetime], ...]
    """(recipient, time) of each report made."""
    notified_at: _dt.datetime | None
    closed_at: _dt.datetime | None
    events: tuple[IncidentEvent, ...]

    @property
    def open(self) -> bool:
        """Whether the incident is still open."""
        return self.closed_at is None

    @property
    def grade_floor(self) -> str | None:
        """The grade the guide's personal-information thresholds give, or ``None``."""
        if self.people_affected is None:
            return None
        return personal_information_grade(self.people_affected)

    @property
    def effective_grade(self) -> str | None:
        """The recorded grade, raised to :attr:`grade_floor` where that is higher.

        The people affected (from a later scope, say) may reach a threshold the recorded
        grade is below; the clocks then follow the higher grade.
        """
        order = list(GRADES)
        grades = [g for g in (self.grade, self.grade_floor) if g is not None]
        return max(grades, key=order.index) if grades else None

    def reported_to(self, recipient: str) -> _dt.datetime | None:
        """Return when ``recipient`` was first reported to, or ``None``."""
        return next((t for r, t in self.reports if r == recipient), None)


def fold(events: Sequence[IncidentEvent]) -> Incident:
    """Build the state of an incident from its events."""
    if not events or events[0].kind != "opened":
        raise InvalidInputError("an incident's timeline starts with 'opened'")
    first = events[0]
    state: dict[str, object] = {
        "aware_at": None, "operator_class": None, "grade": None, "regimes": (),
        "high_risk": None, "risk_unlikely": False, "encrypted_safe": None,
        "contained_at": None, "notified_at": None, "closed_at": None,
        "people_affected": None, "suspected_crime": False, "partial_report": False}

    def people(value: object) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            current = state["people_affected"]
            state["people_affected"] = max(value, current) if isinstance(current, int) else (
                value)

    reports: list[tuple[str, _dt.datetime]] = []
    for e in events:
        d = e.data
        if e.kind == "aware" and state["aware_at"] is None:
            state["aware_at"] = e.at
        elif e.kind == "classified":
            for key in ("operator_class", "grade", "high_risk"):
                if key in d:
                    state[key] = d[key]
            if "regimes" in d:
                state["regimes"] = tuple(str(r) for r in d["regimes"])  # type: ignore[attr-defined]
            if "risk_unlikely" in d:
                state["risk_unlikely"] = bool(d["risk_unlikely"])
            if "suspected_crime" in d:
                state["suspected_crime"] = bool(d["suspected_crime"])
            people(d.get("people_affected"))
        elif e.kind == "scoped":
            if "encrypted_safe" in d:
                state["encrypted_safe"] = d["encrypted_safe"]
            people(d.get("subjects"))
        elif e.kind == "contained" and state["contained_at"] is None:
            state["contained_at"] = e.at
        elif e.kind in ("reported", "followup_reported", "summary_reported"):
            reports.append((f"{e.kind}:{d.get('to', '')}", e.at))
            if e.kind == "reported" and d.get("to") == "cn_cac.initial" and d.get("partial"):
                state["partial_report"] = True
        elif e.kind == "subjects_notified" and state["notified_at"] is None:
            state["notified_at"] = e.at
        elif e.kind == "closed":
            state["closed_at"] = e.at
    return Incident(
        id=first.incident_id, title=str(first.data.get("title", "")), opened_at=first.at,
        opened_by=first.actor, source=str(first.data.get("source", "manual")),
        reports=tuple(reports), events=tuple(events), **state)  # type: ignore[arg-type]
