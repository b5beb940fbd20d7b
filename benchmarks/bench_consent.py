"""Consent ledger speed: check() warm and from the store, grant throughput single and batched.

Full size: 1,000,000 events over 100,000 subjects, on SQLite and on PostgreSQL (quick:
50,000 events over 5,000 subjects). Targets from issue 5: check() ≤ 50 µs warm and
≤ 1 ms from the store. Every figure is also printed as a ratio to a baseline measured
in the same run on the same database:

* warm check: a plain ``dict.get`` on a (subject, purpose) key (the floor of any
  in-process cache);
* check from the store: one indexed primary-key ``SELECT`` through the same
  :class:`~finprivacy.storage.Database` (the floor of any read-through);
* grants: one bare ``INSERT`` in its own transaction, and ``executemany`` of bare rows.

PostgreSQL: set ``FINPRIVACY_BENCH_PG_DSN`` to a server's admin DSN, or have
``initdb``/``pg_ctl`` installed and a throwaway server is started on a unix socket.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from collections.abc import Callable

from benchmarks._harness import Timer, heading, per_call, report, report_rate
from benchmarks._pg import postgres

PURPOSES = ["account_verification", "marketing", "statement_import", "newsletter",
            "tax_filing"]
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _load(ledger_url: str, n_events: int, n_subjects: int) -> float:
    """Bulk-load ``n_events`` events over ``n_subjects`` with large batched appends."""
    import finprivacy as fp
    from finprivacy.consent import ConsentEvent, Evidence
    from finprivacy.consent._ledger import _new_id  # the ledger's own (UUIDv7) ids

    ledger = fp.ConsentLedger(ledger_url)
    for key in PURPOSES:
        ledger.define_purpose(fp.consent.Purpose(key=key, description=key,
                                                 valid_months=24 if key == "marketing" else None))
    store = ledger.store
    per_subject = max(1, n_events // n_subjects)
    evidence = Evidence(channel="web", ip="203.0.113.0/24", user_agent="Mozilla/5.0")
    rng = random.Random(5)
    batch: list[ConsentEvent] = []
    with Timer() as t:
        for s in range(n_subjects):
            subject = f"client-{s:07d}"
            for i in range(per_subject):
                purpose = PURPOSES[i % len(PURPOSES)]
                kind = "withdrawn" if (i >= len(PURPOSES) and rng.random() < 0.3) else "given"
                batch.append(ConsentEvent(
                    event_id=_new_id(), subject=subject, purpose=purpose, kind=kind,
                    time=T0 + dt.timedelta(minutes=i), evidence=evidence,
                    receipt_id=_new_id() if kind == "given" else ""))
            if len(batch) >= 20_000:
                store.append(batch)
                batch = []
        if batch:
            store.append(batch)
    return t.seconds


def _cycle(items: list[tuple[str, str]]) -> Callable[[], tuple[str, str]]:
    state = {"i": 0}

    def nxt() -> tuple[str, str]:
        i = state["i"] = (state["i"] + 1) % len(items)
        return items[i]

    return nxt


def _bench_backend(label: str, url: str, n_events: int, n_subjects: int, quick: bool) -> None:
    import finprivacy as fp
    from finprivacy.consent import GrantRequest
    from finprivacy.storage import open_database

    seconds = _load(url, n_events, n_subjects)
    report_rate(f"{label}: bulk load (append, 20k-event transactions)", n_events, seconds)

    rng = random.Random(7)
    pairs = [(f"client-{rng.randrange(n_subjects):07d}", rng.choice(PURPOSES))
             for _ in range(2000)]
    number = 2000 if quick else 5000

    # warm: the ledger's in-process cache
    warm = fp.ConsentLedger(url, cache_ttl=3600)
    for s, p in pairs[:1000]:
        warm.check(s, p)
    nxt = _cycle(pairs[:1000])
    table = dict.fromkeys(pairs[:1000], True)
    nxt_base = _cycle(pairs[:1000])
    base_warm = per_call(lambda: table.get(nxt_base()), number=number)
    warm_t = per_call(lambda: warm.check(*nxt()), number=number)
    report(f"{label}: baseline dict.get((subject, purpose))", base_warm)
    report(f"{label}: check() warm (cached)", warm_t, base_warm, baseline_name="dict.get")
    print(f"{'':<58} target ≤ 50 µs: {'ok' if warm_t <= 50e-6 else 'MISSED'}")

    # from the store: read-through on every call, subjects spread over the whole table
    cold = fp.ConsentLedger(url, cache_ttl=0)
    db = open_database(url)
    nxt_cold = _cycle(pairs)
    nxt_pk = _cycle(pairs)

    def pk_select() -> object:
        return db.fetchall("SELECT seq FROM consent_heads WHERE subject = ?", (nxt_pk()[0],))

    n_cold = 500 if quick else 2000
    base_cold = per_call(pk_select, number=n_cold, repeat=3)
    cold_t = per_call(lambda: cold.check(*nxt_cold()), number=n_cold, repeat=3)
    report(f"{label}: baseline primary-key SELECT (one round trip)", base_cold)
    report(f"{label}: check() from the store (cache_ttl=0)", cold_t, base_cold,
           baseline_name="PK select")
    print(f"{'':<58} target ≤ 1 ms: {'ok' if cold_t <= 1e-3 else 'MISSED'}")

    # grants: single (one transaction each) and batched
    with db.transaction() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS bench_baseline (k TEXT, v TEXT)")
    n_single = 200 if quick else 1000
    with Timer() as t_bare:
        for i in range(n_single):
            with db.transaction() as tx:
                tx.execute("INSERT INTO bench_baseline (k, v) VALUES (?, ?)", (f"k{i}", "v"))
    report_rate(f"{label}: baseline bare INSERT, one transaction each", n_single,
                t_bare.seconds)
    writer = fp.ConsentLedger(url)
    with Timer() as t_single:
        for i in range(n_single):
            writer.grant(f"new-{i:07d}", "marketing")
    report_rate(f"{label}: grant(), one transaction each", n_single, t_single.seconds)
    print(f"{'':<58} {t_bare.seconds / t_single.seconds:7.2f}x bare INSERT rate")
    batch_size, batches = 1000, (3 if quick else 10)
    with Timer() as t_rows:
        for b in range(batches):
            with db.transaction() as tx:
                tx.executemany("INSERT INTO bench_baseline (k, v) VALUES (?, ?)",
                               [(f"b{b}-{i}", "v") for i in range(batch_size)])
    report_rate(f"{label}: baseline bare executemany, {batch_size} rows", batch_size * batches,
                t_rows.seconds)
    with Timer() as t_batch:
        for b in range(batches):
            writer.grant_many(GrantRequest(subject=f"batch-{b}-{i:05d}", purpose="newsletter")
                              for i in range(batch_size))
    report_rate(f"{label}: grant_many(), {batch_size} per batch", batch_size * batches,
                t_batch.seconds)
    single_rate = n_single / t_single.seconds
    batch_rate = batch_size * batches / t_batch.seconds
    print(f"{'':<58} {batch_rate / single_rate:7.2f}x single grant() rate, "
          f"{t_rows.seconds / t_batch.seconds:5.2f}x bare executemany rate")
    writer.store.close()


def main(quick: bool = False) -> None:
    n_events = 50_000 if quick else 1_000_000
    n_subjects = n_events // 10
    heading(f"consent: {n_events:,} events over {n_subjects:,} subjects")
    with tempfile.TemporaryDirectory(prefix="finprivacy-bench-") as tmp:
        _bench_backend("SQLite", f"sqlite:///{tmp}/consent.db", n_events, n_subjects, quick)
        from finprivacy.storage import _db

        for key, db in list(_db._CACHE.items()):
            if tmp in key[1]:
                db.close()
                del _db._CACHE[key]
    with postgres() as url:
        if url is not None:
            _bench_backend("PostgreSQL", url, n_events, n_subjects, quick)


if __name__ == "__main__":
    main(quick=True)
