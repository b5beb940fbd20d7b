"""Retention stores: legal holds and the disposal execution journal.

One store object implements both :class:`~finprivacy.retention.HoldStore` and
:class:`~finprivacy.retention.ExecutionJournal`. Registered under the ``"retention"``
domain for the ``memory``, ``sqlite`` and ``postgresql`` URL schemes. Times are stored
as microseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Iterator
from typing import Any

from .._stores import register_store
from ..errors import ConflictError, NotFoundError
from ..retention import HoldMatter, JournalEntry, LegalHold
from ..retention._execute import EntryStatus
from ._db import Database, Migration, Tx, open_database

__all__ = ["MemoryRetentionStore", "SqlRetentionStore"]

COMPONENT = "retention"

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def _us(value: _dt.datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_us(value: int) -> _dt.datetime:
    return _EPOCH + _dt.timedelta(microseconds=int(value))


def _released(hold: LegalHold, *, by: str, reason: str, at: _dt.datetime) -> LegalHold:
    return LegalHold(
        id=hold.id, matter=hold.matter, reason=hold.reason, placed_by=hold.placed_by,
        placed_at=hold.placed_at, subjects=hold.subjects, record_classes=hold.record_classes,
        record_ids=hold.record_ids, reference=hold.reference, released_at=at,
        released_by=by, release_reason=reason,
    )


class MemoryRetentionStore:
    """Holds and journal in process memory (tests, demos, single-process tools)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holds: dict[str, LegalHold] = {}
        self._journal: dict[str, dict[str, JournalEntry]] = {}
        self._sweeps: dict[str, str] = {}
        self._leases: dict[str, tuple[str, _dt.datetime]] = {}

    def __repr__(self) -> str:
        return f"MemoryRetentionStore(holds={len(self._holds)})"

    # -- holds -----------------------------------------------------------------------
    def add_hold(self, hold: LegalHold) -> None:
        """Store a new hold; ConflictError if the id exists."""
        with self._lock:
            if hold.id in self._holds:
                raise ConflictError(f"legal hold {hold.id!r} already exists")
            self._holds[hold.id] = hold

    def get_hold(self, hold_id: str) -> LegalHold:
        """Return the hold; NotFoundError if absent."""
        with self._lock:
            try:
                return self._holds[hold_id]
            except KeyError:
                raise NotFoundError(f"no legal hold {hold_id!r}") from None

    def release_hold(self, hold_id: str, *, released_by: str, reason: str,
                     at: _dt.datetime) -> LegalHold:
        """Mark a hold released; NotFoundError if absent, ConflictError if released."""
        with self._lock:
            hold = self._holds.get(hold_id)
            if hold is None:
                raise NotFoundError(f"no legal hold {hold_id!r}")
            if not hold.active:
                raise ConflictError(f"legal hold {hold_id!r} is already released")
            done = _released(hold, by=released_by, reason=reason, at=at)
            self._holds[hold_id] = done
            return done

    def list_holds(self, *, active_only: bool = True) -> list[LegalHold]:
        """List holds by placement time, then id."""
        with self._lock:
            holds = sorted(self._holds.values(), key=lambda h: (h.placed_at, h.id))
        return [h for h in holds if h.active or not active_only]

    def holds_covering(self, *, record_id: str, subject: str,
                       record_class: str) -> list[LegalHold]:
        """Return the active holds covering this record id, subject or class."""
        with self._lock:
            holds = sorted(self._holds.values(), key=lambda h: (h.placed_at, h.id))
        return [h for h in holds if h.active and (
            record_id in h.record_ids or record_class in h.record_classes
            or (bool(subject) and subject in h.subjects))]

    # -- journal ---------------------------------------------------------------------
    def entry_status(self, sweep_id: str, record_id: str) -> EntryStatus | None:
        """Return the record's status in the sweep, or None."""
        with self._lock:
            entry = self._journal.get(sweep_id, {}).get(record_id)
        return entry.status if entry else None

    def put_entry(self, sweep_id: str, record_id: str, status: EntryStatus, payload: str,
                  at: _dt.datetime) -> None:
        """Record an outcome; a ``done`` entry is never overwritten."""
        with self._lock:
            entries = self._journal.setdefault(sweep_id, {})
            old = entries.get(record_id)
            if old is not None and old.status == "done":
                return
            entries[record_id] = JournalEntry(record_id, status, payload)

    def entries(self, sweep_id: str) -> Iterator[JournalEntry]:
        """Yield the sweep's entries in first-write order."""
        with self._lock:
            items = list(self._journal.get(sweep_id, {}).values())
        yield from items

    def close_sweep(self, sweep_id: str, at: _dt.datetime, certificate: str) -> bool:
        """Store the certificate; True the first time."""
        with self._lock:
            if sweep_id in self._sweeps:
                return False
            self._sweeps[sweep_id] = certificate
            return True

    def sweep_certificate(self, sweep_id: str) -> str | None:
        """Return the stored certificate JSON, or None."""
        with self._lock:
            return self._sweeps.get(sweep_id)

    def lock_sweep(self, sweep_id: str, owner: str, *, now: _dt.datetime,
                   until: _dt.datetime) -> bool:
        """Take or renew the sweep's lease; False if another owner holds a live one."""
        with self._lock:
            held = self._leases.get(sweep_id)
            if held is not None and held[0] != owner and held[1] > now:
                return False
            self._leases[sweep_id] = (owner, until)
            return True

    def unlock_sweep(self, sweep_id: str, owner: str) -> None:
        """Give up ``owner``'s lease on the sweep."""
        with self._lock:
            held = self._leases.get(sweep_id)
            if held is not None and held[0] == owner:
                del self._leases[sweep_id]


MIGRATIONS: list[Migration] = [
    # 1: holds with their scopes, the journal, and certified sweeps.
    """
    CREATE TABLE retention_holds (
        hold_id {text} PRIMARY KEY,
        matter {text} NOT NULL,
        reason {text} NOT NULL,
        placed_by {text} NOT NULL,
        placed_us {bigint} NOT NULL,
        reference {text} NOT NULL,
        released_us {bigint},
        released_by {text} NOT NULL,
        release_reason {text} NOT NULL
    );
    CREATE TABLE retention_hold_scopes (
        hold_id {text} NOT NULL REFERENCES retention_holds (hold_id),
        kind {text} NOT NULL,
        value {text} NOT NULL,
        PRIMARY KEY (hold_id, kind, value)
    );
    CREATE INDEX retention_hold_scopes_kv ON retention_hold_scopes (kind, value);
    CREATE TABLE retention_journal (
        sweep_id {text} NOT NULL,
        record_id {text} NOT NULL,
        seq {bigint} NOT NULL,
        status {text} NOT NULL,
        payload {text} NOT NULL,
        at_us {bigint} NOT NULL,
        PRIMARY KEY (sweep_id, record_id)
    );
    CREATE INDEX retention_journal_seq ON retention_journal (sweep_id, seq);
    CREATE TABLE retention_sweeps (
        sweep_id {text} PRIMARY KEY,
        closed_us {bigint} NOT NULL,
        certificate {text} NOT NULL
    )
    """,
    # 2: one executor per sweep at a time (leases).
    """
    CREATE TABLE retention_sweep_leases (
        sweep_id {text} PRIMARY KEY,
        owner {text} NOT NULL,
        expires_us {bigint} NOT NULL
    )
    """,
]

_SCOPES = (("subject", "subjects"), ("class", "record_classes"), ("record", "record_ids"))
_HOLD_COLUMNS = ("hold_id, matter, reason, placed_by, placed_us, reference, released_us, "
                 "released_by, release_reason")


class SqlRetentionStore:
    """Holds and journal on SQLite or PostgreSQL, through :class:`Database`."""

    page_size = 1000
    """Journal entries read per query by :meth:`entries`."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.migrate(COMPONENT, MIGRATIONS)

    @classmethod
    def open(cls, url: str) -> SqlRetentionStore:
        """Open (and migrate) the store at a ``sqlite:///…`` or ``postgresql://…`` URL."""
        return cls(open_database(url))

    def __repr__(self) -> str:
        return f"SqlRetentionStore({self._db!r})"

    # -- holds -----------------------------------------------------------------------
    def add_hold(self, hold: LegalHold) -> None:
        """Store a new hold; ConflictError if the id exists."""
        with self._db.transaction() as tx:
            if tx.fetchone("SELECT 1 FROM retention_holds WHERE hold_id = ?", (hold.id,)):
                raise ConflictError(f"legal hold {hold.id!r} already exists")
            tx.execute(
                f"INSERT INTO retention_holds ({_HOLD_COLUMNS}) "  # noqa: S608
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (hold.id, hold.matter.value, hold.reason, hold.placed_by,
                 _us(hold.placed_at), hold.reference,
                 _us(hold.released_at) if hold.released_at else None,
                 hold.released_by, hold.release_reason),
            )
            rows = [(hold.id, kind, value) for kind, attr in _SCOPES
                    for value in sorted(getattr(hold, attr))]
            tx.executemany(
                "INSERT INTO retention_hold_scopes (hold_id, kind, value) VALUES (?, ?, ?)",
                rows)

    def _load(self, tx: Tx, rows: list[Any]) -> list[LegalHold]:
        if not rows:
            return []
        ids = [r[0] for r in rows]
        scopes: dict[str, dict[str, set[str]]] = {i: {"subject": set(), "class": set(),
                                                      "record": set()} for i in ids}
        marks = ", ".join("?" for _ in ids)
        for hid, kind, value in tx.fetchall(
                "SELECT hold_id, kind, value FROM retention_hold_scopes "  # noqa: S608
                f"WHERE hold_id IN ({marks})", ids):
            scopes[hid][kind].add(value)
        out = []
        for r in rows:
            s = scopes[r[0]]
            out.append(LegalHold(
                id=r[0], matter=HoldMatter(r[1]), reason=r[2], placed_by=r[3],
                placed_at=_from_us(r[4]), reference=r[5],
                released_at=_from_us(r[6]) if r[6] is not None else None,
                released_by=r[7], release_reason=r[8],
                subjects=frozenset(s["subject"]), record_classes=frozenset(s["class"]),
                record_ids=frozenset(s["record"]),
            ))
        return out

    def get_hold(self, hold_id: str) -> LegalHold:
        """Return the hold; NotFoundError if absent."""
        with self._db.transaction(write=False) as tx:
            rows = tx.fetchall(
                f"SELECT {_HOLD_COLUMNS} FROM retention_holds WHERE hold_id = ?",  # noqa: S608
                (hold_id,))
            holds = self._load(tx, rows)
        if not holds:
            raise NotFoundError(f"no legal hold {hold_id!r}")
        return holds[0]

    def release_hold(self, hold_id: str, *, released_by: str, reason: str,
                     at: _dt.datetime) -> LegalHold:
        """Mark a hold released; NotFoundError if absent, ConflictError if released."""
        with self._db.transaction() as tx:
            row = tx.fetchone(
                "SELECT released_us FROM retention_holds WHERE hold_id = ?"  # noqa: S608
                + (" FOR UPDATE" if tx.dialect == "postgresql" else ""), (hold_id,))
            if row is None:
                raise NotFoundError(f"no legal hold {hold_id!r}")
            if row[0] is not None:
                raise ConflictError(f"legal hold {hold_id!r} is already released")
            tx.execute(
                "UPDATE retention_holds SET released_us = ?, released_by = ?, "
                "release_reason = ? WHERE hold_id = ?",
                (_us(at), released_by, reason, hold_id))
        return self.get_hold(hold_id)

    def list_holds(self, *, active_only: bool = True) -> list[LegalHold]:
        """List holds by placement time, then id."""
        where = " WHERE released_us IS NULL" if active_only else ""
        with self._db.transaction(write=False) as tx:
            rows = tx.fetchall(
                f"SELECT {_HOLD_COLUMNS} FROM retention_holds{where} "  # noqa: S608
                "ORDER BY placed_us, hold_id")
            return self._load(tx, rows)

    def holds_covering(self, *, record_id: str, subject: str,
                       record_class: str) -> list[LegalHold]:
        """Return the active holds covering this record id, subject or class."""
        with self._db.transaction(write=False) as tx:
            rows = tx.fetchall(
                f"SELECT {_HOLD_COLUMNS} FROM retention_holds h "  # noqa: S608
                "WHERE h.released_us IS NULL AND h.hold_id IN ("
                "SELECT hold_id FROM retention_hold_scopes WHERE "
                "(kind = 'record' AND value = ?) OR (kind = 'class' AND value = ?) "
                "OR (kind = 'subject' AND value = ? AND value <> '')) "
                "ORDER BY placed_us, hold_id",
                (record_id, record_class, subject))
            return self._load(tx, rows)

    # -- journal ---------------------------------------------------------------------
    def entry_status(self, sweep_id: str, record_id: str) -> EntryStatus | None:
        """Return the record's status in the sweep, or None."""
        with self._db.transaction(write=False) as tx:
            row = tx.fetchone(
                "SELECT status FROM retention_journal WHERE sweep_id = ? AND record_id = ?",
                (sweep_id, record_id))
        if row is None:
            return None
        return _status(row[0])

    def put_entry(self, sweep_id: str, record_id: str, status: EntryStatus, payload: str,
                  at: _dt.datetime) -> None:
        """Record an outcome; a ``done`` entry is never overwritten."""
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO retention_journal "
                "(sweep_id, record_id, seq, status, payload, at_us) VALUES (?, ?, "
                "(SELECT COALESCE(MAX(seq), 0) + 1 FROM retention_journal WHERE sweep_id = ?), "
                "?, ?, ?) ON CONFLICT (sweep_id, record_id) DO UPDATE SET "
                "status = excluded.status, payload = excluded.payload, at_us = excluded.at_us "
                "WHERE retention_journal.status <> 'done'",
                (sweep_id, record_id, sweep_id, status, payload, _us(at)))

    def entries(self, sweep_id: str) -> Iterator[JournalEntry]:
        """Yield the sweep's entries in first-write order, in pages."""
        last_seq, last_id = -1, ""
        while True:
            with self._db.transaction(write=False) as tx:
                rows = tx.fetchall(
                    "SELECT seq, record_id, status, payload FROM retention_journal "
                    "WHERE sweep_id = ? AND (seq > ? OR (seq = ? AND record_id > ?)) "
                    "ORDER BY seq, record_id LIMIT ?",
                    (sweep_id, last_seq, last_seq, last_id, self.page_size))
            for _seq, record_id, status, payload in rows:
                yield JournalEntry(record_id, _status(status), payload)
            if len(rows) < self.page_size:
                return
            last_seq, last_id = rows[-1][0], rows[-1][1]

    def close_sweep(self, sweep_id: str, at: _dt.datetime, certificate: str) -> bool:
        """Store the certificate; True the first time."""
        with self._db.transaction() as tx:
            row = tx.fetchone(
                "INSERT INTO retention_sweeps (sweep_id, closed_us, certificate) "
                "VALUES (?, ?, ?) ON CONFLICT (sweep_id) DO NOTHING RETURNING sweep_id",
                (sweep_id, _us(at), certificate))
        return row is not None

    def sweep_certificate(self, sweep_id: str) -> str | None:
        """Return the stored certificate JSON, or None."""
        with self._db.transaction(write=False) as tx:
            row = tx.fetchone("SELECT certificate FROM retention_sweeps WHERE sweep_id = ?",
                              (sweep_id,))
        return None if row is None else str(row[0])

    def lock_sweep(self, sweep_id: str, owner: str, *, now: _dt.datetime,
                   until: _dt.datetime) -> bool:
        """Take or renew the sweep's lease; False if another owner holds a live one."""
        with self._db.transaction() as tx:
            row = tx.fetchone(
                "SELECT owner, expires_us FROM retention_sweep_leases WHERE sweep_id = ?"  # noqa: S608
                + (" FOR UPDATE" if tx.dialect == "postgresql" else ""), (sweep_id,))
            if row is None:
                got = tx.fetchone(
                    "INSERT INTO retention_sweep_leases (sweep_id, owner, expires_us) "
                    "VALUES (?, ?, ?) ON CONFLICT (sweep_id) DO NOTHING RETURNING sweep_id",
                    (sweep_id, owner, _us(until)))
                return got is not None
            if row[0] != owner and int(row[1]) > _us(now):
                return False
            tx.execute("UPDATE retention_sweep_leases SET owner = ?, expires_us = ? "
                       "WHERE sweep_id = ?", (owner, _us(until), sweep_id))
            return True

    def unlock_sweep(self, sweep_id: str, owner: str) -> None:
        """Give up ``owner``'s lease on the sweep."""
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM retention_sweep_leases WHERE sweep_id = ? AND owner = ?",
                       (sweep_id, owner))


register_store(COMPONENT, "memory", lambda url: MemoryRetentionStore())
register_store(COMPONENT, "sqlite", SqlRetentionStore.open)
register_store(COMPONENT, "postgresql", SqlRetentionStore.open)


def _status(text: object) -> EntryStatus:
    """Read a journal status column (unknown text reads as ``excluded``, as before)."""
    if text == "done":
        return "done"
    if text == "started":
        return "started"
    return "excluded"
