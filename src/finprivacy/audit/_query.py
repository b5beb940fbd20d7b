"""Queries: entries selected by their indexed columns, each re-checked against its bytes.

Queries, incident scoping and access reviews select rows by the ``actor``, ``subject``,
``purpose`` … columns, which are copies of fields inside the signed bytes; every row is
decoded and compared before it is returned, so an edited column never hides an entry
or passes one off as another.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import AuditIntegrityError, FormatError, NotFoundError
from ._entry import AuditEntry, decode_entry, time_us
from ._store import AuditQuery, AuditStore

__all__ = ["query_entries", "read_entry"]


def _entry_matches(e: AuditEntry, q: AuditQuery) -> bool:
    """Whether a decoded entry meets every filter of ``q`` (the columns' claim)."""
    for name in ("actor", "subject", "purpose", "action", "tenant", "decision", "key_id"):
        wanted = getattr(q, name)
        if wanted is not None and getattr(e, name) != wanted:
            return False
    if q.break_glass is not None and e.break_glass != q.break_glass:
        return False
    t = time_us(e.time)
    return not ((q.start_us is not None and t < q.start_us)
                or (q.end_us is not None and t >= q.end_us))


def read_entry(store: AuditStore, seq: int) -> AuditEntry:
    """Return the decoded entry at ``seq``."""
    for stored in store.entries(seq, seq + 1):
        try:
            return decode_entry(stored.raw, stored.seq)
        except FormatError:
            raise AuditIntegrityError("a stored entry is not canonical",
                                      position=seq) from None
    raise NotFoundError(f"no audit entry at {seq} (not yet sequenced or pruned)")


def query_entries(store: AuditStore, q: AuditQuery) -> Iterator[AuditEntry]:
    """Yield the entries ``q`` selects, in log order, each checked against its bytes."""
    for seq, raw in store.query(q):
        try:
            entry = decode_entry(raw, seq)
        except FormatError:
            raise AuditIntegrityError("a stored entry is not canonical",
                                      position=seq) from None
        if not _entry_matches(entry, q):
            # The row was selected by its columns, but its bytes say otherwise.
            raise AuditIntegrityError(
                f"entry {seq} was selected by indexed columns its signed bytes do not "
                "match (edited?); run verify()", position=seq)
        yield entry
