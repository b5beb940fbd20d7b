"""Four writer processes append to one audit log at once: nothing lost, nothing duplicated.

Each worker appends single entries (group commit) and batches, and runs the sequencer
itself every few appends, so writers and sequencers race. On SQLite two workers place
their own rows (inline sequencing) while two leave them pending (deferred), in one
database; on PostgreSQL all four defer. ``spawn`` gives every
worker its own connections, as separate application servers would have.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
from collections import Counter

import pytest

PROCESSES = 4
SINGLE = 10
BATCH = 10


def _worker(url: str, worker: int, mode: str, start: multiprocessing.synchronize.Event,
            out: multiprocessing.Queue[list[str]]) -> None:
    import finprivacy as fp

    if mode == "mixed":  # half the writers place their own rows, half leave them pending
        mode = "inline" if worker % 2 else "deferred"
    log = fp.AuditLog(url, sequence_every=4, batch_size=7, sequencing=mode)  # type: ignore[arg-type]
    start.wait(timeout=60)
    ids: list[str] = []
    for i in range(SINGLE):
        ids.append(log.append("read", actor=f"staff-{worker}", subject=f"client-{i}",
                              decision="allowed", strict=(i == 5)).entry_id)
    receipts = log.append_many([
        fp.AuditEvent(action="read", actor=f"staff-{worker}", subject=f"batch-{j}")
        for j in range(BATCH)])
    ids.extend(r.entry_id for r in receipts)
    log.close()
    out.put(ids)


def _run(url: str, mode: str) -> None:
    import finprivacy as fp

    signer = fp.Ed25519Signer.generate()
    fp.AuditLog(url).close()  # create the schema once
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    out: multiprocessing.Queue[list[str]] = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, w, mode, start, out))
             for w in range(PROCESSES)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    written = [i for r in results for i in r]
    assert len(written) == len(set(written)) == PROCESSES * (SINGLE + BATCH)
    log = fp.AuditLog(url, signer=signer)
    log.sequence()
    log.checkpoint()
    report = log.verify()
    assert report.size == len(written)
    stored = [e.entry_id for e in log.query()]
    assert Counter(stored) == Counter(written)  # each exactly once
    assert sorted(log.locate(i) for i in written) == list(range(len(written)))
    per_actor = Counter(e.actor for e in log.query())
    assert per_actor == {f"staff-{w}": SINGLE + BATCH for w in range(PROCESSES)}
    log.close()


def test_four_writer_processes_sqlite(sqlite_url: str) -> None:
    _run(sqlite_url, "mixed")


@pytest.mark.postgres
def test_four_writer_processes_postgresql(pg_url: str) -> None:
    _run(pg_url, "deferred")
