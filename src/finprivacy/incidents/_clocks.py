"""The legal reporting clocks of an incident, each with the rule it comes from.

Every clock runs from the moment the firm became aware (the ``aware`` event) and is an
instant in UTC: 72 hours are 72 elapsed hours, through nights, weekends and daylight
saving changes, whatever the local zone in which they are shown.

=====================  ==============================================  ===============
obligation             when it applies                                 due
=====================  ==============================================  ===============
``cn_cac.initial``     regime ``cn_cac``, grade 较大 or above           1 h (CII operator),
                                                                       2 h (central or
                                                                       state organ), 4 h
                                                                       (other operator)
``pipl.authority``     regime ``pipl``                                 immediately
``pipl.individuals``   regime ``pipl``, unless the data was encrypted  immediately
                       under keys not compromised (Art. 57 ¶2)
``gdpr.authority``     regime ``gdpr``, unless a risk was recorded as  72 h
                       unlikely (Art. 33(1))
``gdpr.subjects``      regime ``gdpr``, high risk, and not encrypted   without undue
                       under keys not compromised (Art. 34(1), (3)(a))  delay
=====================  ==============================================  ===============

The 办法's hours are taken from 国家网络安全事件报告管理办法 Art. 4 as summarised in
this project's issue 20; the official text could not be read from where this was
written, and its grading guide's thresholds (and the follow-up and post-incident
summary deadlines) are not encoded — see docs/explanation/incidents.md.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt

from ._model import Incident

__all__ = [
    "CITATIONS",
    "Obligation",
    "obligations",
]

CITATIONS = {
    "cn_cac.initial": "国家网络安全事件报告管理办法 第四条 (CAC, in force 2025-11-01)",
    "pipl.authority": "个人信息保护法 第五十七条 (PIPL Art. 57 ¶1)",
    "pipl.individuals": "个人信息保护法 第五十七条 (PIPL Art. 57 ¶1, ¶2)",
    "gdpr.authority": "GDPR Art. 33(1)",
    "gdpr.subjects": "GDPR Art. 34(1), 34(3)(a)",
}
"""The rule each obligation comes from."""

_CN_HOURS = {"cii": 1, "state_organ": 2, "other": 4}
_CN_RECIPIENT = {
    "cii": "the protection department and the public security organ",
    "state_organ": "the cyber-affairs department (central or state organ route)",
    "other": "the provincial cyber-affairs department",
}
_REPORTABLE_GRADES = frozenset({"relatively_major", "major", "especially_major"})


@dataclasses.dataclass(frozen=True, slots=True)
class Obligation:
    """One thing that must be sent, to whom, by when, and whether it was."""

    incident_id: str
    key: str
    """``cn_cac.initial``, ``pipl.authority``, ``pipl.individuals``, ``gdpr.authority``
    or ``gdpr.subjects``."""
    recipient: str
    due: _dt.datetime
    """The deadline (UTC); for "immediately" and "without undue delay", the moment of
    awareness itself."""
    immediate: bool
    """The rule says "immediately" / "without undue delay" rather than a number of hours."""
    citation: str
    met_at: _dt.datetime | None
    """When it was done (a ``reported`` / ``subjects_notified`` event), or ``None``."""

    @property
    def late(self) -> bool:
        """Done, but after the deadline (GDPR Art. 33(1) then wants the reasons)."""
        return self.met_at is not None and not self.immediate and self.met_at > self.due

    def overdue(self, now: _dt.datetime) -> bool:
        """Not done and past the deadline."""
        return self.met_at is None and now >= self.due


def obligations(incident: Incident) -> list[Obligation]:
    """Return the incident's obligations (empty until awareness is recorded)."""
    aware = incident.aware_at
    if aware is None:
        return []
    out: list[Obligation] = []

    def add(key: str, recipient: str, due: _dt.datetime, immediate: bool,
            met: _dt.datetime | None) -> None:
        out.append(Obligation(incident.id, key, recipient, due, immediate, CITATIONS[key],
                              met))

    regimes = set(incident.regimes)
    if "cn_cac" in regimes and incident.grade in _REPORTABLE_GRADES:
        cls = incident.operator_class or "other"
        add("cn_cac.initial", _CN_RECIPIENT.get(cls, _CN_RECIPIENT["other"]),
            aware + _dt.timedelta(hours=_CN_HOURS.get(cls, 4)), False,
            incident.reported_to("reported:cn_cac.initial"))
    if "pipl" in regimes:
        add("pipl.authority", "the departments performing personal information protection "
            "duties", aware, True, incident.reported_to("reported:pipl.authority"))
        if not incident.encrypted_safe:
            add("pipl.individuals", "the individuals concerned", aware, True,
                incident.notified_at)
    if "gdpr" in regimes and not incident.risk_unlikely:
        add("gdpr.authority", "the competent supervisory authority",
            aware + _dt.timedelta(hours=72), False,
            incident.reported_to("reported:gdpr.authority"))
        if incident.high_risk and not incident.encrypted_safe:
            add("gdpr.subjects", "the data subjects", aware, True, incident.notified_at)
    return out
