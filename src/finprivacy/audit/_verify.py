"""The verification engine: re-hash a store's entries and check everything signed.

Chain, tree, head, checkpoints, indexed columns and freshness.

:meth:`AuditLog.verify <finprivacy.audit.AuditLog.verify>` checks its arguments and
sequences pending entries, then runs a :class:`Verification` over its store; the
engine reads only the store, the log's origin, the trusted keys and the checkpoints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import threading
from collections.abc import Callable, Iterator

from ..errors import AuditIntegrityError, FormatError
from ._entry import decode_entry, time_us
from ._merkle import CHAIN_SHA, GENESIS_CHAIN, LEAF_SHA, NODE_SHA, CompactRange
from ._proofs import Checkpoint, PublicKeys
from ._store import AuditStore, SegmentRecord, entry_rows

__all__ = ["Verification", "VerifyReport", "segment_ending_at"]

_MIN_PER_WORKER = 16_384
"""``verify(workers=N)`` forks only for logs of at least N times this many entries."""


@dataclasses.dataclass(frozen=True, slots=True)
class VerifyReport:
    """The result of a successful :meth:`AuditLog.verify`."""

    size: int
    """Entries in the log (including pruned ones)."""
    start: int
    """First entry still stored; earlier ones were pruned with their segments."""
    checked_entries: int
    """Entries whose bytes were re-hashed."""
    checked_checkpoints: int
    """Checkpoints whose signature (and, where entries are kept, root) was checked."""
    unsigned_entries: int = 0
    """Entries past the newest signed checkpoint (rewritable by a writer with database
    access without breaking any hash: see the freshness bounds of :meth:`AuditLog.verify`)."""
    newest_checkpoint: _dt.datetime | None = None
    """When the newest signed checkpoint was made, or ``None`` if there is none."""


def _age_text(delta: _dt.timedelta) -> str:
    """Render a duration for a message: ``3h 5m``, ``2d 4h``, ``42s``."""
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def segment_ending_at(store: AuditStore, end: int) -> SegmentRecord:
    """Return the pruned segment whose last entry is ``end - 1`` (where the log now starts)."""
    for seg in store.segments():
        if seg.end == end and seg.pruned:
            return seg
    raise AuditIntegrityError("entries were removed without a pruned segment "
                              "accounting for them", position=0)


class Verification:
    """One verification of a store's entries against its head and signed checkpoints."""

    def __init__(self, store: AuditStore, origin: str, trusted: PublicKeys,
                 checkpoints: list[Checkpoint], now: Callable[[], _dt.datetime]) -> None:
        self.store = store
        self.origin = origin
        self.trusted = trusted
        self.checkpoints = checkpoints
        self.now = now

    def run(self, workers: int, max_unsigned: int | None, max_age: _dt.timedelta | None,
            columns: bool) -> VerifyReport:
        """Check everything; return the report or raise :class:`AuditIntegrityError`."""
        trusted = self.trusted
        store = self.store
        state = store.state()
        cps = sorted(((c.size, i, c) for i, c in enumerate(self.checkpoints)))
        for _, _, cp in cps:
            cp.verify_signature(trusted)
            if cp.origin != self.origin:
                raise AuditIntegrityError("a checkpoint names another log",
                                          position=max(cp.size - 1, 0))
        start = state.start
        chain = GENESIS_CHAIN
        frontier: list[bytes] = []
        if start:
            seg = segment_ending_at(store, start)
            seg_cp = Checkpoint.parse(seg.checkpoint.body, seg.checkpoint.signature)
            seg_cp.verify_signature(trusted)
            cr0 = CompactRange(start, seg.frontier)
            if cr0.root() != seg_cp.root or seg.chain != seg_cp.chain or seg_cp.size != start:
                raise AuditIntegrityError("the pruned segment's kept head does not match its "
                                          "signed checkpoint", position=start - 1)
            chain, frontier = seg.chain, list(seg.frontier)
        pending_cps = [(s, c) for s, _, c in cps if s >= start]
        cp_i = 0
        while cp_i < len(pending_cps) and pending_cps[cp_i][0] == start:
            self._check_cp(pending_cps[cp_i][1], start, chain, frontier)
            cp_i += 1
        leaf_h, chain_h, node_h = LEAF_SHA.copy, CHAIN_SHA.copy, NODE_SHA.copy
        next_cp = pending_cps[cp_i][0] if cp_i < len(pending_cps) else -1
        size = state.size
        stop = max(size, store.max_seq() + 1)
        if (workers > 1 and stop == size and size - start >= workers * _MIN_PER_WORKER
                and all(s <= size for s, _ in pending_cps)):
            from ._parallel import can_fork, verify_in_processes

            if can_fork():
                head = verify_in_processes(store, workers, start, size, chain, frontier,
                                           pending_cps[cp_i:], self._check_cp)
                if head is not None and head[0] == state.chain and (
                        tuple(head[1]) == tuple(state.frontier)):
                    if columns:
                        self._check_columns(start, size)
                    return self._fresh(
                        VerifyReport(size=size, start=start, checked_entries=size - start,
                                     checked_checkpoints=len(cps)),
                        [c for _, _, c in cps], max_unsigned, max_age)
            # Otherwise (or on any mismatch, which the walk below names): one process.
        # The database checks the indexed columns in a thread of its own while this
        # one re-hashes the entries; its verdict is read after the hashes pass.
        with self._columns_beside(start, size, enabled=columns):
            it = iter(entry_rows(store, start, stop))
            # As in _integrate, a leaf at an even position waits in ``left`` for its sibling;
            # the frontier holds the levels above (``left`` joins it for a root).
            left = frontier.pop() if start & 1 else b""
            seq = start - 1
            # Entries up to the head, in runs that end at a checkpoint's size (checked after
            # its run) or at the head; what follows in ``it`` is checked after the loop.
            pos = start
            expected = start
            try:
                while pos < size:
                    end = next_cp if 0 <= next_cp < size else size
                    for expected, (seq, raw, stored_leaf, stored_chain) in zip(range(pos, end), it,
                                                                               strict=False):
                        if seq != expected:
                            raise AuditIntegrityError(f"entry {expected} is missing",
                                                      position=expected)
                        x = leaf_h()
                        x.update(raw)
                        leaf = x.digest()
                        if leaf != stored_leaf:
                            raise AuditIntegrityError(f"entry {seq} was modified", position=seq)
                        x = chain_h()
                        x.update(chain + leaf)
                        chain = x.digest()
                        if chain != stored_chain:
                            raise AuditIntegrityError(f"entry {seq} breaks the hash chain",
                                                      position=seq)
                        if seq & 1:
                            x = node_h()
                            x.update(left + leaf)
                            h = x.digest()
                            s = seq >> 1
                            while s & 1:
                                x = node_h()
                                x.update(frontier.pop() + h)
                                h = x.digest()
                                s >>= 1
                            frontier.append(h)
                        else:
                            left = leaf
                    if seq + 1 != end:
                        break  # the stored entries ran out: reported below
                    pos = end
                    if end == next_cp:
                        heads = [*frontier, left] if end & 1 else frontier
                        while cp_i < len(pending_cps) and pending_cps[cp_i][0] == end:
                            self._check_cp(pending_cps[cp_i][1], end, chain, heads)
                            cp_i += 1
                        next_cp = pending_cps[cp_i][0] if cp_i < len(pending_cps) else -1
            except TypeError:  # a row of the wrong type (SQLite columns take any): not an entry
                raise AuditIntegrityError(f"entry {expected} is not stored as bytes",
                                          position=expected) from None
            expected = seq + 1
            if expected < size:
                raise AuditIntegrityError(f"entry {expected} is missing", position=expected)
            for seq, *_ in it:  # a stored entry past the head
                if seq != expected:
                    raise AuditIntegrityError(f"entry {expected} is missing", position=expected)
                raise AuditIntegrityError(f"entry {expected} is beyond the sequenced head",
                                          position=expected)
            if expected & 1:
                frontier.append(left)
            if cp_i < len(pending_cps):
                raise AuditIntegrityError(f"a checkpoint covers {pending_cps[cp_i][0]} entries but "
                                          f"the log has {state.size}", position=state.size)
            if chain != state.chain or tuple(frontier) != tuple(state.frontier):
                raise AuditIntegrityError("the stored head does not match the entries",
                                          position=max(state.size - 1, 0))
        return self._fresh(
            VerifyReport(size=state.size, start=start, checked_entries=expected - start,
                         checked_checkpoints=len(cps)),
            [c for _, _, c in cps], max_unsigned, max_age)

    @contextlib.contextmanager
    def _columns_beside(self, start: int, stop: int, *, enabled: bool) -> Iterator[None]:
        """Check the indexed columns of entries ``start`` to ``stop`` beside the block.

        On a store that other threads can read (a SQLite file, PostgreSQL) the check
        runs in a helper thread with its own connection while the block runs (the
        database does the work, mostly outside the GIL); its error, if any, is raised
        when the block ends without one. Otherwise it runs after the block. An error
        in the block cancels the check.
        """
        store = self.store
        if not enabled or getattr(store, "column_suspects", None) is None:
            yield
            return
        if not getattr(store, "threads_share_data", False):
            yield
            self._check_columns(start, stop)
            return
        cancel = threading.Event()
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                self._check_columns(start, stop, cancelled=cancel.is_set)
            except BaseException as exc:  # handed to the verifying thread
                outcome.append(exc)
            finally:
                end = getattr(store, "end_thread", None)
                if end is not None:
                    end()

        helper = threading.Thread(target=run, name="finprivacy-audit-columns", daemon=True)
        helper.start()
        try:
            yield
        except BaseException:
            cancel.set()
            helper.join()
            raise
        helper.join()
        if outcome:
            raise outcome[0]

    def _check_columns(self, start: int, stop: int, *,
                       cancelled: Callable[[], bool] | None = None) -> None:
        """Check the indexed columns of a SQL store against each entry's bytes.

        Queries, incident scoping and access review select rows by these columns; an
        edited column would hide an entry from them while every hash still agreed.
        The database flags rows whose columns may disagree (one scan at C speed); each
        flagged row is decoded and compared here, field by field. The memory store
        has no columns apart from its entries (nothing outside the process edits it).
        """
        suspects = getattr(self.store, "column_suspects", None)
        if suspects is None:
            return
        for (seq, raw, entry_id, t_us, tenant, actor, subject, purpose, action, decision,
             break_glass, key_id) in suspects(start, stop, cancelled=cancelled):
            try:
                e = decode_entry(bytes(raw), int(seq))
            except FormatError:
                raise AuditIntegrityError(f"entry {seq} is not canonical",
                                          position=int(seq)) from None
            wrong = [name for name, column, field in (
                ("entry_id", entry_id, e.entry_id), ("time_us", t_us, time_us(e.time)),
                ("tenant", tenant, e.tenant), ("actor", actor, e.actor),
                ("subject", subject, e.subject), ("purpose", purpose, e.purpose),
                ("action", action, e.action), ("decision", decision, e.decision),
                ("break_glass", bool(break_glass), e.break_glass), ("key_id", key_id, e.key_id),
            ) if column != field]
            if wrong:
                raise AuditIntegrityError(
                    f"entry {seq}: its indexed column(s) {', '.join(wrong)} do not match the "
                    "entry's signed bytes (edited to hide it from queries?)", position=int(seq))

    def _fresh(self, report: VerifyReport, checkpoints: list[Checkpoint],
               max_unsigned: int | None, max_age: _dt.timedelta | None) -> VerifyReport:
        """Add the freshness figures to ``report``; raise when past a given bound."""
        newest = max(checkpoints, key=lambda c: (c.size, c.time), default=None)
        covered = newest.size if newest is not None else 0
        unsigned = max(report.size - covered, 0)
        report = dataclasses.replace(
            report, unsigned_entries=unsigned,
            newest_checkpoint=None if newest is None else newest.time)
        if max_unsigned is not None and unsigned > max_unsigned:
            raise AuditIntegrityError(
                f"{unsigned} entries lie past the newest signed checkpoint (at most "
                f"{max_unsigned} allowed): sign a checkpoint, or look for deleted "
                "checkpoints", position=covered)
        if max_age is not None and report.size:
            latest = max((c.time for c in checkpoints), default=None)
            if latest is None:
                raise AuditIntegrityError(
                    "the log has no signed checkpoint (a freshness bound was asked for)",
                    position=0)
            age = self.now() - latest
            if age > max_age:
                raise AuditIntegrityError(
                    f"the newest signed checkpoint is {_age_text(age)} old (at most "
                    f"{_age_text(max_age)} allowed): sign checkpoints more often, or look "
                    "for deleted checkpoints", position=covered)
        return report

    @staticmethod
    def _check_cp(cp: Checkpoint, size: int, chain: bytes, frontier: list[bytes]) -> None:
        root = CompactRange(size, frontier).root()
        if cp.root != root or cp.chain != chain:
            raise AuditIntegrityError(
                f"the checkpoint at size {size} does not match the entries",
                position=max(size - 1, 0))


