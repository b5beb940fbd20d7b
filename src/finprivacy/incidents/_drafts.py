"""Drafts from the register: regulator report, summary, notices to the people affected.

In Chinese and English, per channel.

A draft is text for a person to check and send; nothing here sends to a regulator.
Notices to people are sent by :func:`notify_subjects`, which asks a callback for each
person's contact at send time and records only the channel and the count: contact
details never enter the register.

Contents follow what the rules name: PIPL Art. 57 ¶1 (the kinds of personal
information involved, the cause and possible harm; the remedial measures taken and what
people can do to reduce harm; how to contact the handler) and GDPR Arts. 33(3) and
34(2) (the nature of the breach, the contact point, likely consequences, measures
taken or proposed). The regulator report's fields under the 办法 are the ones its
summary in issue 20 implies; check them against the official form before first use
(docs/explanation/incidents.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence

from ..errors import InvalidInputError
from ._model import GRADES, OPERATOR_CLASSES, Incident

__all__ = [
    "Notice",
    "notify_subjects",
    "post_incident_summary",
    "regulator_report",
    "sms_parts",
    "subject_notice",
]

_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")


def sms_parts(text: str) -> int:
    """Return how many SMS segments ``text`` needs (GSM 03.38: 160/153, else UCS-2 70/67)."""
    if set(text) <= _GSM7:
        single, multi = 160, 153
    else:
        single, multi = 70, 67
    n = len(text)
    return 1 if n <= single else -(-n // multi)


@dataclasses.dataclass(frozen=True, slots=True)
class Notice:
    """One notice, ready to send on one channel."""

    channel: str
    """``sms``, ``email`` or ``announcement``."""
    language: str
    """``zh`` or ``en``."""
    title: str
    """E-mail subject or announcement title (empty for SMS)."""
    text: str
    parts: int
    """SMS segments (1 for other channels)."""


_TEXT = {
    "zh": {
        "title": "{firm}关于个人信息安全事件的告知",
        "body": ("尊敬的客户：{firm}于{aware}发现一起个人信息安全事件，可能涉及您的{categories}。"
                 "原因：{cause}。可能造成的影响：{harm}。我们已采取的补救措施：{measures}。"
                 "建议您：{advice}。如有疑问，请联系：{contact}。"),
        "sms": "【{firm}】我们发现一起可能涉及您{categories}的信息安全事件，已采取{measures}。"
               "建议{advice}。详情：{link}",
        "sep": "、",
    },
    "en": {
        "title": "{firm}: notice of a personal data breach",
        "body": ("Dear client, on {aware} {firm} became aware of a personal data breach that "
                 "may involve your {categories}. Cause: {cause}. Likely consequences: {harm}. "
                 "What we have done: {measures}. What you can do: {advice}. Contact: "
                 "{contact}."),
        "sms": "{firm}: a data breach may involve your {categories}. We have {measures}. "
               "Please {advice}. Details: {link}",
        "sep": ", ",
    },
}


def subject_notice(incident: Incident, *, channel: str, language: str, firm: str,
                   categories: Sequence[str], cause: str, harm: str, measures: str,
                   advice: str, contact: str, link: str = "",
                   max_sms_parts: int = 2) -> Notice:
    """Draft the notice to the people affected, for one channel and language.

    SMS keeps to the short form with ``link`` to the full notice and refuses to exceed
    ``max_sms_parts`` segments (reword, or shorten the inputs).
    """
    if language not in _TEXT:
        raise InvalidInputError("language is 'zh' or 'en'")
    if channel not in ("sms", "email", "announcement"):
        raise InvalidInputError("channel is 'sms', 'email' or 'announcement'")
    if not categories:
        raise InvalidInputError("name the kinds of personal information involved")
    t = _TEXT[language]
    aware = incident.aware_at or incident.opened_at
    values = {"firm": firm, "categories": t["sep"].join(categories), "cause": cause,
              "harm": harm, "measures": measures, "advice": advice, "contact": contact,
              "link": link, "aware": aware.date().isoformat()}
    if channel == "sms":
        if not link:
            raise InvalidInputError("an SMS notice needs a link to the full notice")
        text = t["sms"].format(**values)
        parts = sms_parts(text)
        if parts > max_sms_parts:
            raise InvalidInputError(f"the SMS needs {parts} segments (limit {max_sms_parts}); "
                                    "shorten the measures or advice")
        return Notice("sms", language, "", text, parts)
    return Notice(channel, language, t["title"].format(**values), t["body"].format(**values),
                  1)


def regulator_report(incident: Incident, *, firm: str, contact: str, systems: str,
                     cause: str, impact: str, measures: str, language: str = "zh",
                     scope: Mapping[str, object] | None = None, event_type: str = "-",
                     next_steps: str = "-") -> str:
    """Draft the report to the regulator from the register (check it against the form).

    The rows follow what 办法 Art. 7 asks for — the unit and its systems, when the
    event was found, its type and grade, the harm done, the measures taken, a first
    view of the cause, the next steps and any support requested — as far as secondary
    sources quote it; Art. 7 ¶2 lets the first items go alone when the cause or impact
    cannot be told in time (record that with ``reported(..., partial=True)``).
    """
    scoped = next((e.data for e in reversed(incident.events) if e.kind == "scoped"), {})
    facts = {**scoped, **(scope or {})}
    grade = GRADES.get(incident.effective_grade or "", "未定级 / not graded")
    operator = OPERATOR_CLASSES.get(incident.operator_class or "", "-")
    rows = [
        ("报告单位 / Reporting entity", firm),
        ("联系人 / Contact", contact),
        ("运营者类别 / Operator class", operator),
        ("事件名称 / Incident", incident.title),
        ("发现时间 / Detected", _first(incident, "detected") or "-"),
        ("知悉时间 / Became aware", incident.aware_at.isoformat() if incident.aware_at
         else "-"),
        ("事件类型 / Type", event_type),
        ("事件级别 / Grade", grade),
        ("涉及系统 / Systems", systems),
        ("原因 / Cause", cause),
        ("影响范围 / Impact", impact),
        ("涉及个人信息主体数量 / People affected", str(facts.get("subjects", "-"))),
        ("涉及信息种类 / Categories", str(facts.get("categories", "-")) or "-"),
        ("数据是否已加密且密钥未泄露 / Encrypted, keys not compromised",
         str(facts.get("encrypted_safe", "-"))),
        ("已采取措施 / Measures taken", measures),
        ("拟进一步采取的措施及请求支援事项 / Next steps, support requested", next_steps),
        ("处置状态 / Status", "已控制 / contained" if incident.contained_at else
         "处置中 / ongoing"),
    ]
    head = "网络安全事件报告 / Cybersecurity incident report" if language == "zh" else (
        "Cybersecurity incident report")
    return head + "\n" + "\n".join(f"{k}: {v}" for k, v in rows) + "\n"


def post_incident_summary(incident: Incident, *, cause: str, lessons: str,
                          improvements: str) -> str:
    """Draft the post-incident summary: the timeline, the cause, what changes."""
    lines = [f"事件总结 / Post-incident summary: {incident.title} ({incident.id})", "",
             "时间线 / Timeline:"]
    lines += [f"  {e.at.isoformat()}  {e.kind:<18} {e.actor}" for e in incident.events]
    lines += ["", f"原因 / Cause: {cause}", f"教训 / Lessons: {lessons}",
              f"改进措施 / Improvements: {improvements}"]
    return "\n".join(lines) + "\n"


def _first(incident: Incident, kind: str) -> str:
    return next((e.at.isoformat() for e in incident.events if e.kind == kind), "")


def notify_subjects(register: object, incident_id: str, subjects: Iterable[str], notice: Notice,
                    *, contact_for: Callable[[str, str], str | None],
                    send: Callable[[str, Notice], None], actor: str) -> tuple[int, int]:
    """Send ``notice`` to each subject; return (sent, without a contact).

    ``contact_for(subject, channel)`` returns the address or phone number at send time
    (``None`` if there is none); ``send(address, notice)`` delivers it. The register
    records the channel and the count only, never a contact.
    """
    sent = missing = 0
    for subject in subjects:
        address = contact_for(subject, notice.channel)
        if not address:
            missing += 1
            continue
        send(address, notice)
        sent += 1
    register.subjects_notified(incident_id, actor=actor,  # type: ignore[attr-defined]
                               channel=notice.channel, count=sent)
    return sent, missing
