"""The retention API as users write it; checked by mypy --strict, never run."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping

import finprivacy as fp
from finprivacy import retention as rt
from finprivacy.retention import presets


def rules_and_dates() -> None:
    rule: fp.RetentionRule = rt.RetentionRule(
        key="lotus.engagement_letter", source="Lotus retention policy v2 §4.1",
        duration=rt.Duration(years=10), trigger=rt.Trigger.CONTRACT_END,
        record_classes=frozenset({"engagement_letter"}), granularity=rt.Granularity.YEAR,
        action=rt.DisposalAction.CRYPTO_SHRED, title="委托合同 engagement letters")
    schedule: fp.RetentionSchedule = presets.china_enterprise(aml_years=10).with_rules(rule)
    other = rt.RetentionSchedule((*presets.EU_AMLD_ART40, *presets.cn_aml(5)), zone="UTC",
                                 fiscal_year_end=(3, 31), name="group policy")
    record = rt.RetentionRecord(id="v-1", record_class="bookkeeping_voucher",
                                created=dt.date(2024, 3, 15), subject="client-42",
                                data_categories=frozenset({"transactions"}),
                                events={"relationship_end": dt.datetime(2025, 1, 1,
                                                                        tzinfo=dt.UTC)})
    period: rt.RetentionPeriod = schedule.retain_until(record)
    last: dt.date | None = period.kept_through
    first: dt.datetime | None = period.disposable_from
    due: bool = period.is_due(dt.datetime.now(dt.UTC))
    fy: rt.FiscalPeriod = other.fiscal_period(dt.date(2024, 5, 1))
    label: str = fy.label
    forever: rt.Duration = rt.PERMANENT
    print(last, first, due, label, forever.label_zh, rt.add_duration(dt.date(2024, 2, 29), 1))


@dataclasses.dataclass(frozen=True)
class VoucherRow:
    """An application's own row type, used directly as a retention record."""

    id: str
    record_class: str
    created: dt.date
    subject: str = ""
    name: str = ""
    data_categories: frozenset[str] = frozenset()
    period_end: dt.date | None = None
    events: Mapping[str, dt.date | dt.datetime] = dataclasses.field(default_factory=dict)


def own_rows(clock: fp.Clock) -> None:
    rows = [VoucherRow("v-1", "bookkeeping_voucher", dt.date(2014, 6, 30))]
    for d in rt.plan(rows, clock.now(), schedule=presets.china_enterprise()):
        print(d.status)


def records() -> Iterator[rt.RecordLike]:
    yield rt.RetentionRecord(id="bs-1", record_class="bank_statement", created=dt.date(2014, 1, 1))


def sweep(clock: fp.Clock, sink: fp.AuditSink) -> None:
    holds = rt.LegalHolds("sqlite:///lotus.db", clock=clock, audit=sink)
    hold: fp.LegalHold = holds.place(matter=rt.HoldMatter.TAX_AUDIT, reason="2014 tax audit",
                                     placed_by="partner", subjects={"client-42"},
                                     reference="税稽通〔2026〕12号")
    schedule = presets.china_enterprise()
    plan: rt.DisposalPlan = rt.plan(records(), clock.now(), schedule=schedule, holds=holds,
                                    sweep_id="2026-annual")
    for d in plan:
        status: str = d.status
        held_by: tuple[str, ...] = d.holds
        print(status, held_by, d.kept_through, d.period.rule.source)
    summary: rt.PlanSummary = plan.summary
    print(summary.due, summary.held)

    def handler(d: rt.Disposition) -> str | None:
        return "rows deleted" if not d.partial else None

    again = rt.plan(records(), clock.now(), schedule=schedule, holds=holds)
    cert: rt.DisposalCertificate = rt.execute(
        again, handler, journal="sqlite:///lotus.db", actor="chen",
        approvals=[rt.Signatory("Wang Fang", "单位负责人"), "Li Na"],
        witnesses=[rt.Signatory("Zhao Lei", "监销人")], audit=sink, clock=clock)
    lines: tuple[rt.DisposalLine, ...] = cert.lines
    excluded: tuple[rt.ExcludedRecord, ...] = cert.excluded
    text: str = cert.render()
    same: rt.DisposalCertificate = rt.DisposalCertificate.from_json(cert.to_json())
    print(lines, excluded, text, same.digest)
    holds.release(hold.id, by="partner", reason="audit closed")


def erasure(clock: fp.Clock) -> None:
    a: rt.ErasureAssessment = rt.assess_erasure(
        records(), clock.now(), schedule=presets.china_enterprise(), subject="client-42")
    for item in a.restricted:
        outcome: str = item.outcome
        until: dt.date | None = item.kept_through
        print(outcome, until, item.basis)
    print(a.erase_now, a.kept_until, a.complete)
