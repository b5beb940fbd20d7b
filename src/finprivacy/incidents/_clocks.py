"""The legal reporting clocks of an incident, each with the rule it comes from.

Every clock runs from the moment the firm became aware (the ``aware`` event) — the
post-incident summary from the end of the handling (``closed``) — and is an instant in
UTC: 72 hours are 72 elapsed hours, through nights, weekends and daylight saving
changes, whatever the local zone in which they are shown.

=====================  ==============================================  ===============
obligation             when it applies                                 due
=====================  ==============================================  ===============
``cn_cac.initial``     regime ``cn_cac``, grade 较大 or above (the      1 h (CII operator),
                       recorded grade, or the grading guide's          2 h (central or
                       personal-information threshold the people       state organ), 4 h
                       affected reach)                                 (other operator)
``cn_cac.followup``    the initial report left items to follow         promptly (及时补报)
                       (``reported(..., partial=True)``, Art. 7 ¶2)
``cn_cac.summary``     as ``cn_cac.initial``, once handling ended      30 days after
                       (``closed``; Art. 8)                            ``closed``
``cn_cac.police``      regime ``cn_cac``, recorded as a suspected      promptly (及时报案)
                       crime (Art. 4)
``pipl.authority``     regime ``pipl``                                 immediately
``pipl.individuals``   regime ``pipl``, unless the data was encrypted  immediately
                       under keys not compromised (Art. 57 ¶2)
``gdpr.authority``     regime ``gdpr``, unless a risk was recorded as  72 h
                       unlikely (Art. 33(1))
``gdpr.subjects``      regime ``gdpr``, high risk, and not encrypted   without undue
                       under keys not compromised (Art. 34(1), (3)(a))  delay
=====================  ==============================================  ===============

The 办法 is the 国家网络安全事件报告管理办法 (国家互联网信息办公室, 2025-09-11, in force
2025-11-01), published with its annex 网络安全事件分级指南 at
https://www.cac.gov.cn/2025-09/15/c_1759583017717009.htm. Its hours, the 30 days of
Art. 8 and the guide's personal-information thresholds were checked against verbatim
quotations of that page and reprints of it (see docs/explanation/incidents.md), not
against the page itself, which cannot be reached from where this was written. "30日内"
is counted here as 30 elapsed days from the recorded end of the handling: no later than
the 24:00 reading of the Civil Code (Arts. 201-203), so never a day too late.
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
    "cn_cac.followup": "国家网络安全事件报告管理办法 第七条第二款 (其他情况及时补报)",
    "cn_cac.summary": "国家网络安全事件报告管理办法 第八条 (处置工作结束后30日内)",
    "cn_cac.police": "国家网络安全事件报告管理办法 第四条 (涉嫌违法犯罪的，及时向公安机关报案)",
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
    """One of :data:`CITATIONS`' keys: ``cn_cac.initial``, ``cn_cac.followup``,
    ``cn_cac.summary``, ``cn_cac.police``, ``pipl.authority``, ``pipl.individuals``,
    ``gdpr.authority`` or ``gdpr.subjects``."""
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
    if "cn_cac" in regimes and incident.effective_grade in _REPORTABLE_GRADES:
        cls = incident.operator_class or "other"
        recipient = _CN_RECIPIENT.get(cls, _CN_RECIPIENT["other"])
        initial = incident.reported_to("reported:cn_cac.initial")
        add("cn_cac.initial", recipient,
            aware + _dt.timedelta(hours=_CN_HOURS.get(cls, 4)), False, initial)
        if incident.partial_report and initial is not None:
            add("cn_cac.followup", recipient, initial, True,
                incident.reported_to("followup_reported:cn_cac.followup"))
        if incident.closed_at is not None:
            add("cn_cac.summary", recipient + " (the same channel as the first report)",
                incident.closed_at + _dt.timedelta(days=30), False,
                incident.reported_to("summary_reported:cn_cac.summary"))
    if "cn_cac" in regimes and incident.suspected_crime:
        add("cn_cac.police", "the public security organ", aware, True,
            incident.reported_to("reported:cn_cac.police"))
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
