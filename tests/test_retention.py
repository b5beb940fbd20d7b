"""Retention rules, schedules, exact dates and presets."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy import retention as rt
from finprivacy.retention import presets

SH = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
CN = presets.china_enterprise()


def voucher(created: dt.date | dt.datetime, rid: str = "v-1", **kw: object) -> rt.RetentionRecord:
    return rt.RetentionRecord(id=rid, record_class="bookkeeping_voucher", created=created,
                              **kw)  # type: ignore[arg-type]


def rule(**kw: object) -> rt.RetentionRule:
    base: dict[str, object] = {
        "key": "test.rule", "source": "test policy §1", "duration": rt.Duration(years=1),
        "record_classes": frozenset({"thing"}),
    }
    base.update(kw)
    return rt.RetentionRule(**base)  # type: ignore[arg-type]


def thing(created: dt.date | dt.datetime, **kw: object) -> rt.RetentionRecord:
    return rt.RetentionRecord(id="t-1", record_class="thing", created=created,
                              **kw)  # type: ignore[arg-type]


# -- the dates the issue pins -----------------------------------------------------------

def test_voucher_2024_03_15_is_kept_through_2054_12_31() -> None:
    p = CN.retain_until(voucher(dt.date(2024, 3, 15)))
    assert p.rule.key == "cn.kjda2015.bookkeeping_voucher"
    assert p.starts == dt.date(2025, 1, 1)  # Art. 14: the day after the fiscal year ends
    assert p.kept_through == dt.date(2054, 12, 31)
    assert p.disposable_from == dt.datetime(2055, 1, 1, tzinfo=SH)
    # The last second of 2054-12-31 in Shanghai is still kept; the first of 2055 is due.
    assert not p.is_due(dt.datetime(2054, 12, 31, 23, 59, 59, tzinfo=SH))
    assert p.is_due(dt.datetime(2055, 1, 1, 0, 0, tzinfo=SH))
    # The same boundary seen from UTC: 2055-01-01 00:00 +08:00 is 2054-12-31 16:00Z.
    assert not p.is_due(dt.datetime(2054, 12, 31, 15, 59, 59, tzinfo=UTC))
    assert p.is_due(dt.datetime(2054, 12, 31, 16, 0, tzinfo=UTC))


def test_new_year_in_shanghai_splits_fiscal_years_not_utc() -> None:
    late = dt.datetime(2024, 12, 31, 23, 30, tzinfo=SH)
    early = dt.datetime(2025, 1, 1, 0, 10, tzinfo=SH)
    assert CN.fiscal_period(late).label == "2024"
    assert CN.fiscal_period(early).label == "2025"
    assert CN.retain_until(voucher(late)).kept_through == dt.date(2054, 12, 31)
    assert CN.retain_until(voucher(early)).kept_through == dt.date(2055, 12, 31)
    # The same instants written in UTC are both on 2024-12-31 there, yet classify the same.
    late_utc, early_utc = late.astimezone(UTC), early.astimezone(UTC)
    assert late_utc.date() == early_utc.date() == dt.date(2024, 12, 31)
    assert CN.fiscal_period(late_utc) == CN.fiscal_period(late)
    assert CN.fiscal_period(early_utc) == CN.fiscal_period(early)
    assert CN.retain_until(voucher(late_utc)) == CN.retain_until(voucher(late))
    assert CN.retain_until(voucher(early_utc)) == CN.retain_until(voucher(early))


def test_fiscal_year_ending_31_march() -> None:
    s = rt.RetentionSchedule(presets.CN_ACCOUNTING_ARCHIVES_2015, zone="Asia/Hong_Kong",
                             fiscal_year_end=(3, 31))
    hk = ZoneInfo("Asia/Hong_Kong")
    assert s.fiscal_period(dt.date(2024, 3, 31)) == rt.FiscalPeriod(
        dt.date(2023, 4, 1), dt.date(2024, 3, 31))
    assert s.fiscal_period(dt.date(2024, 4, 1)).label == "2024/2025"
    stmt = rt.RetentionRecord(id="s", record_class="bank_statement",
                              created=dt.datetime(2024, 3, 31, 23, 59, tzinfo=hk))
    p = s.retain_until(stmt)
    assert (p.starts, p.kept_through) == (dt.date(2024, 4, 1), dt.date(2034, 3, 31))
    assert p.disposable_from == dt.datetime(2034, 4, 1, tzinfo=hk)
    after = rt.RetentionRecord(id="s2", record_class="bank_statement",
                               created=dt.datetime(2024, 4, 1, 0, 1, tzinfo=hk))
    assert s.retain_until(after).kept_through == dt.date(2035, 3, 31)


def test_feb_29_uses_the_last_day_of_february() -> None:
    one = rt.RetentionSchedule([rule(duration=rt.Duration(years=1))], zone="Asia/Shanghai")
    four = rt.RetentionSchedule([rule(duration=rt.Duration(years=4))], zone="Asia/Shanghai")
    leap = thing(dt.date(2024, 2, 29))
    p = one.retain_until(leap)
    assert p.kept_through == dt.date(2025, 2, 28)  # 民法典 Art. 202: no 29th → month end
    assert p.disposable_from == dt.datetime(2025, 3, 1, tzinfo=SH)
    assert four.retain_until(leap).kept_through == dt.date(2028, 2, 29)
    assert rt.add_duration(dt.date(2024, 1, 31), months=1) == dt.date(2024, 2, 29)
    assert rt.add_duration(dt.date(2023, 1, 31), months=1) == dt.date(2023, 2, 28)


def test_fiscal_year_ending_on_the_last_day_of_february() -> None:
    s = rt.RetentionSchedule([rule(duration=rt.Duration(years=10),
                                   trigger=rt.Trigger.FISCAL_YEAR_END)],
                             zone="Asia/Shanghai", fiscal_year_end=(2, 29))
    assert s.fiscal_period(dt.date(2024, 2, 29)).end == dt.date(2024, 2, 29)
    assert s.fiscal_period(dt.date(2025, 2, 28)) == rt.FiscalPeriod(
        dt.date(2024, 3, 1), dt.date(2025, 2, 28))
    assert s.fiscal_period(dt.date(2025, 3, 1)).end == dt.date(2026, 2, 28)
    assert s.retain_until(thing(dt.date(2024, 2, 1))).kept_through == dt.date(2034, 2, 28)


def test_permanent_records_are_never_due() -> None:
    report = rt.RetentionRecord(id="ar-2000", record_class="annual_financial_report",
                                created=dt.date(2000, 3, 1))
    p = CN.retain_until(report)
    assert p.permanent and p.kept_through is None and p.disposable_from is None
    assert not p.is_due(dt.datetime(9999, 12, 31, tzinfo=UTC))
    plan = rt.plan([report], dt.datetime(9999, 1, 1, tzinfo=UTC), schedule=CN)
    (d,) = list(plan)
    assert d.status == "kept" and "permanently" in d.reason
    assert plan.summary.permanent == 1 and plan.summary.due == 0


def test_event_trigger_not_yet_happened_is_not_due() -> None:
    card = rt.RetentionRecord(id="fa-1", record_class="fixed_asset_card",
                              created=dt.date(2010, 5, 1))
    p = CN.retain_until(card)
    assert p.pending_event == "asset_disposed" and not p.is_due(
        dt.datetime(2200, 1, 1, tzinfo=UTC))
    disposed = rt.RetentionRecord(id="fa-1", record_class="fixed_asset_card",
                                  created=dt.date(2010, 5, 1),
                                  events={"asset_disposed": dt.date(2020, 6, 1)})
    # 5 years after the disposal, rounded to the end of that fiscal year.
    assert CN.retain_until(disposed).kept_through == dt.date(2025, 12, 31)


def test_instant_and_year_granularity() -> None:
    instant = rt.RetentionSchedule([rule(granularity=rt.Granularity.INSTANT,
                                         duration=rt.Duration(days=30))], zone="Asia/Shanghai")
    at = dt.datetime(2025, 1, 10, 9, 15, tzinfo=SH)
    p = instant.retain_until(thing(at))
    assert p.disposable_from == dt.datetime(2025, 2, 9, 9, 15, tzinfo=SH)
    assert p.kept_through == dt.date(2025, 2, 9)
    assert not p.is_due(dt.datetime(2025, 2, 9, 9, 14, tzinfo=SH))
    yearly = rt.RetentionSchedule([rule(granularity=rt.Granularity.YEAR)],
                                  zone="Asia/Shanghai")
    assert yearly.retain_until(thing(dt.date(2025, 3, 1))).kept_through == dt.date(2026, 12, 31)


def test_dst_zone_midnight_is_local() -> None:
    s = rt.RetentionSchedule([rule()], zone="Europe/Berlin")
    p = s.retain_until(thing(dt.date(2024, 7, 1)))
    assert p.disposable_from is not None
    assert p.disposable_from.utcoffset() == dt.timedelta(hours=2)  # summer time
    assert p.disposable_from.astimezone(UTC) == dt.datetime(2025, 7, 1, 22, 0, tzinfo=UTC)


# -- conflicts -------------------------------------------------------------------------

def test_longest_minimum_wins() -> None:
    s = rt.RetentionSchedule([
        rule(key="short", duration=rt.Duration(years=3)),
        rule(key="long", duration=rt.Duration(years=7), source="tax law"),
    ], zone="UTC")
    assert s.retain_until(thing(dt.date(2020, 1, 1))).rule.key == "long"
    forever = s.with_rules(rule(key="forever", duration=rt.PERMANENT))
    assert forever.retain_until(thing(dt.date(2020, 1, 1))).rule.key == "forever"


def test_maximum_shorter_than_minimum() -> None:
    aml = rule(key="aml.min", duration=rt.Duration(years=5),
               data_categories=frozenset({"identity", "transactions"}),
               record_classes=frozenset())
    marketing = rule(key="pipl.max", kind=rt.RuleKind.MAXIMUM, duration=rt.Duration(years=1),
                     data_categories=frozenset({"contact", "marketing"}),
                     record_classes=frozenset(), action=rt.DisposalAction.ANONYMISE)
    s = rt.RetentionSchedule([aml, marketing], zone="Asia/Shanghai")
    rec = rt.RetentionRecord(id="c-1", record_class="client_file", created=dt.date(2023, 1, 1),
                             data_categories=frozenset({"identity", "transactions",
                                                        "contact", "marketing"}))
    # The minimum decides when the record as a whole may go.
    assert s.retain_until(rec).rule.key == "aml.min"
    (d,) = list(rt.plan([rec], dt.datetime(2025, 1, 1, tzinfo=UTC), schedule=s))
    assert d.status == "due" and d.partial
    assert d.fields == {"contact", "marketing"}
    assert d.action is rt.DisposalAction.ANONYMISE
    # A minimum that needs the whole record keeps it all.
    whole = s.with_rules(rule(key="whole", duration=rt.Duration(years=5),
                              record_classes=frozenset({"client_file"})))
    (d2,) = list(rt.plan([rec], dt.datetime(2025, 1, 1, tzinfo=UTC), schedule=whole))
    assert d2.status == "kept" and "outlasts" in d2.reason
    # Once the minimum has run, the whole record is due.
    (d3,) = list(rt.plan([rec], dt.datetime(2029, 1, 1, tzinfo=UTC), schedule=whole))
    assert d3.status == "due" and not d3.partial


def test_only_a_maximum() -> None:
    s = rt.RetentionSchedule([rule(kind=rt.RuleKind.MAXIMUM, duration=rt.Duration(years=2))],
                             zone="UTC")
    rec = thing(dt.date(2020, 6, 1))
    (kept,) = list(rt.plan([rec], dt.datetime(2021, 1, 1, tzinfo=UTC), schedule=s))
    assert kept.status == "kept" and kept.kept_through == dt.date(2022, 6, 1)
    (due,) = list(rt.plan([rec], dt.datetime(2022, 6, 2, tzinfo=UTC), schedule=s))
    assert due.status == "due"


# -- bad input -------------------------------------------------------------------------

def test_naive_datetimes_are_refused() -> None:
    naive = dt.datetime(2024, 3, 15, 10, 42, 17)
    with pytest.raises(fp.InvalidTimeError) as exc:
        voucher(naive)
    assert "10:42" not in str(exc.value) and "2024" not in str(exc.value)
    with pytest.raises(fp.InvalidTimeError):
        rt.RetentionRecord(id="x", record_class="bank_statement", created=dt.date(2024, 1, 1),
                           events={"relationship_end": naive})
    with pytest.raises(fp.InvalidTimeError):
        rt.plan([], naive, schedule=CN)


def test_unknown_record_class_is_a_typed_error_without_the_name() -> None:
    rec = rt.RetentionRecord(id="r-9", record_class="lunch_receipt",
                             created=dt.date(2024, 1, 1), name="张三的午餐发票")
    with pytest.raises(fp.RetentionError, match="lunch_receipt") as exc:
        CN.retain_until(rec)
    assert "张三" not in str(exc.value) and "r-9" in str(exc.value)
    plan = rt.plan([voucher(dt.date(2000, 1, 1)), rec], dt.datetime(2040, 1, 1, tzinfo=UTC),
                   schedule=CN)
    it = iter(plan)
    assert next(it).status == "due"
    with pytest.raises(fp.RetentionError):
        next(it)


@pytest.mark.parametrize("source", ["", "   "])
def test_rule_without_source_is_refused(source: str) -> None:
    with pytest.raises(fp.RetentionError, match="source"):
        rule(source=source)


def test_other_bad_rules() -> None:
    with pytest.raises(fp.RetentionError, match="neither"):
        rule(record_classes=frozenset())
    with pytest.raises(fp.RetentionError, match="single string"):
        rule(record_classes="voucher")
    with pytest.raises(fp.RetentionError, match="event"):
        rule(trigger=rt.Trigger.CUSTOM)
    with pytest.raises(fp.RetentionError, match="kind"):
        rule(kind="sometimes")
    with pytest.raises(fp.RetentionError):
        rt.Duration(years=-1)
    with pytest.raises(fp.RetentionError):
        rt.Duration(years=1, permanent=True)
    with pytest.raises(fp.RetentionError, match="duplicate"):
        rt.RetentionSchedule([rule(), rule()], zone="UTC")
    with pytest.raises(fp.RetentionError):
        rt.RetentionSchedule([], zone="UTC")


@pytest.mark.parametrize("zone", ["Asia/Beijing", "Mars/Olympus_Mons", "", "../etc/passwd"])
def test_unknown_time_zone(zone: str) -> None:
    with pytest.raises(fp.InvalidTimeError):
        rt.RetentionSchedule([rule()], zone=zone)


@pytest.mark.parametrize("fye", [(2, 30), (13, 1), (0, 0)])
def test_impossible_fiscal_year_end(fye: tuple[int, int]) -> None:
    with pytest.raises(fp.InvalidTimeError):
        rt.RetentionSchedule([rule()], zone="UTC", fiscal_year_end=fye)


def test_errors_are_in_the_tree() -> None:
    assert issubclass(fp.RetentionError, fp.FinPrivacyError)
    assert issubclass(fp.InvalidTimeError, ValueError)


# -- presets ---------------------------------------------------------------------------

ALL_PRESETS = (presets.CN_ACCOUNTING_ARCHIVES_2015, presets.CN_AML_2007, presets.cn_aml(),
               presets.EU_AMLD_ART40, presets.eu_amld_art40(5), presets.US_IRS,
               presets.US_SEC_17A4)


def test_every_preset_rule_cites_its_source() -> None:
    for rules in ALL_PRESETS:
        assert rules
        for r in rules:
            assert r.source.strip() and r.key
            rt.RetentionSchedule(rules, zone="UTC")  # keys unique within a preset


def test_cn_accounting_table() -> None:
    periods = {r.key.rsplit(".", 1)[1]: r.duration for r in presets.CN_ACCOUNTING_ARCHIVES_2015}
    thirty = {"source_voucher", "bookkeeping_voucher", "general_ledger", "subsidiary_ledger",
              "journal_book", "auxiliary_book", "archive_handover_list"}
    ten = {"interim_financial_report", "bank_reconciliation", "bank_statement", "tax_return"}
    forever = {"annual_financial_report", "archive_custody_list", "archive_destruction_list",
               "archive_appraisal_opinion"}
    assert set(periods) == thirty | ten | forever | {"fixed_asset_card"}
    assert {k for k, v in periods.items() if v == rt.Duration(years=30)} == thirty
    assert {k for k, v in periods.items() if v == rt.Duration(years=10)} == ten
    assert {k for k, v in periods.items() if v.permanent} == forever
    assert periods["fixed_asset_card"] == rt.Duration(years=5)
    # The obsolete 1998 table's 15- and 25-year periods are not used.
    assert not {v.years for v in periods.values()} & {15, 25}
    for r in presets.CN_ACCOUNTING_ARCHIVES_2015:
        assert "会计档案管理办法" in r.source and "2015" in r.source


def test_cn_aml_period_is_a_parameter_citing_both_laws() -> None:
    default, old = presets.cn_aml(), presets.CN_AML_2007
    assert {r.duration.years for r in default} == {10}
    assert {r.duration.years for r in old} == {5}
    for r in (*default, *old):
        assert "2007" in r.source and "反洗钱法" in r.source and "2025-01-01" in r.source
    with pytest.raises(fp.RetentionError):
        presets.cn_aml(0)
    s = presets.china_enterprise(aml_years=5)
    cid = rt.RetentionRecord(id="k", record_class="aml.customer_identification",
                             created=dt.date(2015, 1, 1),
                             events={"relationship_end": dt.date(2019, 8, 1)})
    # Five years counted from the year the relationship ended, to that year's end.
    assert s.retain_until(cid).kept_through == dt.date(2024, 12, 31)


def test_eu_amld_minimum_and_maximum() -> None:
    s = rt.RetentionSchedule(presets.EU_AMLD_ART40, zone="Europe/Paris")
    rec = rt.RetentionRecord(id="k", record_class="aml.customer_identification",
                             created=dt.date(2015, 1, 1),
                             events={"relationship_end": dt.date(2019, 8, 1)})
    kinds = {p.rule.kind for p in s.periods(rec)}
    assert kinds == {rt.RuleKind.MINIMUM, rt.RuleKind.MAXIMUM}
    assert s.retain_until(rec).kept_through == dt.date(2024, 8, 1)
    assert all("2015/849 Art. 40(1)" in r.source for r in presets.EU_AMLD_ART40)
    assert {r.duration.years for r in presets.eu_amld_art40(5)} == {10}
    with pytest.raises(fp.RetentionError):
        presets.eu_amld_art40(6)
    # Combined with China's 10-year AML minimum, the longer minimum wins.
    both = rt.RetentionSchedule((*presets.EU_AMLD_ART40, *presets.cn_aml()), zone="UTC")
    assert both.retain_until(rec).kept_through == dt.date(2029, 12, 31)


def test_us_presets() -> None:
    irs = {r.key: r.duration.years for r in presets.US_IRS}
    assert sorted(irs.values()) == [3, 4, 6, 7]
    assert irs["us.irs.employment_tax"] == 4
    sec = {r.key: r.duration.years for r in presets.US_SEC_17A4}
    assert sec == {"us.sec17a4.a": 6, "us.sec17a4.b": 3}
    s = rt.RetentionSchedule(presets.US_IRS, zone="America/New_York")
    rec = rt.RetentionRecord(id="w2", record_class="tax.return_support",
                             created=dt.date(2024, 2, 1),
                             events={"return_filed": dt.date(2024, 4, 15)})
    assert s.retain_until(rec).kept_through == dt.date(2027, 4, 15)


def test_reprs_and_labels() -> None:
    assert str(rt.Duration(years=1, months=2)) == "1 year 2 months"
    assert rt.PERMANENT.label_zh == "永久" and str(rt.PERMANENT) == "permanent"
    assert "Asia/Shanghai" in repr(CN)
    assert CN.rule("cn.kjda2015.bank_statement").duration.years == 10
    with pytest.raises(fp.RetentionError):
        CN.rule("nope")
    assert "bank_statement" in CN.record_classes


# -- properties ------------------------------------------------------------------------

ZONES = st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York", "Europe/Berlin",
                         "Australia/Lord_Howe", "Pacific/Kiritimati"])
FYE = st.sampled_from([(12, 31), (3, 31), (6, 30), (9, 30), (2, 29), (2, 28)])
DURATIONS = st.builds(rt.Duration, years=st.integers(0, 40), months=st.integers(0, 24),
                      days=st.integers(0, 400))
RULES = st.builds(
    rule, duration=DURATIONS,
    trigger=st.sampled_from([rt.Trigger.CREATED, rt.Trigger.FISCAL_YEAR_END,
                             rt.Trigger.CALENDAR_YEAR_END]),
    granularity=st.sampled_from(list(rt.Granularity)))
INSTANTS = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2060, 1, 1),
                        timezones=st.just(UTC))


@given(RULES, ZONES, FYE, INSTANTS, INSTANTS)
def test_retain_until_is_monotonic_and_never_before_the_record(
        r: rt.RetentionRule, zone: str, fye: tuple[int, int], a: dt.datetime,
        b: dt.datetime) -> None:
    s = rt.RetentionSchedule([r], zone=zone, fiscal_year_end=fye)
    early, late = sorted((a, b))
    pe, pl = s.retain_until(thing(early)), s.retain_until(thing(late))
    assert pe.disposable_from is not None and pl.disposable_from is not None
    assert pe.kept_through is not None and pl.kept_through is not None
    assert pe.disposable_from <= pl.disposable_from
    assert pe.kept_through <= pl.kept_through
    assert pe.disposable_from >= early
    assert pe.kept_through >= s.local_date(early) or r.duration == rt.Duration()


@given(ZONES, FYE, INSTANTS)
def test_fiscal_periods_contain_their_day_and_tile(zone: str, fye: tuple[int, int],
                                                   at: dt.datetime) -> None:
    s = rt.RetentionSchedule([rule()], zone=zone, fiscal_year_end=fye)
    p = s.fiscal_period(at)
    assert p.start <= s.local_date(at) <= p.end
    nxt = s.fiscal_period(p.end + dt.timedelta(days=1))
    assert nxt.start == p.end + dt.timedelta(days=1)
    assert 365 <= (p.end - p.start).days + 1 <= 366


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)),
       st.integers(0, 50), st.integers(0, 36))
def test_add_duration_properties(day: dt.date, years: int, months: int) -> None:
    out = rt.add_duration(day, years, months)
    assert out >= day
    assert (out.year - day.year) * 12 + out.month - day.month == years * 12 + months
    assert out.day == day.day or out.day < day.day  # clamped only ever downwards
