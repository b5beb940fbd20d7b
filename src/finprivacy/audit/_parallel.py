"""Verification of one log by several processes: ``AuditLog.verify(workers=N)``.

The stored entries ``[start, size)`` are cut into runs that end at every checkpoint
size and at the boundaries between processes. Each process re-hashes the stored bytes
of its runs as the one-process walk does (sequence numbers, leaf hashes, chain
values); a process that starts mid-log takes its first chain value from the stored
one before its first entry, which the process before it checks. Per run it returns
the chain value at the run's end and the run's compact range: one perfect subtree
hash per maximal aligned block, left to right. The parent folds these into the
tree's frontier in order and checks every checkpoint and the head.

This path only ever confirms. Any mismatch, a missing row or a failed process makes
:func:`verify_in_processes` return ``None``, and the caller then runs the
one-process walk, which names the first bad position exactly as always.

Processes are forked, so the parent must be single-threaded (forking a process with
other threads can leave their locks held in the child). Only a store offering
``reopen_url`` (the SQL stores, except in-memory SQLite) is split: each child opens
it afresh by URL and reads its own rows, so the parent's connections are never used
there. The memory store is not: a forked child shares the parent's objects
copy-on-write, and the reference counting of both processes would copy every page
of the entries, which measured slower than one process.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .._stores import open_store
from ._merkle import CHAIN_SHA, LEAF_SHA, NODE_SHA
from ._store import entry_rows

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from ._proofs import Checkpoint
    from ._store import AuditStore

__all__ = ["aligned_levels", "can_fork", "fold_runs", "verify_in_processes", "walk_runs"]

Run = tuple[int, int]
"""Entries ``[a, b)``."""
RunResult = tuple[bytes, list[bytes]]
"""The chain value after a run's last entry, and the run's compact range."""
Row = tuple[int, bytes, bytes, bytes]
"""A stored entry as ``(seq, raw, leaf, chain)``."""



def aligned_levels(a: int, b: int) -> list[int]:
    """Levels of the maximal aligned perfect subtrees covering ``[a, b)``, left to right."""
    levels: list[int] = []
    while a < b:
        level = (a & -a).bit_length() - 1 if a else b.bit_length()
        while 1 << level > b - a:
            level -= 1
        levels.append(level)
        a += 1 << level
    return levels


def walk_runs(rows: Iterator[Row], runs: Sequence[Run], chain: bytes) -> list[RunResult] | None:
    """Re-hash consecutive runs of stored rows; ``None`` at the first mismatch.

    ``rows`` must yield the entries of the runs in order, starting at the first run's
    start; ``chain`` is the chain value before it.
    """
    leaf_h, chain_h, node_h = LEAF_SHA.copy, CHAIN_SHA.copy, NODE_SHA.copy
    results: list[RunResult] = []
    for a, b in runs:
        stack: list[bytes] = []
        seq = a - 1
        for expected, (seq, raw, stored_leaf, stored_chain) in zip(range(a, b), rows,
                                                                   strict=False):
            if seq != expected:
                return None
            x = leaf_h()
            x.update(raw)
            h = x.digest()
            if h != stored_leaf:
                return None
            x = chain_h()
            x.update(chain + h)
            chain = x.digest()
            if chain != stored_chain:
                return None
            # Merge while this node is a right child whose left sibling lies in the run.
            s = seq
            level = 0
            while s & 1 and (s - 1) << level >= a:
                x = node_h()
                x.update(stack.pop() + h)
                h = x.digest()
                s >>= 1
                level += 1
            stack.append(h)
        if seq != b - 1:
            return None  # the stored rows ran out
        results.append((chain, stack))
    return results


def fold_runs(frontier: list[bytes], a: int, b: int, blocks: Sequence[bytes]) -> None:
    """Extend ``frontier`` (the compact range of ``[0, a)``) by the blocks of ``[a, b)``.

    Raises ``ValueError`` if ``blocks`` is not one hash per aligned block.
    """
    node_h = NODE_SHA.copy
    pos = a
    for level, h in zip(aligned_levels(a, b), blocks, strict=True):
        s = pos >> level
        while s & 1:
            x = node_h()
            x.update(frontier.pop() + h)
            h = x.digest()
            s >>= 1
        frontier.append(h)
        pos += 1 << level


def _walk_share(store: AuditStore, runs: Sequence[Run], chain: bytes | None
                ) -> list[RunResult] | None:
    first, last = runs[0][0], runs[-1][1]
    if chain is not None:
        return walk_runs(iter(entry_rows(store, first, last)), runs, chain)
    it = iter(entry_rows(store, first - 1, last))
    before = next(it, None)
    if before is None or before[0] != first - 1:
        return None
    return walk_runs(it, runs, before[3])


def _child(conn: Connection, url: str, runs: Sequence[Run]) -> None:
    """Walk ``runs`` in a forked process and send the results (``None`` on any failure)."""
    result: list[RunResult] | None
    try:
        result = _walk_share(open_store("audit", url), runs, None)
    except Exception:  # reported as a failure; the parent reruns the one-process walk
        result = None
    conn.send(result)
    conn.close()


def can_fork() -> bool:
    """Whether worker processes may be forked here: fork exists, one thread runs."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def verify_in_processes(store: AuditStore, workers: int, start: int, size: int,
                        chain: bytes, frontier: list[bytes],
                        checkpoints: Sequence[tuple[int, Checkpoint]],
                        check: Callable[[Checkpoint, int, bytes, list[bytes]], None]
                        ) -> tuple[bytes, list[bytes]] | None:
    """Check ``[start, size)`` in ``workers`` processes; return the head at ``size``.

    ``chain`` and ``frontier`` are the head at ``start``; ``checkpoints`` are the
    ``(size, checkpoint)`` pairs with ``start < size <= size``, sorted; ``check``
    raises for a checkpoint that does not match (the caller's own check). Returns
    the chain value and frontier after the last entry, or ``None`` if anything did
    not match or could not be run (the caller then walks the log itself).
    """
    import multiprocessing

    url: str | None = getattr(store, "reopen_url", None)
    if url is None:
        return None  # a store another process cannot open
    per = (size - start) // workers
    if per < 1:
        return None
    cuts = [start + k * per for k in range(1, workers)]
    points = sorted({start, size, *cuts, *(s for s, _ in checkpoints)})
    runs = list(itertools.pairwise(points))
    edges = [start, *cuts, size]
    shares = [[r for r in runs if lo <= r[0] < hi] for lo, hi in itertools.pairwise(edges)]
    ctx = multiprocessing.get_context("fork")
    children: list[tuple[Any, Connection]] = []
    all_results: list[RunResult] = []
    try:
        for share in shares[1:]:
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(send, url, share), daemon=True)
            proc.start()
            send.close()
            children.append((proc, receive))
        results = _walk_share(store, shares[0], chain)
        if results is None:
            return None
        all_results.extend(results)
        for _, receive in children:
            try:
                got = receive.recv()
            except EOFError:  # the child died
                return None
            if got is None:
                return None
            all_results.extend(got)
    finally:
        for proc, receive in children:
            receive.close()
            if proc.is_alive() and len(all_results) != len(runs):
                proc.terminate()  # giving up early: the rest of its walk is not needed
            proc.join()
    if len(all_results) != len(runs):
        return None
    i = 0
    head = list(frontier)
    end_chain = chain
    try:
        for (a, b), (end_chain, blocks) in zip(runs, all_results, strict=True):
            fold_runs(head, a, b, blocks)
            while i < len(checkpoints) and checkpoints[i][0] == b:
                check(checkpoints[i][1], b, end_chain, head)
                i += 1
    except Exception:  # a mismatch: the one-process walk names it
        return None
    return (end_chain, head) if i == len(checkpoints) else None
