"""The consent ledger: grants, withdrawals, notices, expiry, minors, tamper evidence."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path
from typing import Any

import pytest

import finprivacy as fp
from finprivacy.consent import (
    PIPL_AGE_RULE,
    Actor,
    ConsentEvent,
    ConsentLedger,
    Evidence,
    GrantRequest,
    Purpose,
    gdpr_age_rule,
    notice_sha256,
)
from finprivacy.storage import MemoryConsentStore, SqlConsentStore, open_database

T0 = dt.datetime(2025, 3, 1, 10, 0, tzinfo=dt.UTC)
RAW_IP = "198.51.100.213"
NOTICE_TEXT = ("Lotus Bookkeeping verifies your bank account with your bank. "
               "我们会核验您的银行账户。")

VERIFY = Purpose(key="account_verification", description="Verify the client's bank account",
                 legal_basis="consent", sensitive=True, data_categories=("bank_account",),
                 recipients=("Bank of Lotus",))
MARKETING = Purpose(key="marketing", description="Monthly tax tips by email",
                    data_categories=("email",))
ANNUAL = Purpose(key="statement_import", description="Import bank statements",
                 valid_months=12, data_categories=("bank_statement",))


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[fp.AuditEvent] = []

    def record(self, event: fp.AuditEvent) -> object:
        self.events.append(event)
        return len(self.events)


def make(store: Any = "memory:", **kw: Any) -> tuple[ConsentLedger, fp.FixedClock]:
    clock = fp.FixedClock(T0)
    ledger = ConsentLedger(store, clock=clock, **kw)
    for p in (VERIFY, MARKETING, ANNUAL):
        ledger.define_purpose(p)
    return ledger, clock


def test_grant_withdraw_regrant_states_at_each_instant() -> None:
    ledger, clock = make()
    t_before = clock.now()
    clock.advance(dt.timedelta(hours=1))
    first = ledger.grant("client-42", "marketing")
    t_granted = clock.now()
    clock.advance(dt.timedelta(days=10))
    withdrawal = ledger.withdraw("client-42", "marketing")
    t_withdrawn = clock.now()
    clock.advance(dt.timedelta(days=5))
    second = ledger.grant("client-42", "marketing")
    t_regranted = clock.now()

    assert not ledger.check("client-42", "marketing", at=t_before)
    assert ledger.status("client-42", "marketing", at=t_before).reason == "never_given"
    assert ledger.check("client-42", "marketing", at=t_granted)
    # Withdrawal is not retroactive: just before it, consent was in force.
    assert ledger.check("client-42", "marketing", at=t_withdrawn - dt.timedelta(microseconds=1))
    assert not ledger.check("client-42", "marketing", at=t_withdrawn)
    assert ledger.status("client-42", "marketing", at=t_withdrawn).reason == "withdrawn"
    assert ledger.check("client-42", "marketing", at=t_regranted)
    assert ledger.check("client-42", "marketing")
    assert first.receipt_id
    assert second.receipt_id
    assert first.receipt_id != second.receipt_id
    assert withdrawal.receipt_id == first.receipt_id  # the withdrawal names what it ends
    assert [e.kind for e in ledger.history("client-42")] == ["given", "withdrawn", "given"]
    assert [e.seq for e in ledger.history("client-42")] == [1, 2, 3]


def test_partial_withdrawal_of_one_purpose() -> None:
    ledger, _ = make()
    ledger.grant("c1", "marketing")
    ledger.grant("c1", "account_verification")
    ledger.withdraw("c1", "marketing")
    state = ledger.state("c1")
    assert state["account_verification"].granted
    assert not state["marketing"].granted
    assert state["marketing"].reason == "withdrawn"
    assert state["statement_import"].reason == "never_given"
    assert ledger.require("c1", "account_verification").granted


def test_require_raises_with_reason_and_is_permission_error() -> None:
    ledger, _ = make()
    with pytest.raises(fp.ConsentRequiredError) as info:
        ledger.require("c1", "marketing")
    assert info.value.reason == "never_given"
    assert info.value.subject == "c1"
    assert info.value.purpose == "marketing"
    assert isinstance(info.value, PermissionError)
    ledger.refuse("c1", "marketing")
    with pytest.raises(fp.ConsentRequiredError) as info:
        ledger.require("c1", "marketing")
    assert info.value.reason == "refused"


def test_editorial_change_keeps_consent_material_change_invalidates() -> None:
    ledger, clock = make()
    v1 = ledger.publish_notice("privacy", NOTICE_TEXT, purposes=["account_verification",
                                                                "marketing"])
    assert v1.version == 1
    assert v1.change == "initial"
    ledger.grant("c1", "account_verification")
    ledger.grant("c1", "marketing")
    assert ledger.history("c1")[0].notice_version == 1
    assert ledger.history("c1")[0].evidence.notice_sha256 == notice_sha256(NOTICE_TEXT)

    clock.advance(dt.timedelta(days=1))
    v2 = ledger.publish_notice("privacy", NOTICE_TEXT + " (typo fixed)", change="editorial",
                               purposes=["account_verification", "marketing"])
    assert v2.version == 2
    assert v2.affects == ()
    assert ledger.check("c1", "account_verification")
    assert ledger.check("c1", "marketing")

    clock.advance(dt.timedelta(days=1))
    t_before_material = clock.now() - dt.timedelta(microseconds=1)
    v3 = ledger.publish_notice("privacy", NOTICE_TEXT + " We now also share with a credit bureau.",
                               change="material", affects=["account_verification"],
                               purposes=["account_verification", "marketing"])
    assert v3.affects == ("account_verification",)
    status = ledger.status("c1", "account_verification")
    assert not status.granted
    assert status.reason == "notice_changed"
    assert ledger.check("c1", "marketing")  # not affected by the material change
    assert ledger.check("c1", "account_verification", at=t_before_material)

    # Consent given under the new version is in force; one given under v1 still is not.
    clock.advance(dt.timedelta(hours=1))
    ledger.reaffirm("c1", "account_verification")
    assert ledger.check("c1", "account_verification")
    assert ledger.history("c1")[-1].notice_version == 3
    ledger.grant("c2", "account_verification", notice=v1)
    assert ledger.status("c2", "account_verification").reason == "notice_changed"


def test_notice_versions_are_immutable_and_ordered() -> None:
    ledger, _clock = make()
    v1 = ledger.publish_notice("privacy", "v1", purposes=["marketing"])
    with pytest.raises(fp.InvalidInputError):
        ledger.publish_notice("privacy", "v2", purposes=["marketing"])  # change kind missing
    with pytest.raises(fp.ConflictError):
        ledger.store.add_notice(v1)
    with pytest.raises(fp.InvalidInputError):
        ledger.publish_notice("privacy", "v2", purposes=["marketing"], change="material",
                              affects=["account_verification"])
    assert ledger.notice("privacy") == v1
    with pytest.raises(fp.NotFoundError):
        ledger.notice("privacy", 9)


def test_evidence_hash_must_match_notice_shown() -> None:
    ledger, _ = make()
    v1 = ledger.publish_notice("privacy", NOTICE_TEXT, purposes=["marketing"])
    with pytest.raises(fp.InvalidInputError, match="notice_sha256"):
        ledger.grant("c1", "marketing", notice=v1,
                     evidence=Evidence(notice_sha256=notice_sha256("another text")))
    event = ledger.grant("c1", "marketing", notice=v1,
                         evidence=Evidence(notice_sha256=notice_sha256(NOTICE_TEXT)))
    assert event.notice_id == "privacy"
    assert event.notice_version == 1
    assert ledger.store.count() == 1


def test_one_year_consent_expires_on_the_right_day() -> None:
    ledger, _ = make()
    event = ledger.grant("c1", "statement_import")
    assert event.expires_at == dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
    last_valid = dt.datetime(2026, 3, 1, 9, 59, 59, 999999, tzinfo=dt.UTC)
    assert ledger.check("c1", "statement_import", at=last_valid)
    assert not ledger.check("c1", "statement_import", at=event.expires_at)
    assert ledger.status("c1", "statement_import",
                         at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC)).reason == "expired"


def test_leap_day_consent_clamps_to_month_end_and_fixed_duration() -> None:
    clock = fp.FixedClock(dt.datetime(2024, 2, 29, 12, 0, tzinfo=dt.UTC))
    ledger = ConsentLedger("memory:", clock=clock)
    ledger.define_purpose(ANNUAL)
    ledger.define_purpose(Purpose(key="trial", description="30 days",
                                  valid_for=dt.timedelta(days=30)))
    assert ledger.grant("c1", "statement_import").expires_at == dt.datetime(
        2025, 2, 28, 12, 0, tzinfo=dt.UTC)
    assert ledger.grant("c1", "trial").expires_at == dt.datetime(2024, 3, 30, 12, 0,
                                                                   tzinfo=dt.UTC)


def test_record_expiries_appends_expired_events() -> None:
    ledger, clock = make()
    ledger.grant("c1", "statement_import")
    ledger.grant("c1", "marketing")
    assert ledger.record_expiries("c1") == []
    clock.advance(dt.timedelta(days=366))
    recorded = ledger.record_expiries("c1")
    assert [(e.purpose, e.kind) for e in recorded] == [("statement_import", "expired")]
    assert ledger.status("c1", "statement_import").event == recorded[0]
    assert ledger.record_expiries("c1") == []  # nothing new
    assert ledger.check("c1", "marketing")


def test_bundled_accept_all_does_not_satisfy_separate_consent() -> None:
    ledger, _ = make()
    events = ledger.accept_all("c1", ["marketing", "account_verification"])
    assert len({e.receipt_id for e in events}) == 1
    assert all(not e.separate and e.method == "accept_all" for e in events)
    assert ledger.check("c1", "marketing")
    status = ledger.status("c1", "account_verification")
    assert not status.granted
    assert status.reason == "separate_consent_missing"
    assert VERIFY.requires_separate_consent is True  # sensitive implies separate (PIPL Art. 29)
    ledger.grant("c1", "account_verification", separate=True)
    assert ledger.check("c1", "account_verification")
    with pytest.raises(fp.InvalidInputError):
        ledger.accept_all("c1", [])


def test_guardian_consent_for_a_13_year_old() -> None:
    ledger, _ = make()
    assert ledger.age_rule == PIPL_AGE_RULE
    ledger.grant("kid", "account_verification", subject_age=13)
    status = ledger.status("kid", "account_verification")
    assert not status.granted
    assert status.reason == "guardian_needed"
    ledger.grant("kid", "account_verification", subject_age=13,
                 actor=Actor("guardian", "client-7"))
    assert ledger.check("kid", "account_verification")
    ledger.grant("teen", "account_verification", subject_age=14)
    assert ledger.check("teen", "account_verification")  # PIPL Art. 31: under 14 only


def test_gdpr_age_rule_is_configurable() -> None:
    ledger, _ = make(age_rule=gdpr_age_rule(16))
    ledger.grant("teen", "marketing", subject_age=15)
    assert ledger.status("teen", "marketing").reason == "guardian_needed"
    assert gdpr_age_rule(13).minimum_age == 13
    for bad in (12, 17, True):
        with pytest.raises(fp.InvalidInputError):
            gdpr_age_rule(bad)


def test_reaffirm_needs_an_earlier_consent() -> None:
    ledger, _ = make()
    with pytest.raises(fp.ConsentRequiredError) as info:
        ledger.reaffirm("c1", "marketing")
    assert info.value.reason == "never_given"
    ledger.grant("c1", "marketing")
    ledger.withdraw("c1", "marketing")
    with pytest.raises(fp.ConsentRequiredError) as info:
        ledger.reaffirm("c1", "marketing")
    assert info.value.reason == "withdrawn"


def test_invalidate_by_staff() -> None:
    ledger, _ = make()
    ledger.grant("c1", "marketing")
    ledger.invalidate("c1", "marketing", actor=Actor("staff", "s-9"),
                      reason_code="signature_forged")
    status = ledger.status("c1", "marketing")
    assert status.reason == "invalidated"
    assert status.event is not None
    assert status.event.reason_code == "signature_forged"


def test_audit_sink_receives_an_event_per_write() -> None:
    sink = RecordingSink()
    ledger, _ = make(audit=sink)
    ledger.grant("c1", "marketing", actor=Actor("staff", "s-1"))
    ledger.withdraw("c1", "marketing")
    assert [(e.action, e.subject, e.purpose, e.actor) for e in sink.events] == [
        ("consent.grant", "c1", "marketing", "s-1"),
        ("consent.withdraw", "c1", "marketing", "subject"),
    ]
    assert sink.events[0].time == T0
    assert sink.events[0].details["seq"] == "1"


def test_grant_many_is_one_batch() -> None:
    ledger, _ = make()
    events = ledger.grant_many(GrantRequest(subject=f"c{i}", purpose="marketing")
                               for i in range(50))
    assert len(events) == 50
    assert ledger.store.count() == 50
    assert len({e.receipt_id for e in events}) == 50
    assert all(ledger.check(f"c{i}", "marketing") for i in range(50))


# -- bad input writes nothing -------------------------------------------------------
class NaiveClock:
    def now(self) -> dt.datetime:
        return dt.datetime(2025, 1, 1)


def _bad_inputs(ledger: ConsentLedger) -> list[tuple[type[Exception], Any]]:
    return [
        (fp.InvalidInputError, lambda: ledger.grant("c1", "no_such_purpose")),
        (fp.InvalidInputError, lambda: ledger.grant("", "marketing")),
        (fp.InvalidInputError, lambda: ledger.grant(" c1", "marketing")),
        (fp.InvalidInputError, lambda: ledger.withdraw("", "marketing")),
        (fp.InvalidInputError, lambda: ledger.grant("c1", "marketing", subject_age=-1)),
        (fp.InvalidInputError, lambda: ledger.grant("c1", "marketing",
                                                    evidence=Evidence(ip="not-an-ip"))),
        (fp.InvalidInputError, lambda: ledger.grant_many(
            [GrantRequest(subject="c1", purpose="marketing"),
             GrantRequest(subject="c2", purpose="no_such_purpose")])),
        (fp.InvalidTimeError, lambda: ledger.check("c1", "marketing",
                                                   at=dt.datetime(2025, 1, 1))),
        (fp.InvalidTimeError, lambda: ConsentLedger(ledger.store, clock=NaiveClock())
         .grant("c1", "marketing")),
        (fp.FormatError, lambda: ledger.import_receipt("{not json")),
        (fp.FormatError, lambda: ledger.import_receipt({"version": "KI-CR-v1.1.0"})),
    ]


def test_every_bad_input_is_typed_and_writes_nothing(store_url: str) -> None:
    ledger, _ = make(store_url)
    ledger.grant("c0", "marketing")
    for expected, call in _bad_inputs(ledger):
        with pytest.raises(expected) as info:
            call()
        assert isinstance(info.value, fp.FinPrivacyError)
        assert isinstance(info.value, ValueError)
    assert ledger.store.count() == 1
    assert ledger.history("c1") == ()
    assert ledger.history("c2") == ()
    assert ledger.verify("c0") == 1


def test_ledger_rejects_a_wrong_store() -> None:
    with pytest.raises(fp.ConfigurationError):
        ConsentLedger(object())  # type: ignore[arg-type]
    with pytest.raises(fp.ConfigurationError):
        ConsentLedger("mysql://nope")


# -- tamper evidence ------------------------------------------------------------------
def _sql(ledger: ConsentLedger, statement: str, params: tuple[Any, ...]) -> None:
    store = ledger.store
    assert isinstance(store, SqlConsentStore)
    with store.database.transaction() as tx:
        tx.execute(statement, params)


def _edit(ledger: ConsentLedger, subject: str, seq: int, **changes: Any) -> None:
    store = ledger.store
    if isinstance(store, MemoryConsentStore):
        store._tamper(subject, seq, **changes)
        return
    column, value = next(iter(changes.items()))
    column = {"purpose": "purpose", "kind": "kind"}[column]
    _sql(ledger, f"UPDATE consent_events SET {column} = ? WHERE subject = ? AND seq = ?",
         (value, subject, seq))


def test_tampered_event_is_detected_at_its_position(store_url: str) -> None:
    ledger, clock = make(store_url)
    for purpose in ("marketing", "account_verification", "statement_import"):
        ledger.grant("c1", purpose)
        clock.advance(dt.timedelta(minutes=1))
    ledger.withdraw("c1", "marketing")
    assert ledger.verify("c1") == 4
    _edit(ledger, "c1", 2, purpose="marketing")
    with pytest.raises(fp.ConsentIntegrityError) as info:
        ledger.verify("c1")
    assert info.value.position == 2
    assert info.value.subject == "c1"
    assert isinstance(info.value, fp.AuditIntegrityError)
    assert "position 2" in str(info.value)


def test_withdrawal_turned_into_grant_is_detected(store_url: str) -> None:
    ledger, _ = make(store_url)
    ledger.grant("c1", "marketing")
    ledger.withdraw("c1", "marketing")
    ledger.grant("c1", "account_verification")
    _edit(ledger, "c1", 2, kind="given")
    with pytest.raises(fp.ConsentIntegrityError) as info:
        ledger.verify("c1")
    assert info.value.position == 2


def test_removed_events_are_detected(sqlite_url: str) -> None:
    ledger, _ = make(sqlite_url)
    for _ in range(3):
        ledger.grant("c1", "marketing")
    _sql(ledger, "DELETE FROM consent_events WHERE subject = ? AND seq = ?", ("c1", 3))
    with pytest.raises(fp.ConsentIntegrityError) as info:
        ledger.verify("c1")
    assert info.value.position == 3  # the tail was cut
    _sql(ledger, "DELETE FROM consent_events WHERE subject = ? AND seq = ?", ("c1", 1))
    with pytest.raises(fp.ConsentIntegrityError) as info:
        ledger.verify("c1")
    assert info.value.position == 1


def test_corrupt_row_is_an_integrity_error(sqlite_url: str) -> None:
    ledger, _ = make(sqlite_url)
    ledger.grant("c1", "marketing")
    _sql(ledger, "UPDATE consent_events SET kind = ? WHERE subject = ?", ("bogus", "c1"))
    with pytest.raises(fp.ConsentIntegrityError) as info:
        ledger.verify("c1")
    assert info.value.position == 1


# -- cache ----------------------------------------------------------------------------
class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_cache_sees_other_writers_after_ttl(sqlite_url: str) -> None:
    writer, clock = make(sqlite_url)
    reader = ConsentLedger(SqlConsentStore.open(sqlite_url), clock=clock, cache_ttl=5.0)
    tick = FakeMonotonic()
    reader._monotonic = tick
    writer.grant("c1", "marketing")
    assert reader.check("c1", "marketing")
    writer.withdraw("c1", "marketing")
    assert reader.check("c1", "marketing")  # stale for at most cache_ttl
    tick.t += 5.01
    assert not reader.check("c1", "marketing")
    assert writer.check("c1", "marketing") is False  # own writes are seen at once
    through = ConsentLedger(SqlConsentStore.open(sqlite_url), clock=clock, cache_ttl=0)
    writer.grant("c1", "marketing")
    assert through.check("c1", "marketing")


def test_cache_is_bounded() -> None:
    ledger, _ = make(cache_size=10)
    for i in range(30):
        ledger.check(f"c{i}", "marketing")
    assert len(ledger._cache) == 10


# -- no plaintext leaks -------------------------------------------------------------
def test_raw_ip_and_notice_text_never_stored_or_shown(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'consent.db'}"
    ledger, _ = make(url)
    ledger.publish_notice("privacy", NOTICE_TEXT, purposes=["marketing"])
    event = ledger.grant("c1", "marketing", evidence=Evidence(channel="web", ip=RAW_IP,
                                                              user_agent="Mozilla/5.0"))
    assert event.evidence.ip == "198.51.100.0/24"
    for text in (repr(event), str(event), repr(ledger.history("c1")),
                 repr(ledger.state("c1")), pickle.dumps(event).decode("latin-1"),
                 ledger.receipt("c1", "marketing",
                                controller=fp.consent.Controller(name="Lotus")).to_json(),
                 str(ledger.consent_record("c1", "marketing",
                                           controller=fp.consent.Controller(name="Lotus")))):
        assert RAW_IP not in text
    with pytest.raises(fp.InvalidInputError) as info:
        Evidence(ip=RAW_IP + "9")
    assert RAW_IP not in str(info.value)
    open_database(url).close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert RAW_IP.encode() not in raw
    assert NOTICE_TEXT.encode() not in raw
    assert b"198.51.100.0/24" in raw  # the anonymised network is what is kept


@pytest.mark.parametrize(("raw", "expected"), [
    ("203.0.113.57", "203.0.113.0/24"),
    ("10.1.2.3/32", "10.1.2.0/24"),
    ("10.0.0.0/8", "10.0.0.0/8"),
    ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::/48"),
    ("::ffff:192.0.2.128", "192.0.2.0/24"),
    ("::1", "::/48"),
])
def test_anonymise_ip_vectors(raw: str, expected: str) -> None:
    assert fp.consent.anonymise_ip(raw) == expected


@pytest.mark.parametrize("bad", ["", "1.2.3", "300.1.1.1", "host.example", "1.2.3.4/33", "x" * 80])
def test_anonymise_ip_rejects(bad: str) -> None:
    with pytest.raises(fp.InvalidInputError) as info:
        fp.consent.anonymise_ip(bad)
    assert bad == "" or bad not in str(info.value)


def test_purpose_validation() -> None:
    with pytest.raises(fp.InvalidInputError):
        Purpose(key="", description="x")
    with pytest.raises(fp.InvalidInputError):
        Purpose(key="a", description="x", valid_months=12, valid_for=dt.timedelta(days=1))
    with pytest.raises(fp.InvalidInputError):
        Purpose(key="a", description="x", legal_basis="whim")  # type: ignore[arg-type]
    with pytest.raises(fp.InvalidInputError):
        Purpose(key="a", description="x", data_categories="bank")  # type: ignore[arg-type]
    assert Purpose(key="a", description="x", sensitive=True,
                   requires_separate_consent=False).requires_separate_consent is False


def test_event_requires_aware_time() -> None:
    with pytest.raises(fp.InvalidTimeError):
        ConsentEvent(event_id="e", subject="s", purpose="p", kind="given",
                     time=dt.datetime(2025, 1, 1))
    with pytest.raises(fp.InvalidInputError):
        ConsentEvent(event_id="e", subject="s", purpose="p", kind="granted",  # type: ignore[arg-type]
                     time=T0)


def test_other_processes_notice_changes_seen_after_metadata_ttl(sqlite_url: str) -> None:
    writer, clock = make(sqlite_url)
    reader = ConsentLedger(SqlConsentStore.open(sqlite_url), clock=clock, cache_ttl=0,
                           metadata_ttl=30)
    tick = FakeMonotonic()
    reader._monotonic = tick
    writer.publish_notice("privacy", "v1", purposes=["marketing"])
    writer.grant("c1", "marketing")
    assert reader.check("c1", "marketing")
    clock.advance(dt.timedelta(days=1))
    writer.publish_notice("privacy", "v2", purposes=["marketing"], change="material")
    assert not writer.check("c1", "marketing")
    assert reader.check("c1", "marketing")  # notices are re-read every metadata_ttl
    tick.t += 30.01
    assert reader.status("c1", "marketing").reason == "notice_changed"


def test_doctests_pass() -> None:
    import doctest

    from finprivacy.consent import _ledger, _model, _receipt

    for module in (_ledger, _model, _receipt):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
    assert doctest.testmod(_ledger).attempted >= 5


def test_demo_chapter_tells_the_story(tmp_path: Path) -> None:
    import json

    from finprivacy.cli._demo_consent import chapter

    lines: list[str] = []
    chapter(tmp_path, lines.append)
    chapter(tmp_path, lines.append)  # re-runnable in the same folder
    text = "\n".join(lines)
    assert "separate_consent_missing" in text
    assert "notice_changed" in text
    assert "guardian_needed" in text
    assert "203.0.113.57" not in text
    receipt = json.loads((tmp_path / "receipt-client-1.json").read_text(encoding="utf-8"))
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["spiCat"]


def test_withdraw_all_and_context_manager(tmp_path: Path) -> None:
    clock = fp.FixedClock(T0)
    with ConsentLedger(f"sqlite:///{tmp_path / 'c.db'}", clock=clock) as ledger:
        for p in (VERIFY, MARKETING, ANNUAL):
            ledger.define_purpose(p)
        ledger.grant("c1", "marketing")
        ledger.grant("c1", "account_verification")
        ledger.refuse("c1", "statement_import")
        clock.advance(dt.timedelta(seconds=1))
        events = ledger.withdraw_all("c1")
        assert sorted(e.purpose for e in events) == ["account_verification", "marketing"]
        assert not any(s.granted for s in ledger.state("c1").values())
        assert ledger.withdraw_all("c1") == []
        assert ledger.check("c1", "marketing", at=T0)


# -- properties ----------------------------------------------------------------------
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EDITS: list[tuple[str, Any]] = [
    ("event_id", "forged-id"), ("subject", "c2"), ("purpose", "account_verification"),
    ("kind", "refused"), ("time", T0 + dt.timedelta(microseconds=1)),
    ("actor", Actor("staff", "s-1")), ("method", "signature"), ("separate", False),
    ("subject_age", 40), ("notice_id", "other"), ("notice_version", 2),
    ("expires_at", T0 + dt.timedelta(days=1)), ("evidence", Evidence(channel="phone")),
    ("receipt_id", "r-forged"), ("reason_code", "x"), ("seq", 9),
    ("prev_hash", "f" * 64),
]


def test_every_field_is_covered_by_the_hash() -> None:
    import dataclasses

    covered = {name for name, _ in EDITS} | {"hash"}
    assert covered == {f.name for f in dataclasses.fields(ConsentEvent)}


@given(st.integers(min_value=1, max_value=4), st.sampled_from(EDITS))
def test_any_single_edit_is_detected_at_its_position(position: int,
                                                    edit: tuple[str, Any]) -> None:
    store = MemoryConsentStore()
    ledger, clock = make(store)
    ledger.publish_notice("privacy", "text", purposes=["marketing"])
    for i in range(4):
        (ledger.withdraw if i % 2 else ledger.grant)("c1", "marketing")
        clock.advance(dt.timedelta(minutes=1))
    name, value = edit
    changes: dict[str, Any] = {name: value}
    if name == "notice_id":
        changes["notice_version"] = 1
    if name == "notice_version":
        changes["notice_id"] = "privacy"
    store._tamper("c1", position, **changes)
    with pytest.raises(fp.ConsentIntegrityError) as info:
        ledger.verify("c1")
    assert info.value.position == position


@given(st.ip_addresses(v=4))
def test_ipv4_keeps_only_the_24_network(address: Any) -> None:
    import ipaddress

    net = ipaddress.ip_network(fp.consent.anonymise_ip(str(address)))
    assert net.prefixlen == 24
    assert address in net
    assert str(address) not in repr(Evidence(ip=str(address))) or str(address).endswith(".0")


@given(st.ip_addresses(v=6))
def test_ipv6_keeps_at_most_the_48_network(address: Any) -> None:
    import ipaddress

    net = ipaddress.ip_network(fp.consent.anonymise_ip(str(address)))
    assert address in net or address.ipv4_mapped in net
    assert net.prefixlen <= 48


def test_verify_all_finds_the_broken_subject(store_url: str) -> None:
    ledger, _ = make(store_url)
    ledger.grant_many(GrantRequest(subject=f"c{i:04d}", purpose="marketing")
                      for i in range(1205))
    assert ledger.verify_all() == 1205
    _edit(ledger, "c1100", 1, kind="refused")
    with pytest.raises(fp.ConsentIntegrityError) as info:
        ledger.verify_all()
    assert info.value.subject == "c1100"
    assert info.value.position == 1


def test_consent_events_land_in_the_audit_log() -> None:
    clock = fp.FixedClock(T0)
    log = fp.AuditLog("memory:", clock=clock)
    ledger = ConsentLedger("memory:", clock=clock, audit=log)
    ledger.define_purpose(MARKETING)
    ledger.grant("c1", "marketing", evidence=Evidence(ip=RAW_IP))
    ledger.withdraw("c1", "marketing")
    entries = log.query(subject="c1")
    assert [e.action for e in entries] == ["consent.grant", "consent.withdraw"]
    assert RAW_IP not in repr(entries)
    log.verify()


class RacyStore(MemoryConsentStore):
    """Runs a hook right after a read, as if another thread wrote in between."""

    def __init__(self) -> None:
        super().__init__()
        self.hook: Any = None

    def events(self, subject: str, purpose: str | None = None) -> list[ConsentEvent]:
        result = super().events(subject, purpose)
        hook, self.hook = self.hook, None
        if hook is not None:
            hook()
        return result


def test_a_read_racing_a_write_is_not_cached() -> None:
    store = RacyStore()
    ledger, _ = make(store)
    ledger.grant("c1", "marketing")
    store.hook = lambda: ledger.withdraw("c1", "marketing")
    assert ledger.check("c1", "marketing")  # read before the withdrawal committed
    assert not ledger.check("c1", "marketing")  # ...and not kept in the cache


def test_event_and_receipt_ids_are_uuid7() -> None:
    import uuid

    ledger, _ = make()
    events = ledger.grant_many(GrantRequest(subject=f"c{i}", purpose="marketing")
                               for i in range(200))
    ids = [e.event_id for e in events] + [e.receipt_id for e in events]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
    import time

    now_ms = time.time_ns() // 1_000_000
    for e in events:  # the 48-bit prefix is the creation time in Unix milliseconds
        assert abs((uuid.UUID(e.event_id).int >> 80) - now_ms) < 86_400_000


# -- anchors: a rewind needs no hash work, an anchor catches it (issue 15, item 4) ------

def _rewind(url: str, subject: str, keep: int) -> None:
    """Delete the subject's events after ``keep`` and copy that event's hash into the head."""
    if url.startswith("sqlite"):
        import sqlite3
        from contextlib import closing

        with closing(sqlite3.connect(url[len("sqlite:///"):])) as conn:
            h = conn.execute("SELECT hash FROM consent_events WHERE subject = ? AND seq = ?",
                             (subject, keep)).fetchone()[0]
            conn.execute("DELETE FROM consent_events WHERE subject = ? AND seq > ?",
                         (subject, keep))
            conn.execute("UPDATE consent_heads SET seq = ?, hash = ? WHERE subject = ?",
                         (keep, h, subject))
            conn.commit()
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            h = conn.execute("SELECT hash FROM consent_events WHERE subject = %s AND seq = %s",
                             (subject, keep)).fetchone()[0]  # type: ignore[index]
            conn.execute("DELETE FROM consent_events WHERE subject = %s AND seq > %s",
                         (subject, keep))
            conn.execute("UPDATE consent_heads SET seq = %s, hash = %s WHERE subject = %s",
                         (keep, h, subject))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sql_store_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def test_a_consent_rewind_is_caught_against_an_anchor(sql_store_url: str) -> None:
    ledger, clock = make(sql_store_url)
    audit = fp.AuditLog(sql_store_url, signer=fp.Ed25519Signer.generate(), clock=clock)
    ledger.grant("client-1", "marketing")
    ledger.grant("client-2", "marketing")
    clock.advance(dt.timedelta(days=1))
    ledger.withdraw("client-1", "marketing")
    anchor = ledger.anchor(audit)
    audit.checkpoint()
    assert anchor.subjects == 2 and anchor.events == 3
    assert ledger.verify_anchored(audit) == 2
    assert not ledger.check("client-1", "marketing")

    _rewind(sql_store_url, "client-1", keep=1)
    ledger = ConsentLedger(sql_store_url, clock=clock)  # as another process sees it
    assert ledger.check("client-1", "marketing")  # the withdrawal is gone ...
    assert ledger.verify("client-1") == 1  # ... and the chain alone cannot tell
    with pytest.raises(fp.ConsentIntegrityError, match="rewound or deleted since anchor") as info:
        ledger.verify_anchored(audit)
    assert info.value.subject == "client-1" and info.value.position == 2


def test_a_deleted_subject_and_an_edited_anchor_are_caught(sql_store_url: str) -> None:
    ledger, clock = make(sql_store_url)
    audit = fp.AuditLog(sql_store_url, signer=fp.Ed25519Signer.generate(), clock=clock)
    ledger.grant("client-1", "marketing")
    ledger.grant("client-2", "marketing")
    ledger.anchor(audit)
    audit.checkpoint()
    store = ledger.store
    db = store.database  # type: ignore[attr-defined]
    with db.transaction() as tx:
        tx.execute("DELETE FROM consent_events WHERE subject = ?", ("client-2",))
        tx.execute("DELETE FROM consent_heads WHERE subject = ?", ("client-2",))
    with pytest.raises(fp.ConsentIntegrityError, match="client-2"):
        ledger.verify_anchored(audit)
    with db.transaction() as tx:
        tx.execute("DELETE FROM consent_anchor_heads WHERE subject = ?", ("client-2",))
    with pytest.raises(fp.ConsentIntegrityError, match="does not match the digest"):
        ledger.verify_anchored(audit)


def test_appends_after_an_anchor_still_verify() -> None:
    ledger, clock = make()
    audit = fp.AuditLog("memory:", signer=fp.Ed25519Signer.generate(), clock=clock)
    ledger.grant("client-1", "marketing")
    ledger.anchor(audit)
    ledger.withdraw("client-1", "marketing")
    ledger.grant("client-9", "marketing")
    assert ledger.verify_anchored(audit) == 1
    with pytest.raises(fp.ConsentIntegrityError, match="no consent anchor"):
        make()[0].verify_anchored(fp.AuditLog("memory:"))
