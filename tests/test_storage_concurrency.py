"""Four processes append consent events at once: nothing is lost, duplicated or forked.

Runs on SQLite (one file, WAL) and PostgreSQL, with the ``forkserver`` start method so
every worker opens its own connections exactly as separate application servers would.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
from collections import Counter

import pytest

PROCESSES = 4
SUBJECTS = [f"client-{i}" for i in range(5)]
SINGLE = 12  # single grants/withdrawals per worker
BATCH = 8  # events per grant_many batch
BATCHES = 2


def _worker(url: str, worker: int, start: multiprocessing.synchronize.Event,
            out: multiprocessing.Queue[list[str]]) -> None:
    try:
        _write(url, worker, start, out)
    except BaseException as exc:  # report instead of leaving the parent waiting
        out.put([f"ERROR {type(exc).__name__}: {exc}"])
        raise


def _write(url: str, worker: int, start: multiprocessing.synchronize.Event,
           out: multiprocessing.Queue[list[str]]) -> None:
    import finprivacy as fp
    from finprivacy.consent import GrantRequest

    ledger = fp.ConsentLedger(url, cache_ttl=0)
    start.wait(timeout=60)
    written: list[str] = []
    for i in range(SINGLE):
        subject = SUBJECTS[(worker + i) % len(SUBJECTS)]
        if i % 3 == 2:
            written.append(ledger.withdraw(subject, "marketing").event_id)
        else:
            written.append(ledger.grant(subject, "marketing").event_id)
    for b in range(BATCHES):
        events = ledger.grant_many(
            GrantRequest(subject=SUBJECTS[(worker + b + j) % len(SUBJECTS)], purpose="marketing")
            for j in range(BATCH))
        written.extend(e.event_id for e in events)
    ledger.store.close()
    out.put(written)


def _run(url: str) -> None:
    import finprivacy as fp

    ledger = fp.ConsentLedger(url)
    ledger.define_purpose(fp.consent.Purpose(key="marketing", description="Tax tips"))
    # forkserver: one server process imports finprivacy once, then forks fresh workers
    # (no inherited connections or threads); each worker opens its own connections.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["finprivacy"])
    start = ctx.Event()
    out: multiprocessing.Queue[list[str]] = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, w, start, out)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    errors = [item for chunk in results for item in chunk if item.startswith("ERROR")]
    assert not errors, errors
    written = [event_id for chunk in results for event_id in chunk]
    per_worker = SINGLE + BATCH * BATCHES
    assert len(written) == PROCESSES * per_worker
    assert len(set(written)) == len(written)

    stored = [e for s in SUBJECTS for e in ledger.history(s)]
    assert ledger.store.count() == len(written)  # nothing lost, nothing extra
    assert sorted(e.event_id for e in stored) == sorted(written)
    assert not [k for k, n in Counter(e.event_id for e in stored).items() if n > 1]
    for subject in SUBJECTS:
        chain = ledger.history(subject)
        assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
        assert ledger.verify(subject) == len(chain)  # one chain, no forks


def test_four_writers_sqlite(sqlite_url: str) -> None:
    _run(sqlite_url)


@pytest.mark.postgres
def test_four_writers_postgresql(pg_url: str) -> None:
    _run(pg_url)
