"""Disposal plans, holds during sweeps, crash and resume, certificates, erasure."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import pickle
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy import retention as rt
from finprivacy._stores import open_store
from finprivacy.audit.events import AuditEvent
from finprivacy.clock import FixedClock
from finprivacy.retention import presets

SH = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
SCHEDULE = presets.china_enterprise(aml_years=5, name="Lotus retention policy")
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=SH)


class Sink:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def record(self, event: AuditEvent) -> object:
        self.events.append(event)
        return len(self.events)


def statements(n: int, year: int = 2014, subject: str = "client-{i}") -> list[rt.RetentionRecord]:
    return [rt.RetentionRecord(id=f"bs-{year}-{i:03d}", record_class="bank_statement",
                               created=dt.date(year, 1 + i % 12, 1),
                               subject=subject.format(i=i),
                               name=f"{year}年银行对账单 第{i}册")
            for i in range(n)]


def run(plan: rt.DisposalPlan, handler: rt.DisposalHandler, journal: rt.ExecutionJournal,
        **kw: object) -> rt.DisposalCertificate:
    args: dict[str, object] = {
        "journal": journal, "actor": "chen.archivist",
        "approvals": [rt.Signatory("Wang Fang", "单位负责人"), "Li Na (会计机构负责人)"],
        "witnesses": [rt.Signatory("Zhao Lei", "监销人")],
        "clock": FixedClock(dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),
    }
    args.update(kw)
    return rt.execute(plan, handler, **args)  # type: ignore[arg-type]


# -- plan ------------------------------------------------------------------------------

def test_plan_streams_one_record_at_a_time() -> None:
    pulled: list[int] = []

    def source() -> Iterator[rt.RetentionRecord]:
        for i, rec in enumerate(statements(50)):
            pulled.append(i)
            yield rec

    plan = rt.plan(source(), NOW, schedule=SCHEDULE)
    assert pulled == []  # nothing read until iterated
    it = iter(plan)
    first = next(it)
    assert pulled == [0] and first.status == "due"
    assert plan.summary.total == 1 and not plan.summary.complete
    rest = list(it)
    assert len(rest) == 49 and plan.summary.complete and plan.summary.due == 50
    with pytest.raises(fp.InvalidInputError, match="once"):
        iter(plan)


def test_plan_mixes_due_kept_and_held() -> None:
    holds = rt.LegalHolds("memory:", clock=FixedClock(NOW))
    holds.place(matter="tax_audit", reason="2014 tax audit notice", placed_by="chen",
                subjects={"client-3"}, reference="税稽通〔2026〕12号", hold_id="H-tax")
    records = [*statements(6), rt.RetentionRecord(
        id="v-2014", record_class="bookkeeping_voucher", created=dt.date(2014, 6, 30))]
    plan = rt.plan(records, NOW, schedule=SCHEDULE, holds=holds)
    by_id = {d.record.id: d for d in plan}
    assert by_id["bs-2014-003"].status == "held"
    assert by_id["bs-2014-003"].holds == ("H-tax",)
    # A hold never changes the computed date.
    assert by_id["bs-2014-003"].kept_through == dt.date(2024, 12, 31)
    assert by_id["bs-2014-000"].status == "due"
    assert by_id["v-2014"].status == "kept"
    assert by_id["v-2014"].kept_through == dt.date(2044, 12, 31)
    s = plan.summary
    assert (s.total, s.due, s.held, s.kept) == (7, 5, 1, 1)
    assert s.due_by_class == {"bank_statement": 5}


# -- execute ---------------------------------------------------------------------------

def test_execute_disposes_due_records_and_certifies() -> None:
    journal = fp.storage._retention.MemoryRetentionStore()
    done: list[str] = []

    def handler(d: rt.Disposition) -> str:
        done.append(d.record.id)
        return "rows deleted; backups expire in 30 days"

    sink = Sink()
    plan = rt.plan(statements(4), NOW, schedule=SCHEDULE)
    cert = run(plan, handler, journal, audit=sink)
    assert done == [f"bs-2014-{i:03d}" for i in range(4)]
    assert [ln.record_id for ln in cert.lines] == done
    line = cert.lines[0]
    assert line.name == "2014年银行对账单 第0册" and line.record_class == "bank_statement"
    assert line.years_covered == "2014" and line.period_required == "10 years"
    assert line.period_kept == "11 years 2 months 1 day"  # 2015-01-01 .. 2026-03-02
    assert line.action == "delete" and line.method.startswith("rows deleted")
    assert line.executed_at == dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert "附表1" in line.source
    assert cert.executed_by == "chen.archivist"
    assert [str(a) for a in cert.approvals] == ["Wang Fang (单位负责人)", "Li Na (会计机构负责人)"]
    assert cert.excluded == ()
    (event,) = sink.events
    assert event.action == "retention.disposal_certificate"
    assert event.details["certificate_sha256"] == cert.digest
    stored = journal.sweep_certificate(plan.sweep_id)
    assert stored is not None and rt.DisposalCertificate.from_json(stored) == cert
    assert "第0册" not in str(event)  # names stay out of the audit log
    copy = json.loads(event.details["certificate"])
    assert [ln["record_id"] for ln in copy["lines"]] == done
    assert all("name" not in ln for ln in copy["lines"])
    assert copy["approvals"][0] == {"name": "Wang Fang", "role": "单位负责人"}
    text = cert.render()
    for column in ("名称", "类别", "所属年度", "应保管期限", "已保管期限", "监销人", "Zhao Lei"):
        assert column in text


def test_hold_placed_during_a_sweep_excludes_its_record() -> None:
    store = fp.storage._retention.MemoryRetentionStore()
    holds = rt.LegalHolds(store, clock=FixedClock(NOW))
    done: list[str] = []

    def handler(d: rt.Disposition) -> None:
        done.append(d.record.id)
        if len(done) == 2:  # a tax audit notice arrives while the sweep runs
            holds.place(matter=rt.HoldMatter.TAX_AUDIT, reason="audit of client-4",
                        placed_by="partner", subjects={"client-4"}, hold_id="H-audit")

    plan = rt.plan(statements(6), NOW, schedule=SCHEDULE, holds=holds)
    cert = run(plan, handler, store)
    assert "bs-2014-004" not in done and len(done) == 5
    (excluded,) = cert.excluded
    assert (excluded.record_id, excluded.holds) == ("bs-2014-004", ("H-audit",))
    assert "H-audit" in cert.render()


def test_released_hold_frees_the_record_at_the_next_sweep() -> None:
    store = fp.storage._retention.MemoryRetentionStore()
    clock = FixedClock(NOW)
    holds = rt.LegalHolds(store, clock=clock)
    holds.place(matter="unsettled_receivable", reason="receivable from client-1 unpaid",
                placed_by="chen", record_ids={"bs-2014-001"}, hold_id="H-ar")
    done: list[str] = []
    first = run(rt.plan(statements(3), NOW, schedule=SCHEDULE, holds=holds, sweep_id="2026-Q1"),
                lambda d: done.append(d.record.id), store)
    assert done == ["bs-2014-000", "bs-2014-002"]
    assert [x.record_id for x in first.excluded] == ["bs-2014-001"]
    released = holds.release("H-ar", by="chen", reason="receivable settled 2026-05-20")
    assert not released.active and released.released_by == "chen"
    assert holds.get("H-ar").release_reason.startswith("receivable settled")
    remaining = [r for r in statements(3) if r.id not in done]
    second = run(rt.plan(remaining, NOW + dt.timedelta(days=90), schedule=SCHEDULE,
                         holds=holds, sweep_id="2026-Q2"),
                 lambda d: done.append(d.record.id), store)
    assert done[-1] == "bs-2014-001" and [ln.record_id for ln in second.lines] == ["bs-2014-001"]
    assert second.excluded == ()


def test_crash_in_the_middle_then_rerun(store_url: str) -> None:
    store: rt.ExecutionJournal = open_store("retention", store_url)
    disposed: list[str] = []
    calls: list[str] = []

    class PowerCut(Exception):
        pass

    def crashing(d: rt.Disposition) -> str:
        calls.append(d.record.id)
        if len(disposed) == 4:
            raise PowerCut  # the machine dies before the 5th record is touched
        disposed.append(d.record.id)
        return "deleted"

    records = statements(10)
    with pytest.raises(PowerCut):
        run(rt.plan(records, NOW, schedule=SCHEDULE), crashing, store)
    assert len(disposed) == 4
    assert store.sweep_certificate(rt.plan(records, NOW, schedule=SCHEDULE).sweep_id) is None

    def steady(d: rt.Disposition) -> str:
        calls.append(d.record.id)
        disposed.append(d.record.id)
        return "deleted"

    # Re-run later the same day: the default sweep id resumes the sweep.
    cert = run(rt.plan(records, NOW + dt.timedelta(hours=2), schedule=SCHEDULE), steady, store)
    assert sorted(disposed) == [r.id for r in records]
    assert len(disposed) == len(set(disposed)) == 10  # nothing disposed of twice
    assert [ln.record_id for ln in cert.lines] == [r.id for r in records]
    # A third run of the certified sweep does nothing and returns the same evidence.
    again = run(rt.plan(records, NOW + dt.timedelta(hours=3), schedule=SCHEDULE), steady, store)
    assert again == cert and len(disposed) == 10


def test_a_second_executor_of_the_same_sweep_is_refused() -> None:
    store = fp.storage._retention.MemoryRetentionStore()
    seen: list[str] = []
    errors: list[Exception] = []

    def handler(d: rt.Disposition) -> None:
        seen.append(d.record.id)
        if len(seen) == 1:  # while the first run is busy, a second one starts
            try:
                run(rt.plan(statements(3), NOW, schedule=SCHEDULE, sweep_id="s"),
                    lambda d: None, store)
            except fp.ConflictError as exc:
                errors.append(exc)

    cert = run(rt.plan(statements(3), NOW, schedule=SCHEDULE, sweep_id="s"), handler, store)
    assert len(errors) == 1 and "'s'" in str(errors[0])
    assert seen == [r.id for r in statements(3)] and len(cert.lines) == 3
    # The lease is given up at the end, and even when the handler fails.
    assert store.lock_sweep("s", "someone", now=NOW, until=NOW + dt.timedelta(minutes=1))

    def boom(d: rt.Disposition) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        run(rt.plan(statements(2), NOW, schedule=SCHEDULE, sweep_id="t"), boom, store)
    assert store.lock_sweep("t", "someone", now=NOW, until=NOW + dt.timedelta(minutes=1))


def test_a_dead_executors_lease_runs_out() -> None:
    store = fp.storage._retention.MemoryRetentionStore()
    clock = FixedClock(dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    assert store.lock_sweep("s", "dead-process", now=clock.now(),
                            until=clock.now() + dt.timedelta(minutes=5))
    plan = rt.plan(statements(2), NOW, schedule=SCHEDULE, sweep_id="s")
    with pytest.raises(fp.ConflictError):
        run(plan, lambda d: None, store, clock=clock)
    clock.advance(dt.timedelta(minutes=5))
    cert = run(rt.plan(statements(2), NOW, schedule=SCHEDULE, sweep_id="s"), lambda d: None,
               store, clock=clock)
    assert len(cert.lines) == 2
    with pytest.raises(fp.InvalidInputError):
        run(rt.plan([], NOW, schedule=SCHEDULE), lambda d: None, store,
            lease=dt.timedelta(0))


def test_large_certificates_go_to_the_audit_log_as_a_digest(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from finprivacy.retention import _execute

    monkeypatch.setattr(_execute, "AUDIT_CERTIFICATE_LIMIT", 2)
    sink = Sink()
    cert = run(rt.plan(statements(3), NOW, schedule=SCHEDULE), lambda d: None,
               fp.storage._retention.MemoryRetentionStore(), audit=sink)
    (event,) = sink.events
    assert "certificate" not in event.details
    assert event.details["certificate_sha256"] == cert.digest and event.details["disposed"] == "3"


def test_audit_event_is_written_once_per_sweep() -> None:
    store = fp.storage._retention.MemoryRetentionStore()
    sink = Sink()
    run(rt.plan(statements(2), NOW, schedule=SCHEDULE, sweep_id="s"), lambda d: None, store,
        audit=sink)
    run(rt.plan(statements(2), NOW, schedule=SCHEDULE, sweep_id="s"), lambda d: None, store,
        audit=sink)
    assert len(sink.events) == 1


def test_partial_disposal_hands_the_fields_to_the_handler() -> None:
    rules = [
        rt.RetentionRule(key="aml", source="AML Art. 29", duration=rt.Duration(years=5),
                         data_categories=frozenset({"identity"})),
        rt.RetentionRule(key="mkt", source="PIPL Art. 19 policy", kind=rt.RuleKind.MAXIMUM,
                         duration=rt.Duration(years=1), data_categories=frozenset({"contact"}),
                         action=rt.DisposalAction.ANONYMISE),
    ]
    s = rt.RetentionSchedule(rules, zone="Asia/Shanghai")
    rec = rt.RetentionRecord(id="c-1", record_class="client", created=dt.date(2024, 1, 5),
                             subject="client-1", data_categories=frozenset({"identity",
                                                                            "contact"}))
    seen: list[frozenset[str]] = []
    cert = run(rt.plan([rec], NOW, schedule=s), lambda d: seen.append(d.fields), fp.storage
               ._retention.MemoryRetentionStore())
    assert seen == [frozenset({"contact"})]
    assert cert.lines[0].fields == ("contact",) and cert.lines[0].action == "anonymise"


def test_execute_refuses_bad_arguments() -> None:
    store = fp.storage._retention.MemoryRetentionStore()
    with pytest.raises(fp.RetentionError, match="approval"):
        run(rt.plan([], NOW, schedule=SCHEDULE), lambda d: None, store, approvals=[])
    with pytest.raises(fp.InvalidInputError):
        run(rt.plan([], NOW, schedule=SCHEDULE), lambda d: None, store, actor="")
    with pytest.raises(fp.InvalidInputError):
        run(rt.plan([], NOW, schedule=SCHEDULE), lambda d: None, store, witnesses="Zhao")
    with pytest.raises(fp.RetentionError):
        run(rt.plan([], NOW, schedule=SCHEDULE), lambda d: None, object())
    with pytest.raises(fp.InvalidInputError):
        rt.plan([], NOW, schedule=SCHEDULE, sweep_id="")


def test_a_handler_returning_garbage_is_reported_after_journalling() -> None:
    store = fp.storage._retention.MemoryRetentionStore()
    calls: list[str] = []

    def bad(d: rt.Disposition) -> int:
        calls.append(d.record.id)
        return 1

    with pytest.raises(fp.InvalidInputError, match="bs-2014-000"):
        run(rt.plan(statements(2), NOW, schedule=SCHEDULE, sweep_id="g"), bad, store)  # type: ignore[arg-type]
    cert = run(rt.plan(statements(2), NOW, schedule=SCHEDULE, sweep_id="g"),
               lambda d: calls.append(d.record.id), store)
    assert calls == ["bs-2014-000", "bs-2014-001"]  # the first is not disposed of twice
    assert cert.lines[0].method == "deleted by the application"


def test_certificate_round_trip_and_tamper() -> None:
    cert = run(rt.plan(statements(2), NOW, schedule=SCHEDULE), lambda d: None,
               fp.storage._retention.MemoryRetentionStore())
    assert rt.DisposalCertificate.from_json(cert.to_json()) == cert
    data = json.loads(cert.to_json())
    data["lines"][0]["executed_at"] = "2026-03-02T10:00:00"  # naive
    with pytest.raises(fp.FormatError):
        rt.DisposalCertificate.from_json(json.dumps(data))
    with pytest.raises(fp.FormatError):
        rt.DisposalCertificate.from_json("{}")


def test_nothing_personal_leaks_into_errors_or_reprs() -> None:
    secret_name = "张三 身份证 110101199003070079"
    rec = rt.RetentionRecord(id="r-1", record_class="nope", created=dt.date(2020, 1, 1),
                             name=secret_name, subject="client-7")
    with pytest.raises(fp.RetentionError) as exc:
        list(rt.plan([rec], NOW, schedule=SCHEDULE))
    assert secret_name not in str(exc.value)
    plan = rt.plan([rec], NOW, schedule=SCHEDULE)
    assert secret_name not in repr(plan)
    assert "110101199003070079" not in repr(SCHEDULE)
    assert secret_name not in repr(rec) and "r-1" in repr(rec)
    (d,) = rt.plan([rt.RetentionRecord(id="r-2", record_class="bank_statement",
                                       created=dt.date(2010, 1, 1), name=secret_name)],
                   NOW, schedule=SCHEDULE)
    assert secret_name not in repr(d) and secret_name not in d.reason
    # Domain objects pickle (they hold no secrets) and round-trip, and records hash.
    assert pickle.loads(pickle.dumps(rec)) == rec
    with_events = rt.RetentionRecord(id="k", record_class="aml.customer_identification",
                                     created=dt.date(2020, 1, 1),
                                     events={"relationship_end": dt.date(2021, 1, 1)})
    assert len({rec, with_events, rec}) == 2


# -- erasure ---------------------------------------------------------------------------

def test_erasure_against_retention() -> None:
    s = SCHEDULE.with_rules(rt.RetentionRule(
        key="lotus.marketing", source="Lotus privacy notice v3 §5 (PIPL Art. 19)",
        kind=rt.RuleKind.MAXIMUM, duration=rt.Duration(years=2),
        record_classes=frozenset({"marketing_profile"})))
    subject = "client-42"
    records = [
        rt.RetentionRecord(id="v-1", record_class="bookkeeping_voucher", subject=subject,
                           created=dt.date(2024, 3, 15)),
        rt.RetentionRecord(id="bs-old", record_class="bank_statement", subject=subject,
                           created=dt.date(2012, 5, 1)),
        rt.RetentionRecord(id="m-1", record_class="marketing_profile", subject=subject,
                           created=dt.date(2025, 6, 1)),
        rt.RetentionRecord(id="kyc", record_class="aml.customer_identification",
                           subject=subject, created=dt.date(2020, 1, 1)),
        rt.RetentionRecord(id="ar", record_class="annual_financial_report", subject=subject,
                           created=dt.date(2020, 1, 1)),
    ]
    a = rt.assess_erasure(records, NOW, schedule=s, subject=subject)
    by_id = {i.record_id: i for i in a.items}
    assert {i.record_id for i in a.erase_now} == {"bs-old", "m-1"}
    assert by_id["v-1"].outcome == "restrict" and by_id["v-1"].kept_through == dt.date(
        2054, 12, 31)
    assert "第四十七条" in by_id["v-1"].basis and "会计档案管理办法" in by_id["v-1"].basis
    assert by_id["kyc"].pending_event == "relationship_end" and by_id["kyc"].kept_through is None
    assert by_id["ar"].permanent
    assert a.kept_until is None and not a.complete
    only_dated = rt.assess_erasure(records[:3], NOW, schedule=s, subject=subject)
    assert only_dated.kept_until == dt.date(2054, 12, 31)


def test_erasure_with_holds_and_partial_categories() -> None:
    rules = [rt.RetentionRule(key="aml", source="AML Art. 29", duration=rt.Duration(years=5),
                              data_categories=frozenset({"identity"}))]
    s = rt.RetentionSchedule(rules, zone="Asia/Shanghai")
    rec = rt.RetentionRecord(id="c", record_class="client", subject="s-1",
                             created=dt.date(2025, 1, 1),
                             data_categories=frozenset({"identity", "contact", "marketing"}))
    a = rt.assess_erasure([rec], NOW, schedule=s, subject="s-1")
    (item,) = a.items
    assert item.outcome == "partial" and item.erasable == {"contact", "marketing"}
    assert item.kept_through == dt.date(2030, 1, 1)
    holds = rt.LegalHolds("memory:", clock=FixedClock(NOW))
    holds.place(matter="litigation", reason="suit", placed_by="x", subjects={"s-1"},
                hold_id="L-1")
    (held,) = rt.assess_erasure([rec], NOW, schedule=s, subject="s-1", holds=holds).items
    assert held.outcome == "restrict" and held.holds == ("L-1",)
    with pytest.raises(fp.InvalidInputError, match="'c'"):
        rt.assess_erasure([rec], NOW, schedule=s, subject="someone-else")


# -- fuzzing the certificate parser ----------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.text(max_size=12), kids, max_size=5), max_leaves=20)


@given(st.text(max_size=200))
def test_certificate_parser_rejects_text_with_format_error(text: str) -> None:
    with pytest.raises(fp.FormatError):
        rt.DisposalCertificate.from_json(text)


@given(JSON)
def test_certificate_parser_rejects_json_with_format_error(value: object) -> None:
    with pytest.raises(fp.FormatError):
        rt.DisposalCertificate.from_json(json.dumps(value))


@given(st.sampled_from(["sweep_id", "issued_at", "lines", "approvals", "excluded"]), JSON)
def test_certificate_parser_mutations(key: str, value: object) -> None:
    cert = _CERT
    data = json.loads(cert.to_json())
    data[key] = value
    try:
        parsed = rt.DisposalCertificate.from_json(json.dumps(data))
    except fp.FormatError:
        return
    assert isinstance(parsed, rt.DisposalCertificate)


_CERT = rt.DisposalCertificate(
    sweep_id="s", schedule="x", zone="UTC", planned_at=NOW, issued_at=NOW, executed_by="a",
    approvals=(rt.Signatory("a", "b"),), witnesses=(), lines=(rt.DisposalLine(
        record_id="r", name="n", record_class="c", years_covered="2014", period_required="10 years",
        period_kept="11 years", rule="k", source="s", action="delete", method="m", fields=(),
        executed_at=NOW),), excluded=(rt.ExcludedRecord(record_id="q", name="q",
                                                        record_class="c", holds=("H",)),))


# -- properties of sweeps --------------------------------------------------------------

@given(st.integers(0, 12), st.integers(0, 12), st.lists(st.integers(0, 11), max_size=4))
def test_any_crash_point_then_rerun_disposes_each_record_once(
        n_first: int, n_second: int, held: list[int]) -> None:
    store = fp.storage._retention.MemoryRetentionStore()
    holds = rt.LegalHolds(store, clock=FixedClock(NOW))
    for i in set(held):
        holds.place(matter="litigation", reason="r", placed_by="p",
                    record_ids={f"bs-2014-{i:03d}"}, hold_id=f"H{i}")
    records = statements(12)
    disposed: list[str] = []

    class Crash(Exception):
        pass

    def crash_after(limit: int) -> rt.DisposalHandler:
        def handler(d: rt.Disposition) -> None:
            if len(disposed) >= limit:
                raise Crash
            disposed.append(d.record.id)
        return handler

    for limit in (n_first, n_first + n_second):
        with contextlib.suppress(Crash):
            run(rt.plan(records, NOW, schedule=SCHEDULE, holds=holds, sweep_id="p"),
                crash_after(limit), store)
    cert = run(rt.plan(records, NOW, schedule=SCHEDULE, holds=holds, sweep_id="p"),
               crash_after(10**6), store)
    expected = [r.id for r in records if int(r.id[-3:]) not in set(held)]
    assert sorted(disposed) == expected and len(disposed) == len(set(disposed))
    assert sorted(ln.record_id for ln in cert.lines) == expected
    assert sorted(x.record_id for x in cert.excluded) == sorted(
        f"bs-2014-{i:03d}" for i in set(held))


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31)),
       st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2050, 1, 1),
                    timezones=st.just(UTC)))
def test_plan_agrees_with_retain_until(created: dt.date, now: dt.datetime) -> None:
    rec = rt.RetentionRecord(id="x", record_class="bank_statement", created=created)
    (d,) = list(rt.plan([rec], now, schedule=SCHEDULE))
    assert (d.status == "due") == SCHEDULE.retain_until(rec).is_due(now)
    assert d.kept_through == SCHEDULE.retain_until(rec).kept_through


class Row:
    """An application's own record type (duck-typed to RecordLike)."""

    def __init__(self, rid: str, created: object) -> None:
        self.id, self.record_class, self.created = rid, "bank_statement", created
        self.subject, self.name, self.data_categories = "", "", frozenset[str]()
        self.period_end, self.events = None, {}


def test_application_rows_work_and_are_validated_on_use() -> None:
    (d,) = list(rt.plan([Row("a", dt.date(2010, 1, 1))], NOW, schedule=SCHEDULE))  # type: ignore[list-item]
    assert d.status == "due" and d.kept_through == dt.date(2020, 12, 31)
    with pytest.raises(fp.InvalidTimeError):
        list(rt.plan([Row("b", dt.datetime(2010, 1, 1))], NOW, schedule=SCHEDULE))  # type: ignore[list-item]
    with pytest.raises(fp.InvalidTimeError):
        SCHEDULE.retain_until(Row("c", "2010-01-01"))  # type: ignore[arg-type]


# -- at least once, under kill -9 (issue 15, item 5) -----------------------------------

_KILL_SCRIPT = """
import datetime as dt, json, os, signal, sys
from zoneinfo import ZoneInfo
from finprivacy import retention as rt
from finprivacy.clock import FixedClock
from finprivacy.retention import presets

journal, ledger, kill_at, where = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
later = dt.timedelta(hours=int(sys.argv[5]))  # the second run comes after the lease ran out
records = [rt.RetentionRecord(id=f"bs-{i:03d}", record_class="bank_statement",
                              created=dt.date(2014, 1 + i % 12, 1), subject=f"c{i}")
           for i in range(8)]
plan = rt.plan(records, dt.datetime(2026, 3, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai")),
               schedule=presets.china_enterprise(), sweep_id="kill-test")
seen = [0]

def handler(d, attempt):
    if seen[0] == kill_at and where == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    with open(ledger, "a") as fh:  # the disposal itself, outside the journal
        fh.write(json.dumps([attempt.record_id, attempt.may_repeat,
                             attempt.idempotency_key]) + "\\n")
        fh.flush()
        os.fsync(fh.fileno())
    if seen[0] == kill_at and where == "after":
        os.kill(os.getpid(), signal.SIGKILL)
    seen[0] += 1
    return "deleted"

cert = rt.execute(plan, handler, journal=journal, actor="chen", approvals=["Wang Fang"],
                  witnesses=[], clock=FixedClock(dt.datetime(2026, 3, 2, tzinfo=dt.UTC) + later),
                  lease=dt.timedelta(minutes=5))
print(len(cert.lines))
"""


@pytest.mark.parametrize(("kill_at", "where"), [(0, "after"), (3, "after"), (7, "after"),
                                                (2, "before"), (5, "before")])
def test_kill_9_during_disposal_then_rerun_tells_the_handler_it_may_repeat(
        tmp_path: object, kill_at: int, where: str) -> None:
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    folder = Path(str(tmp_path))
    journal = f"sqlite:///{folder / 'journal.db'}"
    ledger = folder / "ledger.jsonl"
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    first = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, journal, str(ledger),
                            str(kill_at), where, "0"], env=env, capture_output=True,
                           text=True, timeout=120, check=False)
    assert first.returncode == -signal.SIGKILL, first.stderr
    second = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, journal, str(ledger),
                             "-1", where, "1"], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "8"
    calls = [json.loads(line) for line in ledger.read_text().splitlines()]
    by_record: dict[str, list[bool]] = {}
    for record_id, may_repeat, key in calls:
        assert key == f"kill-test/{record_id}"
        by_record.setdefault(record_id, []).append(may_repeat)
    assert sorted(by_record) == [f"bs-{i:03d}" for i in range(8)]  # every record disposed
    victim = f"bs-{kill_at:03d}"
    for record_id, flags in by_record.items():
        if record_id == victim:
            # Killed after the disposal: called again, told so. Killed before: once, told so.
            assert flags == ([False, True] if where == "after" else [True])
        else:
            assert flags == [False]  # every other record exactly once, no repeat flag


def test_a_handler_without_attempt_still_works_and_gets_called_again(store_url: str) -> None:
    store: rt.ExecutionJournal = open_store("retention", store_url)
    records = statements(3)
    plan = rt.plan(records, NOW, schedule=SCHEDULE, sweep_id="s1")
    store.put_entry("s1", records[1].id, "started", "{}", NOW)  # a crash mid-handler
    calls: list[str] = []
    cert = run(plan, lambda d: calls.append(d.record.id) or "deleted", store)
    assert calls == [r.id for r in records] and len(cert.lines) == 3
    assert store.entry_status("s1", records[1].id) == "done"
