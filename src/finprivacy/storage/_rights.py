"""Stores for data-subject request events: memory, SQLite and PostgreSQL.

Registered under the ``"rights"`` domain. Events are append-only; the primary key
``(request_id, seq)`` turns a concurrent second writer of the same step into a
:class:`~finprivacy.errors.ConflictError` instead of a silent overwrite.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading

from .._stores import register_store
from ..errors import ConflictError
from ..rights import RequestEvent
from ._db import Database, Migration, open_database

__all__ = ["MemoryRequestStore", "SqlRequestStore"]

MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE rights_events (
        request_id {text} NOT NULL,
        seq {bigint} NOT NULL,
        subject {text} NOT NULL,
        step {text} NOT NULL,
        at_us {bigint} NOT NULL,
        actor {text} NOT NULL,
        data {text} NOT NULL,
        PRIMARY KEY (request_id, seq)
    );
    CREATE INDEX rights_events_subject ON rights_events (subject, at_us)
    """,
]

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def _us(at: _dt.datetime) -> int:
    return (at - _EPOCH) // _dt.timedelta(microseconds=1)


def _from_us(us: int) -> _dt.datetime:
    return _EPOCH + _dt.timedelta(microseconds=us)


class MemoryRequestStore:
    """Request events in a dict; for tests and single-process tools."""

    def __init__(self) -> None:
        self._events: dict[str, list[RequestEvent]] = {}
        self._subjects: dict[str, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemoryRequestStore({len(self._events)} requests)"

    def append_event(self, event: RequestEvent) -> None:
        """Store ``event``; ConflictError if its ``(request_id, seq)`` exists."""
        with self._lock:
            events = self._events.setdefault(event.request_id, [])
            if event.seq != len(events):
                raise ConflictError(
                    f"request {event.request_id} event {event.seq} conflicts with stored events")
            events.append(event)
            if event.seq == 0:
                self._subjects[event.request_id] = event.data.get("subject", "")

    def request_events(self, request_id: str) -> list[RequestEvent]:
        """Return a request's events in order."""
        with self._lock:
            return list(self._events.get(request_id, ()))

    def request_ids(self, *, subject: str | None = None) -> list[str]:
        """Return the request ids (of one subject), oldest first."""
        with self._lock:
            items = sorted(self._events.items(), key=lambda kv: (kv[1][0].at, kv[0]))
            return [rid for rid, _ in items
                    if subject is None or self._subjects.get(rid) == subject]


class SqlRequestStore:
    """Request events in a SQLite or PostgreSQL database."""

    def __init__(self, db: Database | str) -> None:
        self._db = open_database(db) if isinstance(db, str) else db
        self._db.migrate("rights", MIGRATIONS)

    def __repr__(self) -> str:
        return f"SqlRequestStore({self._db!r})"

    def append_event(self, event: RequestEvent) -> None:
        """Store ``event``; ConflictError if its ``(request_id, seq)`` exists or is out of order."""
        with self._db.transaction() as tx:
            row = tx.fetchone("SELECT COUNT(*), MIN(subject) FROM rights_events "
                              "WHERE request_id = ?", (event.request_id,))
            count = int(row[0])
            if event.seq != count:
                raise ConflictError(
                    f"request {event.request_id} event {event.seq} conflicts with stored events")
            subject = event.data.get("subject", "") if event.seq == 0 else str(row[1] or "")
            tx.execute(
                "INSERT INTO rights_events (request_id, seq, subject, step, at_us, actor, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (event.request_id, event.seq, subject, event.step, _us(event.at), event.actor,
                 event.to_json()))

    def request_events(self, request_id: str) -> list[RequestEvent]:
        """Return a request's events in order."""
        with self._db.transaction(write=False) as tx:
            rows = tx.fetchall("SELECT seq, step, at_us, actor, data FROM rights_events "
                               "WHERE request_id = ? ORDER BY seq", (request_id,))
        return [RequestEvent(request_id=request_id, seq=int(r[0]), step=str(r[1]),
                             at=_from_us(int(r[2])), actor=str(r[3]), data=json.loads(r[4]))
                for r in rows]

    def request_ids(self, *, subject: str | None = None) -> list[str]:
        """Return the request ids (of one subject), oldest first."""
        sql = "SELECT request_id FROM rights_events WHERE seq = 0"
        params: tuple[str, ...] = ()
        if subject is not None:
            sql += " AND subject = ?"
            params = (subject,)
        with self._db.transaction(write=False) as tx:
            rows = tx.fetchall(sql + " ORDER BY at_us, request_id", params)
        return [str(r[0]) for r in rows]


register_store("rights", "memory", lambda url: MemoryRequestStore())
register_store("rights", "sqlite", lambda url: SqlRequestStore(url))
register_store("rights", "postgresql", lambda url: SqlRequestStore(url))
