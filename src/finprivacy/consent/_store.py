"""The :class:`ConsentStore` protocol that memory, SQLite and PostgreSQL stores implement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ._model import ConsentEvent, NoticeVersion, Purpose

__all__ = ["ConsentStore"]


@runtime_checkable
class ConsentStore(Protocol):
    """Durable storage for purposes, notice versions and append-only consent events.

    Contract (checked for every backend by ``tests/test_consent_store.py``):

    * :meth:`append` is atomic: all events are stored or none is. It places each event
      at the end of its subject's chain (``seq`` = previous + 1, ``prev_hash`` = the
      previous event's ``hash``, 64 zeros for the first) and computes its ``hash`` with
      :meth:`ConsentEvent.sealed`, under a per-subject lock, so concurrent writers in
      several processes never lose, duplicate or fork a chain. A duplicate
      ``event_id`` raises :class:`~finprivacy.errors.ConflictError` and writes nothing.
    * Events are never updated or deleted through the store.
    * Notice versions are immutable: adding an existing (notice_id, version) raises
      :class:`~finprivacy.errors.ConflictError`.
    """

    def put_purpose(self, purpose: Purpose) -> None:
        """Create or replace the definition of ``purpose.key``."""
        ...

    def purposes(self) -> dict[str, Purpose]:
        """Return every defined purpose, by key."""
        ...

    def add_notice(self, notice: NoticeVersion) -> None:
        """Store a new notice version; an existing (notice_id, version) is a conflict."""
        ...

    def notice_versions(self, notice_id: str) -> list[NoticeVersion]:
        """Return all versions of ``notice_id``, oldest first (empty when unknown)."""
        ...

    def notice_ids(self) -> list[str]:
        """Return the ids of every stored notice, sorted."""
        ...

    def append(self, events: Sequence[ConsentEvent]) -> list[ConsentEvent]:
        """Append ``events`` atomically (in order) and return them sealed."""
        ...

    def events(self, subject: str, purpose: str | None = None) -> list[ConsentEvent]:
        """Return the subject's events in chain order, optionally only for ``purpose``."""
        ...

    def events_by_receipt(self, receipt_id: str) -> list[ConsentEvent]:
        """Return the events that carry ``receipt_id``, in chain order."""
        ...

    def head(self, subject: str) -> tuple[int, str]:
        """Return the subject's last ``seq`` and ``hash`` as recorded when appending."""
        ...

    def subjects(self, after: str = "", limit: int = 1000) -> list[str]:
        """Return up to ``limit`` subject ids with events, sorted, all greater than ``after``."""
        ...

    def count(self) -> int:
        """Return the number of stored events."""
        ...

    def heads(self) -> list[tuple[str, int, str]]:
        """Return every subject's recorded ``(subject, seq, hash)`` head, sorted by subject."""
        ...

    def put_anchor(self, anchor_id: str, heads: Sequence[tuple[str, int, str]]) -> None:
        """Store the heads an anchor recorded; :class:`ConflictError` if the id exists."""
        ...

    def anchor_heads(self, anchor_id: str) -> list[tuple[str, int, str]]:
        """Return the heads an anchor recorded, sorted by subject (empty if unknown)."""
        ...

    def close(self) -> None:
        """Release connections; the store may not be used afterwards."""
        ...
