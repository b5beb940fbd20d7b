"""Retention sweeps: plan throughput and flat memory, execute throughput.

* ``plan`` over 100,000 and 1,000,000 generated records (``--quick``: 10,000 and
  100,000): records per second, as a ratio to the cost of merely generating the
  records (the baseline), and the peak traced memory (tracemalloc) of each size —
  which must stay flat as the input grows — beside the memory of materialising the
  smaller input as a list, which is what a non-streaming plan would need.
* ``execute`` with the memory and the SQLite journal: records per second.
"""

from __future__ import annotations

import datetime as dt
import gc
import tempfile
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

from benchmarks._harness import Timer, heading, report_rate
from finprivacy import retention as rt
from finprivacy.clock import FixedClock
from finprivacy.retention import presets
from finprivacy.storage._retention import MemoryRetentionStore, SqlRetentionStore

SCHEDULE = presets.china_enterprise(aml_years=10)
NOW = dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.UTC)
CLASSES = ("bookkeeping_voucher", "bank_statement", "general_ledger", "tax_return",
           "annual_financial_report", "aml.customer_identification", "fixed_asset_card")


def records(n: int) -> Iterator[rt.RetentionRecord]:
    """``n`` records of mixed classes and years, generated one at a time."""
    for i in range(n):
        cls = CLASSES[i % len(CLASSES)]
        created = dt.date(2000 + i % 26, 1 + i % 12, 1 + i % 28)
        events: dict[str, dt.date] = {}
        if cls == "aml.customer_identification" and i % 3:
            events["relationship_end"] = dt.date(2010 + i % 15, 6, 30)
        elif cls == "fixed_asset_card" and i % 2:
            events["asset_disposed"] = dt.date(2012 + i % 12, 9, 1)
        yield rt.RetentionRecord(id=f"r{i}", record_class=cls, created=created,
                                 subject=f"client-{i % 5000}", events=events)


def holds() -> rt.LegalHolds:
    h = rt.LegalHolds("memory:", clock=FixedClock(NOW))
    for k in range(20):
        h.place(matter="tax_audit", reason="audit", placed_by="bench",
                subjects={f"client-{k * 37}"}, hold_id=f"H{k}")
    h.place(matter="litigation", reason="suit", placed_by="bench",
            record_classes={"tax_return"}, hold_id="H-class")
    return h


def run_plan(n: int, hold_store: rt.LegalHolds,
             schedule: rt.RetentionSchedule = SCHEDULE) -> rt.PlanSummary:
    plan = rt.plan(records(n), NOW, schedule=schedule, holds=hold_store)
    for _ in plan:
        pass
    return plan.summary


def generate_only(n: int) -> int:
    count = 0
    for _ in records(n):
        count += 1
    return count


def peak_bytes(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def bench_plan(sizes: tuple[int, int]) -> None:
    heading("retention: plan() over generated records")
    hold_store = holds()
    for n in sizes:
        with Timer() as base:
            generate_only(n)
        with Timer() as t:
            summary = run_plan(n, hold_store)
        report_rate(f"generate {n:,} records (baseline)", n, base.seconds)
        report_rate(f"plan {n:,} records", n, t.seconds)
        print(f"{'':<58} {t.seconds / base.seconds:8.2f}x baseline time; "
              f"due {summary.due:,}, kept {summary.kept:,}, held {summary.held:,}")
    small, large = sizes
    # A fresh schedule each time, so the peak includes filling its (bounded) caches.
    mem_small = peak_bytes(lambda: run_plan(small, hold_store,
                                            presets.china_enterprise(aml_years=10)))
    mem_large = peak_bytes(lambda: run_plan(large, hold_store,
                                            presets.china_enterprise(aml_years=10)))
    mem_list = peak_bytes(lambda: list(records(small)))
    print(f"{f'peak memory, plan {small:,} records':<58} {mem_small / 1e6:10.2f} MB")
    print(f"{f'peak memory, plan {large:,} records':<58} {mem_large / 1e6:10.2f} MB   "
          f"{mem_large / mem_small:7.2f}x the smaller input (flat ≈ 1.0x)")
    print(f"{f'peak memory, list of {small:,} records (baseline)':<58} "
          f"{mem_list / 1e6:10.2f} MB   plan uses {mem_small / mem_list:7.3f}x of it")


def bench_execute(n: int) -> None:
    heading("retention: execute() with a journal")
    clock = FixedClock(NOW)

    def due(k: int) -> Iterator[rt.RetentionRecord]:
        for i in range(k):
            yield rt.RetentionRecord(id=f"bs{i}", record_class="bank_statement",
                                     created=dt.date(2010, 1 + i % 12, 1), name=f"statement {i}")

    def handler(d: rt.Disposition) -> str:
        return "deleted"

    with Timer() as base:
        for d in rt.plan(due(n), NOW, schedule=SCHEDULE):
            handler(d)
    report_rate(f"plan + handler only, {n:,} due records (baseline)", n, base.seconds)
    with Timer() as t:
        rt.execute(rt.plan(due(n), NOW, schedule=SCHEDULE), handler,
                   journal=MemoryRetentionStore(), actor="bench", approvals=["a"],
                   witnesses=[], clock=clock)
    report_rate(f"execute {n:,}, memory journal", n, t.seconds)
    print(f"{'':<58} {t.seconds / base.seconds:8.2f}x baseline time")
    k = max(n // 10, 100)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlRetentionStore.open(f"sqlite:///{Path(tmp) / 'journal.db'}")
        with Timer() as s:
            rt.execute(rt.plan(due(k), NOW, schedule=SCHEDULE), handler, journal=store,
                       actor="bench", approvals=["a"], witnesses=[], clock=clock)
        report_rate(f"execute {k:,}, SQLite journal (fsync per record)", k, s.seconds)
        print(f"{'':<58} {(s.seconds / k) / (base.seconds / n):8.2f}x baseline time "
              "per record")


def main(quick: bool = False) -> None:
    """Run the retention benchmarks (``quick``: smaller sizes)."""
    bench_plan((10_000, 100_000) if quick else (100_000, 1_000_000))
    bench_execute(2_000 if quick else 20_000)


if __name__ == "__main__":
    main()
