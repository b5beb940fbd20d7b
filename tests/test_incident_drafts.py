"""Drafts (issue 20): regulator report, post-incident summary, subject notices in
Chinese and English per channel with SMS segment limits, and notification through a
contact callback that never leaves a contact in the register."""

from __future__ import annotations

import datetime as dt

import pytest

import finprivacy as fp
from finprivacy.incidents import (
    IncidentRegister,
    notify_subjects,
    post_incident_summary,
    regulator_report,
    sms_parts,
    subject_notice,
)

AWARE = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)


@pytest.fixture
def incident() -> tuple[IncidentRegister, str]:
    reg = IncidentRegister(clock=fp.FixedClock(AWARE))
    inc = reg.open("export e-mailed to a wrong address", actor="sec-1",
                   detected_at=AWARE - dt.timedelta(hours=1), aware_at=AWARE)
    reg.classify(inc.id, actor="dpo", operator_class="other", grade="relatively_major",
                 regimes=["cn_cac", "pipl"])
    log = fp.AuditLog("memory:")
    reg.attach_scope(inc.id, log.incident_scope(actor="nobody"), actor="dpo",
                     categories=["account", "identity"], encrypted_safe=False)
    log.close()
    reg.contained(inc.id, actor="ops")
    return reg, inc.id


def test_sms_segments() -> None:
    assert sms_parts("a" * 160) == 1 and sms_parts("a" * 161) == 2
    assert sms_parts("中" * 70) == 1 and sms_parts("中" * 71) == 2 and sms_parts("中" * 134) == 2
    assert sms_parts("中" * 135) == 3


@pytest.mark.parametrize("language", ["zh", "en"])
def test_notices_per_channel(incident: tuple[IncidentRegister, str], language: str) -> None:
    reg, iid = incident
    inc = reg.get(iid)
    common = {"firm": "莲花记账" if language == "zh" else "Lotus Books",
                  "categories": ["银行卡号", "身份证号"] if language == "zh" else
                  ["card number", "ID number"],
                  "cause": "邮件误发" if language == "zh" else "an e-mail sent to a wrong address",
                  "harm": "可能被用于诈骗" if language == "zh" else "fraud attempts",
                  "measures": "已要求收件人删除" if language == "zh"
                  else "had the recipient delete it",
                  "advice": "留意可疑来电" if language == "zh" else "watch for suspicious calls",
                  "contact": "400-000-0000 / dpo@lotus.example", "link": "https://lotus.example/n/1"}
    mail = subject_notice(inc, channel="email", language=language,
                          **common)  # type: ignore[arg-type]
    assert mail.title and "400-000-0000" in mail.text and "2026-12-07" in mail.text
    sms = subject_notice(inc, channel="sms", language=language, **common)  # type: ignore[arg-type]
    assert sms.parts <= 2 and sms.parts == sms_parts(sms.text)
    assert "https://lotus.example" in sms.text
    with pytest.raises(fp.InvalidInputError, match="segments"):
        subject_notice(inc, channel="sms", language=language,
                       **{**common, "advice": "x" * 400})  # type: ignore[arg-type]
    with pytest.raises(fp.InvalidInputError):
        subject_notice(inc, channel="fax", language=language, **common)  # type: ignore[arg-type]


def test_regulator_report_and_summary(incident: tuple[IncidentRegister, str]) -> None:
    reg, iid = incident
    inc = reg.get(iid)
    report = regulator_report(inc, firm="莲花记账", contact="王敏 010-0000", systems="mail",
                              cause="misaddressed e-mail", impact="one export",
                              measures="recall, deletion confirmed")
    assert "较大" in report and "account,identity" in report and "已控制" in report
    assert AWARE.isoformat() in report
    summary = post_incident_summary(inc, cause="autocomplete", lessons="check recipients",
                                    improvements="DLP rule on exports")
    assert "classified" in summary and "DLP rule" in summary


def test_notify_subjects_records_counts_never_contacts(
        incident: tuple[IncidentRegister, str]) -> None:
    reg, iid = incident
    notice = subject_notice(reg.get(iid), channel="sms", language="zh", firm="莲花记账",
                            categories=["银行卡号"], cause="误发", harm="诈骗",
                            measures="删除", advice="警惕", contact="400",
                            link="https://l.example/1")
    phones = {"c-1": "13812345678", "c-2": "13912345678"}
    outbox: list[tuple[str, str]] = []
    sent, missing = notify_subjects(reg, iid, ["c-1", "c-2", "c-3"], notice,
                                    contact_for=lambda s, ch: phones.get(s),
                                    send=lambda addr, n: outbox.append((addr, n.text)),
                                    actor="dpo")
    assert (sent, missing) == (2, 1) and len(outbox) == 2
    inc = reg.get(iid)
    assert inc.notified_at is not None
    event = inc.events[-1]
    assert event.kind == "subjects_notified" and event.data == {"channel": "sms", "count": 2}
    assert "13812345678" not in repr(inc.events)
    assert not [o for o in fp.incidents.obligations(inc) if o.key == "pipl.individuals"
                and o.met_at is None]
