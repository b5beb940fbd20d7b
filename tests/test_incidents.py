"""The incident register (issue 20, first part): timelines on memory, SQLite and
PostgreSQL, each clock at its boundary in two time zones and over a weekend, auto-open
from a monitor alert, and the register's own tamper evidence."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

import finprivacy as fp
from finprivacy.incidents import CITATIONS, IncidentRegister, obligations

SHANGHAI, BERLIN = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Berlin")
H = dt.timedelta(hours=1)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def register(request: pytest.FixtureRequest) -> IncidentRegister:
    url = "memory:" if request.param == "memory" else str(
        request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'pg'}_url"))
    return IncidentRegister(url, clock=fp.FixedClock(dt.datetime(2026, 12, 4, tzinfo=dt.UTC)))


@pytest.mark.parametrize(("operator_class", "hours"), [("cii", 1), ("state_organ", 2),
                                                       ("other", 4)])
def test_the_cac_clock_by_operator_class_at_its_boundary(register: IncidentRegister,
                                                         operator_class: str,
                                                         hours: int) -> None:
    aware = dt.datetime(2026, 12, 4, 23, 30, tzinfo=SHANGHAI)  # late on a Friday
    inc = register.open("ransomware on the file server", actor="sec-1", aware_at=aware)
    register.classify(inc.id, actor="dpo", operator_class=operator_class,
                      grade="relatively_major", regimes=["cn_cac"], evidence="ticket 7")
    (ob,) = obligations(register.get(inc.id))
    assert ob.key == "cn_cac.initial" and ob.due == aware + hours * H
    assert "第四条" in ob.citation
    just_before = aware + hours * H - dt.timedelta(seconds=1)
    assert register.due(just_before) == ([], [ob])
    assert register.due(aware + hours * H) == ([ob], [])  # at the boundary: overdue
    register.reported(inc.id, "cn_cac.initial", actor="dpo", at=aware + hours * H - H / 2)
    assert register.due(aware + 10 * H) == ([], [])


def test_general_grade_starts_no_cac_clock(register: IncidentRegister) -> None:
    inc = register.open("phishing mail, no click", actor="sec-1",
                        aware_at=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))
    register.classify(inc.id, actor="dpo", operator_class="cii", grade="general",
                      regimes=["cn_cac"])
    assert obligations(register.get(inc.id)) == []


def test_gdpr_72_hours_run_through_a_weekend_and_a_dst_change() -> None:
    # Friday 2026-10-23 18:00 in Berlin; the clocks go back on Sunday 25 October.
    aware = dt.datetime(2026, 10, 23, 18, 0, tzinfo=BERLIN)
    reg = IncidentRegister()
    inc = reg.open("laptop with exports stolen", actor="sec-1", aware_at=aware)
    reg.classify(inc.id, actor="dpo", operator_class="other", grade="general",
                 regimes=["gdpr"], high_risk=True)
    by_key = {o.key: o for o in obligations(reg.get(inc.id))}
    due = by_key["gdpr.authority"].due
    assert due - aware == 72 * H  # elapsed hours, weekend included
    assert due.astimezone(BERLIN) == dt.datetime(2026, 10, 26, 17, 0, tzinfo=BERLIN)  # 17:00
    assert by_key["gdpr.subjects"].immediate and "34" in by_key["gdpr.subjects"].citation
    overdue, coming = reg.due(due - dt.timedelta(seconds=1))
    assert [o.key for o in overdue] == ["gdpr.subjects"]
    assert [o.key for o in coming] == ["gdpr.authority"]
    reg.reported(inc.id, "gdpr.authority", actor="dpo", at=due + H,
                 delay_reasons="waited for the forensic report")
    late = {o.key: o for o in obligations(reg.get(inc.id))}["gdpr.authority"]
    assert late.late and late.met_at == due + H


def test_encryption_and_an_unlikely_risk_are_recorded_decisions(
        register: IncidentRegister) -> None:
    aware = dt.datetime(2026, 12, 2, 8, tzinfo=SHANGHAI)
    inc = register.open("backup tape lost", actor="ops", aware_at=aware)
    register.classify(inc.id, actor="dpo", operator_class="other", grade="general",
                      regimes=["pipl", "gdpr"], high_risk=True)
    assert {o.key for o in obligations(register.get(inc.id))} == {
        "pipl.authority", "pipl.individuals", "gdpr.authority", "gdpr.subjects"}
    log = fp.AuditLog("memory:")
    scope = log.incident_scope(actor="nobody")
    register.attach_scope(inc.id, scope, actor="dpo", categories=["account", "identity"],
                          encrypted_safe=True, evidence="tape sealed under key 1a2b (kept)")
    assert {o.key for o in obligations(register.get(inc.id))} == {
        "pipl.authority", "gdpr.authority"}  # Art. 57 para 2, Art. 34(3)(a)
    register.classify(inc.id, actor="dpo", operator_class="other", grade="general",
                      regimes=["gdpr"], risk_unlikely=True, evidence="encrypted; key safe")
    assert obligations(register.get(inc.id)) == []
    scoped = next(e for e in register.get(inc.id).events if e.kind == "scoped")
    assert scoped.actor == "dpo" and scoped.data["evidence"].startswith("tape sealed")
    log.close()


def test_timeline_audit_mirror_and_closing(register: IncidentRegister) -> None:
    log = fp.AuditLog("memory:")
    reg = IncidentRegister(register._store, audit=log,
                           clock=fp.FixedClock(dt.datetime(2026, 12, 4, tzinfo=dt.UTC)))
    inc = reg.open("card numbers in a log file", actor="sec-1",
                   detected_at=dt.datetime(2026, 12, 3, 22, tzinfo=dt.UTC),
                   aware_at=dt.datetime(2026, 12, 3, 23, tzinfo=dt.UTC))
    reg.contained(inc.id, actor="ops", note="log rotated and purged")
    reg.subjects_notified(inc.id, actor="dpo", channel="sms", count=12)
    reg.close(inc.id, actor="dpo", summary="logging filter added")
    with pytest.raises(fp.InvalidInputError):
        reg.contained(inc.id, actor="ops")
    reg.note(inc.id, "lessons learnt: redaction in the logging pipeline", actor="dpo")
    state = reg.get(inc.id)
    assert [e.kind for e in state.events] == ["opened", "detected", "aware", "contained",
                                              "subjects_notified", "closed", "note"]
    assert not state.open and reg.incidents(open_only=True) == []
    assert [e.action for e in log.query()] == [
        "incident.opened", "incident.detected", "incident.aware", "incident.contained",
        "incident.subjects_notified", "incident.closed", "incident.note"]
    assert reg.verify() == 7
    with pytest.raises(fp.NotFoundError):
        reg.get("inc-missing")
    with pytest.raises(fp.NotFoundError):
        reg.contained("inc-missing", actor="x")
    with pytest.raises(fp.InvalidInputError):
        reg.classify(inc.id, actor="x", operator_class="bank", grade="general", regimes=[])
    log.close()


def test_auto_open_from_a_monitor_alert() -> None:
    from finprivacy.audit import BreakGlassRule, BulkReadRule, Monitor

    reg = IncidentRegister()
    opened: list[object] = []
    monitor = Monitor([BulkReadRule(max_subjects=3, window=dt.timedelta(hours=1)),
                       BreakGlassRule()],
                      on_alert=lambda a: opened.append(reg.open_from_alert(
                          a, rules={"bulk_read"})))
    at = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
    monitor.observe(fp.AuditEvent(action="read", actor="amy", break_glass=True), at)
    assert opened == [None]  # break-glass is not a rule that opens incidents here
    for n in range(4):
        monitor.observe(fp.AuditEvent(action="read", actor="ivan", subject=f"c-{n}",
                                      decision="allowed"), at + n * dt.timedelta(minutes=1))
    incs = reg.incidents()
    assert len(incs) == 1 and incs[0].source == "monitor:bulk_read"
    assert incs[0].opened_by == "monitor:bulk_read"
    assert incs[0].aware_at == at + 3 * dt.timedelta(minutes=1)  # the alert's time


def test_the_register_detects_tampering(tmp_path: object, sqlite_url: str) -> None:
    import sqlite3

    reg = IncidentRegister(sqlite_url)
    inc = reg.open("x", actor="a", aware_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    reg.contained(inc.id, actor="a")
    reg.close(inc.id, actor="a")
    assert reg.verify() == 4
    path = sqlite_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    conn.execute("update incident_events set actor = 'someone else' where seq = 2")
    conn.commit()
    conn.close()
    with pytest.raises(fp.AuditIntegrityError, match="event 3"):
        reg.verify()


def test_every_obligation_cites_its_rule() -> None:
    assert set(CITATIONS) == {"cn_cac.initial", "cn_cac.followup", "cn_cac.summary",
                              "cn_cac.police", "pipl.authority", "pipl.individuals",
                              "gdpr.authority", "gdpr.subjects"}
    assert all(CITATIONS.values())


def test_cli_incident(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from finprivacy.cli import main

    assert main(["incident", "open", "export left the building", "--actor", "sec-1",
                 "--aware-at", "2026-12-07T09:30+08:00", "--store", sqlite_url,
                 "--format", "json"]) == 0
    iid = json.loads(capsys.readouterr().out)["id"]
    IncidentRegister(sqlite_url).classify(iid, actor="dpo", operator_class="other",
                                          grade="major", regimes=["cn_cac"])
    assert main(["incident", "due", "--now", "2026-12-07T11:00+08:00",
                 "--store", sqlite_url]) == 0
    assert "cn_cac.initial" in capsys.readouterr().out
    assert main(["incident", "due", "--now", "2026-12-07T13:30+08:00",
                 "--store", sqlite_url]) == 1  # 4 hours after 09:30
    assert main(["incident", "show", iid, "--store", sqlite_url]) == 0
    assert "第四条" in capsys.readouterr().out
    assert main(["incident", "list", "--open", "--store", sqlite_url]) == 0
    assert main(["incident", "report", iid, "--draft", "--firm", "莲花记账",
                 "--store", sqlite_url]) == 0
    assert "重大" in capsys.readouterr().out
    assert main(["incident", "report", iid, "--to", "cn_cac.initial", "--actor", "dpo",
                 "--at", "2026-12-07T12:00+08:00", "--partial", "--store", sqlite_url]) == 0
    capsys.readouterr()
    assert main(["incident", "due", "--now", "2026-12-07T13:30+08:00",
                 "--store", sqlite_url]) == 1  # the rest of a partial report is owed
    assert "cn_cac.followup" in capsys.readouterr().out
    assert main(["incident", "report", iid, "--to", "cn_cac.followup", "--actor", "dpo",
                 "--at", "2026-12-07T13:00+08:00", "--store", sqlite_url]) == 0
    assert main(["incident", "due", "--now", "2026-12-07T13:30+08:00",
                 "--store", sqlite_url]) == 0  # met in time: nothing overdue
    assert main(["incident", "report", iid, "--store", sqlite_url]) == 3
    assert main(["incident", "due", "--now", "yesterday", "--store", sqlite_url]) == 3


def test_readers_never_create_the_store(tmp_path: object) -> None:
    from pathlib import Path

    from finprivacy.cli import main

    typo = Path(str(tmp_path)) / "typo.db"
    for args in (["list"], ["due"], ["show", "inc-x"], ["report", "inc-x", "--draft"]):
        assert main(["incident", *args, "--store", f"sqlite:///{typo}"]) == 3
    assert not typo.exists()
    with pytest.raises(fp.NotFoundError):
        IncidentRegister(f"sqlite:///{typo}", create=False)


@pytest.mark.parametrize(("people", "grade"), [
    (0, None), (999_999, None), (1_000_000, "relatively_major"),
    (1_000_001, "relatively_major"), (9_999_999, "relatively_major"),
    (10_000_000, "major"), (99_999_999, "major"), (100_000_000, "especially_major"),
    (2_000_000_000, "especially_major")])
def test_personal_information_thresholds_at_and_around_each_limit(people: int,
                                                                  grade: str | None) -> None:
    # The guide's note: "以上" includes the number itself.
    from finprivacy.incidents import personal_information_grade

    assert personal_information_grade(people) == grade


def test_thresholds_cite_the_guide_and_refuse_nonsense() -> None:
    from finprivacy.incidents import PERSONAL_INFORMATION_THRESHOLDS, personal_information_grade

    assert [t[0] for t in PERSONAL_INFORMATION_THRESHOLDS] == [100_000_000, 10_000_000,
                                                               1_000_000]
    assert all("网络安全事件分级指南" in c for _, _, c in PERSONAL_INFORMATION_THRESHOLDS)
    for bad in (-1, True, 1.5, "10"):
        with pytest.raises(fp.InvalidInputError):
            personal_information_grade(bad)  # type: ignore[arg-type]


def test_a_grade_below_the_threshold_is_refused(register: IncidentRegister) -> None:
    inc = register.open("client database exfiltrated", actor="sec-1",
                        aware_at=dt.datetime(2026, 12, 4, 10, tzinfo=SHANGHAI))
    with pytest.raises(fp.InvalidInputError, match="100万人以上") as err:
        register.classify(inc.id, actor="dpo", operator_class="other", grade="general",
                          regimes=["cn_cac"], people_affected=1_000_000)
    assert "较大" in str(err.value)
    with pytest.raises(fp.InvalidInputError, match="1000万人以上"):
        register.classify(inc.id, actor="dpo", operator_class="other",
                          grade="relatively_major", regimes=["cn_cac"],
                          people_affected=10_000_000)
    assert register.get(inc.id).grade is None  # nothing recorded
    register.classify(inc.id, actor="dpo", operator_class="other", grade="general",
                      regimes=["cn_cac"], people_affected=999_999)  # a person's call
    assert obligations(register.get(inc.id)) == []
    register.classify(inc.id, actor="dpo", operator_class="other", grade="especially_major",
                      regimes=["cn_cac"], people_affected=5)  # higher is always allowed
    assert register.get(inc.id).effective_grade == "especially_major"


def test_a_later_scope_past_a_threshold_starts_the_cac_clock() -> None:
    aware = dt.datetime(2026, 12, 4, 10, tzinfo=SHANGHAI)
    reg = IncidentRegister()
    inc = reg.open("export by a staff account", actor="sec-1", aware_at=aware)
    reg.classify(inc.id, actor="dpo", operator_class="other", grade="general",
                 regimes=["cn_cac"], evidence="first look: a few hundred clients")
    assert obligations(reg.get(inc.id)) == []

    class Scope:
        def __init__(self, people: int) -> None:
            self.subjects = range(people)
            self.fields_by_subject: dict[str, set[str]] = {}

    reg.attach_scope(inc.id, Scope(3), actor="sec-2")
    assert obligations(reg.get(inc.id)) == []  # 3 people: still the recorded grade
    reg.classify(inc.id, actor="dpo", operator_class="other", grade="general",
                 regimes=["cn_cac"], evidence="log review", people_affected=750_000)
    assert obligations(reg.get(inc.id)) == []
    state = reg.get(inc.id)
    assert state.people_affected == 750_000 and state.grade_floor is None
    # The full count arrives: 1.2 million people, so 较大 and the 4-hour clock.
    reg.attach_scope(inc.id, Scope(1_200_000), actor="sec-2")
    state = reg.get(inc.id)
    assert (state.grade, state.grade_floor, state.effective_grade) == (
        "general", "relatively_major", "relatively_major")
    (ob,) = obligations(state)
    assert ob.key == "cn_cac.initial" and ob.due == aware + 4 * H


def test_followup_summary_and_police_reports() -> None:
    aware = dt.datetime(2026, 12, 4, 23, 0, tzinfo=SHANGHAI)
    reg = IncidentRegister()
    inc = reg.open("ransomware, payroll exports taken", actor="sec-1", aware_at=aware)
    reg.classify(inc.id, actor="dpo", operator_class="other", grade="relatively_major",
                 regimes=["cn_cac"], suspected_crime=True)
    keys = {o.key: o for o in obligations(reg.get(inc.id))}
    assert set(keys) == {"cn_cac.initial", "cn_cac.police"}
    assert keys["cn_cac.police"].immediate and "报案" in keys["cn_cac.police"].citation
    reg.reported(inc.id, "cn_cac.police", actor="dpo", at=aware + H)
    # Cause and impact unknown at 4 hours: the first items now, the rest to follow.
    first = aware + 3 * H
    reg.reported(inc.id, "cn_cac.initial", actor="dpo", at=first, partial=True)
    (follow,) = [o for o in obligations(reg.get(inc.id)) if o.met_at is None]
    assert follow.key == "cn_cac.followup" and follow.immediate and follow.due == first
    assert "第七条第二款" in follow.citation
    assert reg.due(first + H)[0] == [follow]
    reg.followup_reported(inc.id, actor="dpo", at=first + 20 * H)
    assert reg.due(first + 21 * H) == ([], [])
    # Handling ends; the summary is due within 30 days, closed or not.
    ended = dt.datetime(2026, 12, 20, 18, 0, tzinfo=SHANGHAI)
    reg.close(inc.id, actor="dpo", at=ended)
    (summary,) = reg.due(ended)[1]
    assert summary.key == "cn_cac.summary" and summary.due == ended + dt.timedelta(days=30)
    assert "第八条" in summary.citation
    assert reg.due(ended + dt.timedelta(days=30))[0] == [summary]  # at the boundary
    reg.summary_reported(inc.id, actor="dpo", at=ended + dt.timedelta(days=12))
    assert reg.due(ended + dt.timedelta(days=40)) == ([], [])
    assert reg.verify(inc.id) == len(reg.get(inc.id).events)


def test_a_closed_incident_never_reported_stays_overdue() -> None:
    aware = dt.datetime(2026, 12, 4, 9, tzinfo=dt.UTC)
    reg = IncidentRegister()
    inc = reg.open("lost backup tape", actor="sec-1", aware_at=aware)
    reg.classify(inc.id, actor="dpo", operator_class="cii", grade="major",
                 regimes=["cn_cac"])
    reg.close(inc.id, actor="dpo", at=aware + 2 * H)
    overdue, _ = reg.due(aware + 3 * H)
    assert [o.key for o in overdue] == ["cn_cac.initial"]
