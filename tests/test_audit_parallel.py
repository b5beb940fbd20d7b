"""``AuditLog.verify(workers=N)``: the same result and the same errors, in N processes.

The split walk (``finprivacy.audit._parallel``) is checked three ways: its pieces
against the plain compact range of the tree; whole logs on SQLite and PostgreSQL
against the one-process walk, with a spy showing the processes really ran; and the
fall-backs (other stores, threads, a failing child). The tampering tests of
``test_audit_log.py`` run every kind of damage through ``workers=3`` as well.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.audit import AuditLog, _parallel
from finprivacy.audit import _verify as verify_module
from finprivacy.audit._log import _integrate
from finprivacy.audit._merkle import GENESIS_CHAIN, CompactRange
from finprivacy.audit._store import TreeState

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SIGNER = fp.Ed25519Signer.generate()


def _rows(n: int) -> list[tuple[int, bytes, bytes, bytes]]:
    raws = [b'{"n":%d}' % i for i in range(n)]
    done = _integrate(TreeState(0, GENESIS_CHAIN, ()), list(enumerate(raws)))
    return [(seq, raws[key], leaf, chain) for key, seq, leaf, chain in done.assigned]


ROWS = _rows(300)


def _frontier(size: int) -> list[bytes]:
    cr = CompactRange()
    for row in ROWS[:size]:
        cr.append(row[2])
    return cr.frontier


@given(st.integers(0, 150), st.integers(0, 150))
def test_aligned_levels_tile_the_range_with_maximal_aligned_blocks(a: int, n: int) -> None:
    b = a + n
    pos = a
    for level in _parallel.aligned_levels(a, b):
        assert pos % (1 << level) == 0 and pos + (1 << level) <= b
        # maximal: the block twice as big at this position is unaligned or too long
        assert pos % (2 << level) != 0 or pos + (2 << level) > b
        pos += 1 << level
    assert pos == b


@given(st.lists(st.integers(1, 299), max_size=6, unique=True), st.integers(0, 299))
def test_runs_folded_in_order_give_the_tree_frontier(cuts: list[int], first: int) -> None:
    # Start anywhere, cut the rest into runs, walk them and fold: the frontier of the
    # whole prefix, as appending every leaf gives it; the chain value of the last row.
    points = sorted({first, 300, *(c for c in cuts if c > first)})
    runs = list(itertools.pairwise(points))
    chain = ROWS[first - 1][3] if first else GENESIS_CHAIN
    results = _parallel.walk_runs(iter(ROWS[first:]), runs, chain)
    assert results is not None and len(results) == len(runs)
    frontier = _frontier(first)
    for (a, b), (end_chain, blocks) in zip(runs, results, strict=True):
        _parallel.fold_runs(frontier, a, b, blocks)
        assert frontier == _frontier(b)
        assert end_chain == ROWS[b - 1][3]


@pytest.mark.parametrize("damage", ["raw", "leaf", "chain", "gap", "short"])
def test_walk_runs_refuses_damaged_rows(damage: str) -> None:
    rows = list(ROWS[:40])
    seq, raw, leaf, chain = rows[17]
    if damage == "raw":
        rows[17] = (seq, raw + b" ", leaf, chain)
    elif damage == "leaf":
        rows[17] = (seq, raw, bytes(32), chain)
    elif damage == "chain":
        rows[17] = (seq, raw, leaf, bytes(32))
    elif damage == "gap":
        del rows[17]
    else:
        del rows[30:]
    assert _parallel.walk_runs(iter(rows), [(0, 20), (20, 40)], GENESIS_CHAIN) is None
    assert _parallel.walk_runs(iter(ROWS[:40]), [(0, 20), (20, 40)], GENESIS_CHAIN)


def test_fold_runs_refuses_the_wrong_number_of_blocks() -> None:
    with pytest.raises(ValueError, match="shorter"):
        _parallel.fold_runs([], 0, 3, [bytes(32)])


# -- whole logs -------------------------------------------------------------------------


@pytest.fixture
def split(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Split even tiny logs; record what every split walk returned."""
    monkeypatch.setattr(verify_module, "_MIN_PER_WORKER", 1)
    seen: list[object] = []
    real = _parallel.verify_in_processes

    def spy(*args: Any, **kw: Any) -> object:
        got = real(*args, **kw)
        seen.append(got)
        return got

    monkeypatch.setattr(_parallel, "verify_in_processes", spy)
    return seen


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def _log(url: str, clock: fp.FixedClock | None = None, **kw: Any) -> AuditLog:
    return AuditLog(url, signer=SIGNER, clock=clock or fp.FixedClock(T0), origin="lotus/audit",
                    **kw)


def _fill(log: AuditLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.append("read", actor="amy", subject=f"client-{i % 7}", purpose="bookkeeping",
                   request_id=f"req-{i}")


@pytest.fixture
def big_log(db_url: str) -> Iterator[AuditLog]:
    log = _log(db_url)
    for size in (1, 2, 3, 64, 65, 100, 130):
        _fill(log, size - log.size)
        log.checkpoint()
    _fill(log, 7, start=130)
    yield log
    log.close()


@pytest.mark.parametrize("workers", [2, 3, 5])
def test_split_verify_agrees_with_one_process(big_log: AuditLog, split: list[object],
                                              workers: int) -> None:
    one = big_log.verify()
    many = big_log.verify(workers=workers)
    assert many == one
    assert (many.size, many.checked_entries, many.checked_checkpoints) == (137, 137, 7)
    assert len(split) == 1 and split[0] is not None  # the processes ran and confirmed


def test_split_verify_after_pruned_segments(sqlite_url: str, split: list[object]) -> None:
    clock = fp.FixedClock(T0)
    log = _log(sqlite_url, clock, retention=dt.timedelta(days=30))
    _fill(log, 13)
    log.close_segment()
    clock.advance(dt.timedelta(days=40))
    _fill(log, 50, start=13)
    log.checkpoint()
    _fill(log, 9, start=63)
    assert [s.number for s in log.prune()] == [1]
    report = log.verify(workers=4)
    assert (report.start, report.size, report.checked_entries) == (13, 72, 59)
    assert report == log.verify()
    assert split and split[-1] is not None


def test_a_failing_child_falls_back_to_one_process(sqlite_url: str, split: list[object],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    log = _log(sqlite_url)
    _fill(log, 40)
    log.checkpoint()
    monkeypatch.setattr(type(log.store), "reopen_url",
                        property(lambda self: "sqlite:///does/not/exist/a.db"))
    assert log.verify(workers=2) == log.verify()
    assert split == [None]  # the child could not open the store: the walk ran here


def test_memory_store_and_threads_use_one_process(sqlite_url: str, split: list[object]) -> None:
    mem = _log("memory:")
    _fill(mem, 40)
    assert mem.verify(workers=2).checked_entries == 40
    assert split == [None]  # the memory store is never split
    log = _log(sqlite_url)
    _fill(log, 40)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert log.verify(workers=2).checked_entries == 40
    finally:
        stop.set()
        other.join()
    assert split == [None]  # a second thread: no fork at all


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "2", None])
def test_workers_must_be_a_positive_int(workers: object) -> None:
    log = _log("memory:")
    with pytest.raises(fp.InvalidInputError):
        log.verify(workers=workers)  # type: ignore[arg-type]


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 60), st.lists(st.integers(1, 60), max_size=4), st.integers(2, 4),
       st.integers(0, 59))
def test_split_verify_names_the_same_first_bad_entry(tmp_path_factory: pytest.TempPathFactory,
                                                     n: int, cps: list[int], workers: int,
                                                     bad: int) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('par')}/a.db"
    log = _log(url)
    for size in sorted({c for c in cps if c <= n}):
        _fill(log, size - log.size, start=log.size)
        log.checkpoint()
    _fill(log, n - log.size, start=log.size)
    log.sequence()
    old = verify_module._MIN_PER_WORKER
    verify_module._MIN_PER_WORKER = 1
    try:
        assert log.verify(workers=workers) == log.verify()
        bad %= n
        store = log.store
        with store.db.transaction() as tx:  # type: ignore[attr-defined]
            tx.execute("UPDATE audit_entries SET raw = CAST(raw || X'20' AS BLOB) "
                       "WHERE seq = ?", (bad,))
        errors = []
        for w in (1, workers):
            with pytest.raises(fp.AuditIntegrityError) as info:
                log.verify(workers=w)
            errors.append((str(info.value), info.value.position))
        assert errors[0] == errors[1] and errors[0][1] == bad
    finally:
        verify_module._MIN_PER_WORKER = old
        log.close()


def test_an_entry_stored_as_text_is_an_integrity_error(sqlite_url: str,
                                                      split: list[object]) -> None:
    # SQLite takes text where the entry bytes belong (the hash columns are checked by
    # the schema). That is damage, reported at its position; it used to escape as a
    # TypeError from hashlib.
    log = _log(sqlite_url)
    _fill(log, 40)
    log.sequence()
    with log.store.db.transaction() as tx:  # type: ignore[attr-defined]
        tx.execute("UPDATE audit_entries SET raw = CAST(raw AS TEXT) WHERE seq = 23")
    for workers in (1, 2):
        with pytest.raises(fp.AuditIntegrityError) as info:
            log.verify(workers=workers)
        assert info.value.position == 23
        assert "not stored as bytes" in str(info.value)
    assert split == [None]  # the split walk refused it too; the walk here named it
