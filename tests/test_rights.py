from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

import finprivacy as fp
from finprivacy.inventory import DataField, DataInventory
from finprivacy.retention import (
    Duration,
    RetentionRecord,
    RetentionRule,
    RetentionSchedule,
    RuleKind,
    assess_erasure,
)
from finprivacy.retention.presets import CN_ACCOUNTING_ARCHIVES_2015
from finprivacy.rights import (
    CCPA,
    GDPR,
    PIPL,
    DeadlinePolicy,
    RequestKind,
    RequestRegister,
    RequestStatus,
    add_months,
    export_subject_data,
    fulfil_erasure,
)

SH = "Asia/Shanghai"
T0 = dt.datetime(2025, 1, 31, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai on 31 January


class Sink:
    def __init__(self) -> None:
        self.events: list[fp.AuditEvent] = []

    def record(self, event: fp.AuditEvent) -> object:
        self.events.append(event)
        return len(self.events)


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2025, 11, 30), 3) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2025, 3, 15), -3) == dt.date(2024, 12, 15)


def test_deadlines_are_local_calendar_days() -> None:
    # GDPR: one month from 31 January is 28 February, to the end of that day locally.
    due = GDPR.due(T0, SH)
    assert due == dt.datetime(2025, 2, 28, 23, 59, 59, 999999,
                              tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert GDPR.due(T0, SH, extended=True).astimezone(dt.timezone(dt.timedelta(hours=8))).date() \
        == dt.date(2025, 4, 28)
    # 23:30 UTC on 31 Jan is already 1 Feb in Shanghai: the period starts a day later.
    late = dt.datetime(2025, 1, 31, 23, 30, tzinfo=dt.UTC)
    assert PIPL.due(late, SH).astimezone(dt.timezone(dt.timedelta(hours=8))).date() == \
        dt.date(2025, 3, 3)
    assert PIPL.due(late, "UTC").date() == dt.date(2025, 3, 2)
    assert CCPA.due(T0, "America/Los_Angeles", extended=True) > CCPA.due(T0, "America/Los_Angeles")


def test_deadline_bad_input() -> None:
    with pytest.raises(fp.InvalidTimeError):
        GDPR.due(dt.datetime(2025, 1, 1), SH)  # naive
    with pytest.raises(fp.InvalidTimeError, match="unknown IANA"):
        GDPR.due(T0, "Mars/Olympus")
    with pytest.raises(fp.ConfigurationError):
        PIPL.due(T0, SH, extended=True)
    with pytest.raises(fp.ConfigurationError):
        DeadlinePolicy(name="x", source="")
    with pytest.raises(fp.ConfigurationError):
        DeadlinePolicy(name="x", source="y")


def test_request_lifecycle(store_url: str) -> None:
    clock = fp.FixedClock(T0)
    sink = Sink()
    reg = RequestRegister(store_url, policy=GDPR, zone=SH, clock=clock, audit=sink)
    req = reg.receive("client-42", "access", actor="client-42", channel="web")
    assert req.status is RequestStatus.RECEIVED
    assert req.is_open and not req.overdue(T0)
    with pytest.raises(fp.RequestStateError, match="verify"):
        reg.complete(req.id, by="staff-1", outcome="sent export")
    clock.advance(dt.timedelta(days=2))
    req = reg.verify_identity(req.id, by="staff-1", method="id card + video call")
    assert req.status is RequestStatus.IDENTITY_VERIFIED
    req = reg.extend(req.id, by="staff-1", reason="records in the paper archive")
    assert req.extended and req.status is RequestStatus.EXTENDED
    assert req.due_at == GDPR.due(T0, SH, extended=True)
    with pytest.raises(fp.RequestStateError, match="already extended"):
        reg.extend(req.id, by="staff-1", reason="again")
    reg.note(req.id, by="staff-1", text="archive retrieval booked")
    req = reg.complete(req.id, by="staff-1", outcome="export sent by registered mail")
    assert req.status is RequestStatus.COMPLETED and not req.is_open
    assert [e.step for e in req.history] == ["received", "identity_verified", "extended",
                                             "note", "completed"]
    with pytest.raises(fp.RequestStateError, match="closed"):
        reg.reject(req.id, by="staff-1", reason="late")
    # The register reads back the same from a fresh object (durable stores).
    if store_url != "memory:":
        again = RequestRegister(store_url, policy=GDPR, zone=SH, clock=clock)
        assert again.get(req.id) == req
    assert [e.action for e in sink.events][:2] == ["rights.access.received",
                                                   "rights.access.identity_verified"]
    assert all(e.subject == "client-42" for e in sink.events)


def test_overdue_and_due_soon(store_url: str) -> None:
    clock = fp.FixedClock(T0)
    reg = RequestRegister(store_url, policy=PIPL, zone=SH, clock=clock)
    a = reg.receive("c1", RequestKind.ERASURE, actor="c1")
    clock.advance(dt.timedelta(days=10))
    b = reg.receive("c2", "rectification", actor="c2")
    c = reg.receive("c1", "complaint", actor="c1")
    reg.complete(c.id, by="dpo", outcome="apologised; process changed")  # no verify needed
    assert [r.id for r in reg.open_requests()] == [a.id, b.id]
    assert reg.overdue() == []
    soon = reg.due_within(dt.timedelta(days=21))
    assert [r.id for r in soon] == [a.id]
    clock.advance(dt.timedelta(days=25))
    assert [r.id for r in reg.overdue()] == [a.id]
    with pytest.raises(fp.RequestStateError, match="no extension"):
        reg.extend(a.id, by="s", reason="late")
    gdpr = RequestRegister(reg._store, policy=GDPR, zone=SH, clock=clock)
    with pytest.raises(fp.RequestStateError, match="overdue"):
        gdpr.extend(a.id, by="s", reason="late")
    assert [r.id for r in reg.for_subject("c1")] == [a.id, c.id]


def test_bad_requests_write_nothing(store_url: str) -> None:
    reg = RequestRegister(store_url, clock=fp.FixedClock(T0))
    with pytest.raises(fp.InvalidInputError, match="kind"):
        reg.receive("c1", "teleport", actor="c1")
    with pytest.raises(fp.InvalidInputError, match="subject"):
        reg.receive("", "access", actor="c1")
    with pytest.raises(fp.InvalidInputError, match="grant"):
        reg.receive("c1", "access", actor="lawyer-1", agent="lawyer-1")
    with pytest.raises(fp.InvalidTimeError):
        reg.receive("c1", "access", actor="c1", received_at=dt.datetime(2025, 1, 1))
    assert reg.open_requests() == []
    with pytest.raises(fp.NotFoundError):
        reg.get("dsr_missing")
    with pytest.raises(fp.InvalidTimeError):
        RequestRegister(store_url, zone="Nowhere/City")
    req = reg.receive("c1", "access", actor="lawyer-1", agent="lawyer-1", grant_id="g-7")
    assert req.agent == "lawyer-1" and req.grant_id == "g-7"
    with pytest.raises(fp.InvalidInputError, match="reason"):
        reg.reject(req.id, by="s", reason=" ")
    assert reg.get(req.id).status is RequestStatus.RECEIVED


def test_concurrent_step_conflicts(sqlite_url: str) -> None:
    reg = RequestRegister(sqlite_url, clock=fp.FixedClock(T0))
    req = reg.receive("c1", "access", actor="c1")
    store = reg._store
    from finprivacy.rights import RequestEvent

    dup = RequestEvent(request_id=req.id, seq=0, step="received", at=T0, actor="x",
                       data={"subject": "c9", "kind": "access"})
    with pytest.raises(fp.ConflictError):
        store.append_event(dup)
    assert reg.get(req.id).subject == "c1"


@dataclasses.dataclass
class Row:
    card_no: fp.Secret[str]
    pin_hash: str
    note: str


def test_export_reveals_own_data_withholds_c3() -> None:
    inv = DataInventory([
        DataField("card_no", "financial_account", "C2", purposes=frozenset({"billing"}),
                  retention="bank_statement", mask="bank_card"),
        DataField("pin_hash", "authentication", "C3"),
        DataField("name", "identity", "C2"),
    ])
    sources = {
        "clients": lambda s: [{"name": "李雷", "card_no": fp.Secret("6222020200112233445"),
                               "pin_hash": "$argon2id$..."}],
        "payments": lambda s: [Row(fp.Secret("6222020200112233445"), "$argon2id$x", "rent")],
    }
    out = export_subject_data("client-42", sources, inventory=inv,
                              clock=fp.FixedClock(T0))
    doc = out.to_dict()
    assert doc["format"] == "finprivacy-subject-export/1"
    assert doc["data"]["clients"][0]["card_no"] == "6222020200112233445"
    assert "pin_hash" not in doc["data"]["clients"][0]
    assert "pin_hash" not in doc["data"]["payments"][0]
    assert doc["withheld"] == ["pin_hash"]
    assert {p["field"] for p in doc["processing"]} == {"card_no", "name", "pin_hash"}
    assert "6222020200112233445" not in repr(out)
    assert "李雷" in out.to_json()
    with pytest.raises(fp.InvalidInputError):
        export_subject_data("", sources)
    with pytest.raises(fp.InvalidInputError):
        export_subject_data("c", {})


class Handler:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def erase(self, record_id: str) -> None:
        self.calls.append(("erase", record_id))

    def erase_categories(self, record_id: str, categories: frozenset[str]) -> None:
        self.calls.append(("erase_categories", record_id))

    def restrict(self, record_id: str, *, until: dt.date | None) -> None:
        self.calls.append(("restrict", record_id))


class Shredder:
    def __init__(self) -> None:
        self.shredded: list[str] = []

    def shred(self, subject: str, *, reason: str) -> object:
        self.shredded.append(subject)
        return None


MARKETING = RetentionRule(key="marketing", source="firm policy §4 (PIPL Art. 19)",
                          duration=Duration(years=1), record_classes=frozenset({"marketing"}),
                          kind=RuleKind.MAXIMUM)


def _schedule() -> RetentionSchedule:
    return RetentionSchedule((*CN_ACCOUNTING_ARCHIVES_2015, MARKETING), zone=SH)


def test_erasure_keeps_what_the_law_keeps() -> None:
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    records = [
        RetentionRecord(id="m-1", record_class="marketing", created=dt.date(2025, 5, 1),
                        subject="c1"),
        RetentionRecord(id="v-1", record_class="bookkeeping_voucher",
                        created=dt.date(2024, 3, 15), subject="c1"),
    ]
    assessment = assess_erasure(records, now, schedule=_schedule(), subject="c1")
    handler, shredder, sink = Handler(), Shredder(), Sink()
    report = fulfil_erasure(assessment, handler, actor="dpo", shredder=shredder, audit=sink,
                            request_id="dsr_1")
    assert handler.calls == [("erase", "m-1"), ("restrict", "v-1")]
    assert report.erased == ("m-1",) and report.restricted == ("v-1",)
    assert report.kept_until == dt.date(2054, 12, 31)
    assert not report.shredded and shredder.shredded == []  # shredding would kill v-1
    assert "2054-12-31" in report.summary() and "Art. 47" in report.summary()
    assert sink.events[0].action == "rights.erasure.fulfilled"


def test_erasure_complete_shreds_subject_key() -> None:
    now = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)
    records = [RetentionRecord(id="m-1", record_class="marketing",
                               created=dt.date(2025, 5, 1), subject="c1")]
    assessment = assess_erasure(records, now, schedule=_schedule(), subject="c1")
    shredder = Shredder()
    report = fulfil_erasure(assessment, Handler(), actor="dpo", shredder=shredder)
    assert report.shredded and shredder.shredded == ["c1"]
