"""Monitoring rules, access review and incident scoping."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import finprivacy as fp
from finprivacy.audit import (
    Alert,
    AuditEvent,
    AuditLog,
    BreakGlassRule,
    BulkReadRule,
    DeniedBurstRule,
    Monitor,
    OffHoursRule,
)

# Monday 2 March 2026, 09:00 in Shanghai (UTC+8) is 01:00 UTC.
MON_9_SHANGHAI = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def _read(actor: str, subject: str, decision: str = "allowed") -> AuditEvent:
    return AuditEvent(action="read", actor=actor, subject=subject, decision=decision)  # type: ignore[arg-type]


def test_bulk_read_alerts_once_when_distinct_subjects_exceed_limit() -> None:
    rule = BulkReadRule(max_subjects=3, window=10 * MIN)
    monitor = Monitor([rule])
    t = MON_9_SHANGHAI
    alerts: list[Alert] = []
    for i, subject in enumerate(["a", "a", "b", "c", "a", "b"]):
        alerts += monitor.observe(_read("amy", subject), t + i * MIN)
    assert alerts == []  # only 3 distinct
    alerts += monitor.observe(_read("amy", "d"), t + 6 * MIN)
    assert [(a.rule, a.actor, a.count) for a in alerts] == [("bulk_read", "amy", 4)]
    alerts += monitor.observe(_read("amy", "e"), t + 7 * MIN)
    assert len(alerts) == 1  # quiet for one window after an alert
    assert monitor.observe(_read("bob", "x"), t + 7 * MIN) == []  # per actor


def test_bulk_read_window_slides() -> None:
    rule = BulkReadRule(max_subjects=2, window=10 * MIN)
    t = MON_9_SHANGHAI
    # One new subject every 6 minutes: never more than 2 distinct within 10 minutes.
    for i in range(50):
        assert rule.observe(_read("amy", f"s{i}"), t + i * 6 * MIN) is None
    assert len(rule._counts["amy"]) <= 2 and len(rule._recent["amy"]) <= 2
    # Denied and masked-nothing reads do not count as data seen.
    for i in range(5):
        assert rule.observe(_read("eve", f"s{i}", "denied"), t) is None


def test_off_hours_in_a_named_zone() -> None:
    rule = OffHoursRule("Asia/Shanghai", start=dt.time(8), end=dt.time(19))
    assert rule.is_working_time(MON_9_SHANGHAI)
    assert rule.observe(_read("amy", "a"), MON_9_SHANGHAI) is None
    late = MON_9_SHANGHAI + dt.timedelta(hours=12)  # 21:00 Shanghai
    alert = rule.observe(_read("amy", "a"), late)
    assert alert is not None and "Asia/Shanghai" in alert.message
    assert rule.observe(_read("amy", "b"), late + MIN) is None  # cooldown
    saturday = MON_9_SHANGHAI + dt.timedelta(days=5)
    assert not rule.is_working_time(saturday)
    with pytest.raises(fp.InvalidTimeError):
        OffHoursRule("Mars/Olympus")


def test_off_hours_follows_daylight_saving() -> None:
    rule = OffHoursRule("Europe/Berlin", start=dt.time(8), end=dt.time(18))
    # 07:30 UTC is 08:30 in winter (CET) but 09:30 in summer (CEST): both working time;
    # 06:30 UTC is 07:30 CET (closed) but 08:30 CEST (open).
    assert not rule.is_working_time(dt.datetime(2026, 3, 27, 6, 30, tzinfo=dt.UTC))
    assert rule.is_working_time(dt.datetime(2026, 3, 30, 6, 30, tzinfo=dt.UTC))


def test_break_glass_and_denied_bursts() -> None:
    seen: list[Alert] = []
    monitor = Monitor([BreakGlassRule(), DeniedBurstRule(max_denied=2, window=5 * MIN)],
                      on_alert=seen.append)
    t = MON_9_SHANGHAI
    monitor.observe(AuditEvent(action="read", actor="dr-li", break_glass=True), t)
    for i in range(3):
        monitor.observe(_read("eve", f"s{i}", "denied"), t + i * MIN)
    assert [a.rule for a in seen] == ["break_glass", "denied_burst"]
    monitor.observe(_read("mallory", "s1", "denied"), t)
    monitor.observe(_read("mallory", "s1", "denied"), t + 10 * MIN)
    monitor.observe(_read("mallory", "s1", "denied"), t + 20 * MIN)
    assert len(seen) == 2  # spread out: no burst


def test_alerts_are_logged_and_not_re_monitored() -> None:
    clock = fp.FixedClock(MON_9_SHANGHAI + dt.timedelta(hours=13))  # 22:00 Shanghai
    seen: list[Alert] = []
    monitor = Monitor([OffHoursRule("Asia/Shanghai"), BulkReadRule(2, 10 * MIN)],
                      on_alert=seen.append)
    log = AuditLog("memory:", clock=clock, monitors=[monitor])
    for s in ("a", "b", "c"):
        log.append("read", actor="amy", subject=s, decision="allowed")
    assert sorted(a.rule for a in seen) == ["bulk_read", "off_hours"]
    logged = log.query(action="monitor.alert")
    assert sorted(e.reason for e in logged) == ["bulk_read", "off_hours"]
    assert all(e.decision == "alert" and e.details["actor"] == "amy" for e in logged)
    log.verify()


def test_monitor_rejects_bad_configuration() -> None:
    with pytest.raises(fp.ConfigurationError):
        BulkReadRule(0, MIN)
    with pytest.raises(fp.ConfigurationError):
        BulkReadRule(3, dt.timedelta(0))
    with pytest.raises(fp.ConfigurationError):
        OffHoursRule("UTC", start=dt.time(18), end=dt.time(8))


def _review_log() -> AuditLog:
    clock = fp.FixedClock(MON_9_SHANGHAI)
    log = AuditLog("memory:", clock=clock)
    log.append("read", actor="amy", subject="c1", purpose="bookkeeping",
               fields_returned=("name", "bank_card"), decision="masked",
               fields_masked=("bank_card",))
    log.append("read", actor="amy", subject="c2", purpose="bookkeeping",
               fields_returned=("name",), decision="allowed")
    log.append("read", actor="amy", subject="c3", purpose="marketing", decision="denied")
    clock.advance(dt.timedelta(days=1))
    log.append("read", actor="bob", subject="c1", purpose="tax_filing",
               fields_returned=("id_number",), decision="allowed", key_id="k-2026")
    log.append("decrypt", actor="svc-batch", subject="c4", purpose="tax_filing",
               fields_returned=("bank_card",), decision="allowed", key_id="k-2026")
    clock.advance(dt.timedelta(days=40))
    log.append("read", actor="amy", subject="c9", purpose="bookkeeping",
               fields_returned=("name",), decision="allowed")
    return log


def test_access_review_per_actor_and_purpose() -> None:
    log = _review_log()
    review = log.access_review(MON_9_SHANGHAI, MON_9_SHANGHAI + dt.timedelta(days=30))
    rows = {(r.actor, r.purpose): r for r in review.rows}
    assert set(rows) == {("amy", "bookkeeping"), ("amy", "marketing"), ("bob", "tax_filing"),
                         ("svc-batch", "tax_filing")}
    amy = rows[("amy", "bookkeeping")]
    assert amy.subjects == ("c1", "c2") and amy.fields == ("bank_card", "name")
    assert amy.fields_masked == ("bank_card",) and amy.accesses == 2
    assert rows[("amy", "marketing")].subjects == () and rows[("amy", "marketing")].denied == 1
    assert [r.purpose for r in review.for_actor("amy")] == ["bookkeeping", "marketing"]
    assert review.to_json()["rows"]
    with pytest.raises(fp.InvalidTimeError):
        log.access_review(MON_9_SHANGHAI, MON_9_SHANGHAI)


def test_incident_scope_by_actor_key_and_window() -> None:
    log = _review_log()
    by_actor = log.incident_scope(actor="amy")
    assert by_actor.subjects == ("c1", "c2", "c9")
    assert by_actor.fields_by_subject["c1"] == ("bank_card", "name")
    assert by_actor.denied == 1 and len(by_actor.entries) == 4
    by_key = log.incident_scope(key_id="k-2026")
    assert by_key.subjects == ("c1", "c4")
    assert dict(by_key.fields_by_subject) == {"c1": ("id_number",), "c4": ("bank_card",)}
    day2 = MON_9_SHANGHAI + dt.timedelta(days=1)
    window = log.incident_scope(start=day2, end=day2 + dt.timedelta(hours=1))
    assert window.subjects == ("c1", "c4") and window.first == day2
    assert window.to_json()["subjects"] == ["c1", "c4"]
    with pytest.raises(fp.InvalidInputError):
        log.incident_scope()


def test_audit_demo_chapter(tmp_path: Path) -> None:
    from finprivacy.cli._demo_audit import chapter

    lines: list[str] = []
    chapter(tmp_path, lines.append)
    text = "\n".join(lines)
    assert "ALERT (bulk_read) staff-zhao read 21 distinct subjects" in text
    assert "ALERT (off_hours)" in text
    assert "extends the checkpoint kept at 9" in text
    assert "verify() stops at entry 4" in text
    assert (tmp_path / "lotus-audit-export.jsonl").exists()


def test_failing_callback_does_not_fail_the_append(caplog: pytest.LogCaptureFixture) -> None:
    def broken(alert: Alert) -> None:
        raise RuntimeError("pager down")

    log = AuditLog("memory:", clock=fp.FixedClock(MON_9_SHANGHAI),
                   monitors=[Monitor([BreakGlassRule()], on_alert=[broken])])
    receipt = log.append("read", actor="dr-li", subject="c1", break_glass=True)
    assert receipt.seq == 0
    assert [e.reason for e in log.query(action="monitor.alert")] == ["break_glass"]
    assert "callback failed" in caplog.text


def test_monitors_see_the_entry_time_with_the_system_clock() -> None:
    """With the system clock the log reads the time as microseconds; a monitor still gets
    the entry's own time as an aware datetime, by every append path."""
    seen: list[dt.datetime] = []

    class Spy:
        def observe(self, event: AuditEvent, time: dt.datetime) -> Alert | None:
            seen.append(time)
            return None

    log = AuditLog("memory:", clock=fp.SystemClock(), monitors=[Monitor([Spy()])])
    before = dt.datetime.now(dt.UTC)
    log.append("read", actor="amy", subject="c1")
    log.record(_read("amy", "c2"))
    log.append_many([_read("amy", "c3"), _read("amy", "c4")])
    after = dt.datetime.now(dt.UTC)
    log.sequence()
    entries = [log.entry(i) for i in range(4)]
    assert seen == [e.time for e in entries]
    assert all(before <= t <= after and t.tzinfo is dt.UTC for t in seen)
