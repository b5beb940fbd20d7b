"""The :class:`AuditStore` Protocol that memory, SQLite and PostgreSQL stores implement.

The store knows nothing about hashing. Writers call :meth:`AuditStore.add_pending`
(a plain durable insert, no lock). The sequencer calls :meth:`AuditStore.sequence`
with a pure function that turns the current :class:`TreeState` and a batch of pending
rows into an :class:`Integration`; the store runs it under its one sequencer lock
(a ``BEGIN IMMEDIATE`` on SQLite, a row lock on PostgreSQL) and writes the result in
the same transaction, so a crash leaves either the old or the new state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

from ..errors import AuditIntegrityError

__all__ = [
    "AuditQuery",
    "AuditStore",
    "Integration",
    "PendingRow",
    "SegmentRecord",
    "StoredCheckpoint",
    "StoredEntry",
    "TreeState",
    "duplicate_id_error",
    "entry_rows",
]


class PendingRow(NamedTuple):
    """An encoded entry waiting for the sequencer, with its indexed columns.

    A named tuple rather than a dataclass: one is built per append, on the hot path.
    """

    entry_id: str
    raw: bytes
    time_us: int
    tenant: str
    actor: str
    subject: str
    purpose: str
    action: str
    decision: str
    break_glass: bool
    key_id: str

    def __repr__(self) -> str:
        return f"PendingRow(entry_id={self.entry_id!r})"


@dataclasses.dataclass(frozen=True, slots=True)
class TreeState:
    """The sequenced log's head: size, chain value and compact range (frontier)."""

    size: int
    chain: bytes
    frontier: tuple[bytes, ...]
    start: int = 0
    """First sequence number still stored (after pruning)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Integration:
    """What the sequencer decided for one batch."""

    assigned: Sequence[tuple[Any, int, bytes, bytes]]
    """``(row key, seq, leaf hash, chain hash)`` per pending row, in seq order.

    The row key is whatever the store passed in: integration never reads it."""
    nodes: Sequence[tuple[int, int, bytes]]
    """New perfect subtree roots ``(level >= 1, index, hash)``."""
    state: TreeState
    """The head after the batch."""


class StoredEntry(NamedTuple):
    """A sequenced entry as read back: position, exact bytes, stored leaf and chain hashes."""

    seq: int
    raw: bytes
    leaf: bytes
    chain: bytes

    def __repr__(self) -> str:
        return f"StoredEntry(seq={self.seq})"


@dataclasses.dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A stored checkpoint: its signed body and signature."""

    body: bytes
    signature: bytes = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class SegmentRecord:
    """A closed segment ``[start, end)`` with its final checkpoint and head state."""

    number: int
    start: int
    end: int
    closed_us: int
    checkpoint: StoredCheckpoint
    chain: bytes
    frontier: tuple[bytes, ...]
    pruned: bool


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuditQuery:
    """Filters on indexed columns; every given filter must match."""

    actor: str | None = None
    subject: str | None = None
    purpose: str | None = None
    action: str | None = None
    tenant: str | None = None
    decision: str | None = None
    key_id: str | None = None
    break_glass: bool | None = None
    start_us: int | None = None
    """Inclusive lower bound on the entry time (µs since the epoch)."""
    end_us: int | None = None
    """Exclusive upper bound on the entry time."""
    after_seq: int | None = None
    """Only entries with a larger sequence number (for paging)."""
    limit: int | None = None


Integrate = Callable[[TreeState, Sequence[tuple[Any, bytes]]], Integration]
"""The sequencer's pure function: state + pending ``(row key, raw)`` -> integration.

A row key is any object the store chooses (a row id, or the row itself): it is
handed back untouched in :attr:`Integration.assigned`."""


@runtime_checkable
class AuditStore(Protocol):
    """Durable storage for one audit log. Implementations: memory, SQLite, PostgreSQL.

    A store may also offer ``entry_tuples(start, stop)``: the same rows as
    :meth:`entries` as plain ``(seq, raw, leaf, chain)`` tuples. ``AuditLog.verify``
    uses it when present (it saves building a named tuple per entry). A store that
    another process can open by URL (``open_store("audit", url)``) may say so with a
    ``reopen_url`` attribute; ``AuditLog.verify(workers=N)`` splits only such stores.
    """

    def add_pending(self, rows: Sequence[PendingRow]) -> None:
        """Durably insert ``rows`` in one transaction.

        Rows whose ``entry_id`` is already stored are skipped, so a retried write
        never duplicates an entry.
        """
        ...

    def pending_count(self) -> int:
        """Return the number of rows not yet sequenced."""
        ...

    def sequence(self, integrate: Integrate, limit: int) -> int:
        """Under the sequencer lock, place up to ``limit`` pending rows.

        Returns how many pending rows were consumed (placed, or dropped as duplicates
        of an entry id already in the log).
        """
        ...

    def state(self) -> TreeState:
        """Return the current sequenced head."""
        ...

    def entries(self, start: int, stop: int) -> Iterator[StoredEntry]:
        """Sequenced entries with ``start <= seq < stop``, in order (gaps show as gaps)."""
        ...

    def max_seq(self) -> int:
        """Return the largest stored sequence number, or -1."""
        ...

    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Perfect subtree hashes by ``(level, index)`` (level 0 = leaf hashes)."""
        ...

    def seq_of(self, entry_id: str) -> int | None:
        """Return the sequence number of an entry id (``None`` if pending or unknown)."""
        ...

    def query(self, query: AuditQuery) -> Iterator[tuple[int, bytes]]:
        """``(seq, raw)`` of matching sequenced entries, in sequence order."""
        ...

    def add_checkpoint(self, checkpoint: StoredCheckpoint, size: int) -> None:
        """Store a signed checkpoint for tree ``size``."""
        ...

    def checkpoints(self) -> list[tuple[int, StoredCheckpoint]]:
        """All stored checkpoints as ``(size, checkpoint)``, oldest first."""
        ...

    def add_segment(self, segment: SegmentRecord) -> None:
        """Record a closed segment."""
        ...

    def segments(self) -> list[SegmentRecord]:
        """All segments, oldest first."""
        ...

    def prune(self, segment: int, keep: Sequence[tuple[int, int, bytes]]) -> None:
        """Delete a closed segment's entries and inner tree nodes; mark it pruned.

        The ``keep`` nodes (the compact range of the segment's end) and the segment
        record stay.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def entry_rows(store: AuditStore, start: int, stop: int
               ) -> Iterable[tuple[int, bytes, bytes, bytes]]:
    """Return stored entries ``[start, stop)`` as ``(seq, raw, leaf, chain)``, in order.

    Uses the store's ``entry_tuples`` when it has one (no named tuple per entry).
    """
    rows: Callable[[int, int], Iterable[tuple[int, bytes, bytes, bytes]]] = getattr(
        store, "entry_tuples", store.entries)
    return rows(start, stop)


def duplicate_id_error(entry_id: str, *, partial: bool = False) -> AuditIntegrityError:
    """Return the error for an entry id already stored with other bytes.

    Entry ids are random: a second entry under a known id means two writers made the
    same id (a process copied without its fork hooks, a snapshot restored twice) or
    the store was edited. Never dropped as a retry (a retry has the same bytes).
    """
    what = ("the batch's other entries were stored" if partial
            else "nothing of this batch was written")
    return AuditIntegrityError(
        f"audit entry id {entry_id} is already stored with other bytes: two writers made "
        f"the same id, or the store was edited; {what}")
