"""The incident register's timelines on SQLite or PostgreSQL: :class:`SqlIncidentStore`.

Append-only: one row per event, keyed by (incident, seq), so two writers can never put
two events at one position (the second gets ``ConflictError``); the hash chain the
register keeps is stored with each row.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from typing import Any

from .._stores import register_store
from ..errors import ConflictError
from ..incidents import IncidentEvent, MemoryIncidentStore
from ._db import Database, Migration, open_database

__all__ = ["SqlIncidentStore"]

MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE incident_events (
        incident_id {text} NOT NULL,
        seq {bigint} NOT NULL,
        kind {text} NOT NULL,
        at {text} NOT NULL,
        actor {text} NOT NULL,
        data {text} NOT NULL,
        prev_hash {text} NOT NULL,
        PRIMARY KEY (incident_id, seq)
    )
    """,
]


def _event(row: Sequence[Any]) -> IncidentEvent:
    return IncidentEvent(incident_id=str(row[0]), seq=int(row[1]), kind=str(row[2]),
                         at=_dt.datetime.fromisoformat(str(row[3])), actor=str(row[4]),
                         data=json.loads(row[5]), prev_hash=str(row[6]))


class SqlIncidentStore:
    """A :class:`finprivacy.incidents.IncidentStore` in a SQLite or PostgreSQL database."""

    def __init__(self, db: Database | str) -> None:
        self._db = open_database(db) if isinstance(db, str) else db
        self._db.migrate("incidents", MIGRATIONS)

    def __repr__(self) -> str:
        return f"SqlIncidentStore({self._db!r})"

    def append(self, event: IncidentEvent) -> None:
        """Add ``event`` at its position; ``ConflictError`` if it is taken or not next."""
        with self._db.transaction() as tx:
            row = tx.fetchone("SELECT count(*) FROM incident_events WHERE incident_id = ?",
                              (event.incident_id,))
            if int(row[0]) != event.seq - 1:
                raise ConflictError(f"incident {event.incident_id}: event {event.seq} is "
                                    "not the next one")
            tx.execute("INSERT INTO incident_events (incident_id, seq, kind, at, actor, data, "
                       "prev_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (event.incident_id, event.seq, event.kind,
                        event.at.astimezone(_dt.UTC).isoformat(), event.actor,
                        json.dumps(dict(event.data), sort_keys=True, ensure_ascii=False),
                        event.prev_hash))

    def events(self, incident_id: str) -> Sequence[IncidentEvent]:
        """Return the incident's events in order."""
        with self._db.transaction(write=False) as tx:
            rows = tx.fetchall("SELECT incident_id, seq, kind, at, actor, data, prev_hash "
                               "FROM incident_events WHERE incident_id = ? ORDER BY seq",
                               (incident_id,))
        return tuple(_event(r) for r in rows)

    def incident_ids(self) -> Sequence[str]:
        """Return every incident id, oldest first."""
        with self._db.transaction(write=False) as tx:
            rows = tx.fetchall("SELECT incident_id FROM incident_events WHERE seq = 1 "
                               "ORDER BY at, incident_id")
        return tuple(str(r[0]) for r in rows)


register_store("incidents", "memory", lambda url: MemoryIncidentStore())
register_store("incidents", "sqlite", lambda url: SqlIncidentStore(url))
register_store("incidents", "postgresql", lambda url: SqlIncidentStore(url))
