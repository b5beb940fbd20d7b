"""Fast paths of the audit log checked against plain reference code."""

from __future__ import annotations

import ctypes
import os
import re
import threading
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from finprivacy.audit import _log
from finprivacy.audit._log import _integrate
from finprivacy.audit._store import PendingRow
from finprivacy.storage._audit import MemoryAuditStore

_HEX32 = re.compile(r"[0-9a-f]{32}\Z")


def test_entry_ids_are_random_hex_and_never_repeat() -> None:
    ids = [_log._new_entry_id() for _ in range(3 * 256 + 5)]
    assert all(_HEX32.match(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_entry_ids_are_handed_out_once_across_threads() -> None:
    got: list[list[str]] = [[] for _ in range(8)]

    def take(out: list[str]) -> None:
        for _ in range(1500):
            out.append(_log._new_entry_id())

    threads = [threading.Thread(target=take, args=(out,)) for out in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for out in got for i in out]
    assert len(set(every)) == len(every) == 8 * 1500


def _child_ids(fork: Callable[[], int]) -> tuple[set[str], set[str]]:
    _log._new_entry_id()  # a pooled design now holds unused ids
    read, write = os.pipe()
    pid = fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.write(write, "".join(_log._new_entry_id() for _ in range(4)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        child = f.read()
    os.waitpid(pid, 0)
    child_ids = {child[i:i + 32] for i in range(0, len(child), 32)}
    parent_ids = {_log._new_entry_id() for _ in range(300)}
    return child_ids, parent_ids


def test_a_forked_child_never_reuses_its_parents_entry_ids() -> None:
    child_ids, parent_ids = _child_ids(os.fork)
    assert len(child_ids) == 4
    assert not child_ids & parent_ids


def test_a_fork_from_c_that_skips_pythons_hooks_never_reuses_ids() -> None:
    """libc fork() through ctypes runs no os.register_at_fork hook (issue 15)."""
    libc = ctypes.CDLL(None, use_errno=True)
    child_ids, parent_ids = _child_ids(libc.fork)
    assert len(child_ids) == 4
    assert not child_ids & parent_ids


def _reference_sequence(rows: list[PendingRow]) -> tuple[object, ...]:
    """What the memory store held after sequencing, written as plain per-entry loops."""
    state = MemoryAuditStore().state()
    result = _integrate(state, [(tuple(r), r.raw) for r in rows])
    rows_by_seq, ids, entries, nodes = {}, {}, {}, {}
    for row, seq, leaf, chain in result.assigned:
        rows_by_seq[seq] = row
        ids[row[0]] = seq
        entries[seq] = (seq, row[1], leaf, chain)
    for level, index, h in result.nodes:
        nodes[(level, index)] = h
    return rows_by_seq, ids, entries, nodes, result.state


@given(st.lists(st.binary(max_size=40), max_size=70), st.integers(1, 9))
def test_memory_store_sequencing_matches_the_reference(raws: list[bytes], limit: int) -> None:
    rows = [PendingRow(f"{i:032x}", raw, i, "", "amy", "", "", "read", "info", False, "")
            for i, raw in enumerate(raws)]
    store = MemoryAuditStore()
    store.add_pending(rows)
    while store.sequence(_integrate, limit):
        pass
    got = (store._rows, store._ids, store._entries, store._nodes, store._state)
    assert got == _reference_sequence(rows)
    assert [list(d) for d in got[:4]] == [list(d) for d in _reference_sequence(rows)[:4]]  # type: ignore[call-overload]

