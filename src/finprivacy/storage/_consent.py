"""Consent stores: in memory, and on SQL (SQLite or PostgreSQL) through :class:`Database`.

Registered under the ``"consent"`` domain for the ``memory``, ``sqlite`` and
``postgresql`` URL schemes. Appends take a per-subject lock (the subject's row in
``consent_heads``; on SQLite the whole database through ``BEGIN IMMEDIATE``) so that
writers in several processes extend each hash chain one after another.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import threading
from collections.abc import Sequence
from typing import Any

from .._stores import register_store
from ..consent import (
    GENESIS_HASH,
    Actor,
    ConsentEvent,
    Evidence,
    NoticeVersion,
    Purpose,
)
from ..consent._model import from_micros, to_micros
from ..errors import (
    ConflictError,
    ConsentIntegrityError,
    InvalidInputError,
    StoreError,
)
from ._db import Database, Migration, Tx, open_database

__all__ = ["MemoryConsentStore", "SqlConsentStore"]

COMPONENT = "consent"

MIGRATIONS: list[Migration] = [
    # 1: purposes, immutable notice versions, per-subject chain heads, events.
    """
    CREATE TABLE consent_purposes (
        purpose_key {text} PRIMARY KEY,
        body {text} NOT NULL
    );
    CREATE TABLE consent_notices (
        notice_id {text} NOT NULL,
        version {bigint} NOT NULL,
        body {text} NOT NULL,
        PRIMARY KEY (notice_id, version)
    );
    CREATE TABLE consent_heads (
        subject {text} PRIMARY KEY,
        seq {bigint} NOT NULL,
        hash {text} NOT NULL
    );
    CREATE TABLE consent_events (
        id {autoid},
        subject {text} NOT NULL,
        seq {bigint} NOT NULL,
        event_id {text} NOT NULL UNIQUE,
        purpose {text} NOT NULL,
        kind {text} NOT NULL,
        time_us {bigint} NOT NULL,
        actor_kind {text} NOT NULL,
        actor_id {text} NOT NULL,
        method {text} NOT NULL,
        is_separate {bigint} NOT NULL,
        subject_age {bigint},
        notice_id {text} NOT NULL,
        notice_version {bigint} NOT NULL,
        expires_us {bigint},
        channel {text} NOT NULL,
        ip_network {text} NOT NULL,
        user_agent {text} NOT NULL,
        notice_sha256 {text} NOT NULL,
        receipt_id {text} NOT NULL,
        reason_code {text} NOT NULL,
        prev_hash {text} NOT NULL,
        hash {text} NOT NULL,
        UNIQUE (subject, seq)
    );
    CREATE INDEX consent_events_pair ON consent_events (subject, purpose, seq);
    CREATE INDEX consent_events_receipt ON consent_events (receipt_id)
    """,
    # 2: anchors: the heads of every chain as of a moment, whose digest the audit log signs.
    """
    CREATE TABLE consent_anchor_heads (
        anchor_id {text} NOT NULL,
        subject {text} NOT NULL,
        seq {bigint} NOT NULL,
        hash {text} NOT NULL,
        PRIMARY KEY (anchor_id, subject)
    )
    """,
]

_COLUMNS = ("subject, seq, event_id, purpose, kind, time_us, actor_kind, actor_id, method, "
            "is_separate, subject_age, notice_id, notice_version, expires_us, channel, "
            "ip_network, user_agent, notice_sha256, receipt_id, reason_code, prev_hash, hash")
_INSERT = (f"INSERT INTO consent_events ({_COLUMNS}) VALUES "  # noqa: S608
           f"({', '.join('?' for _ in _COLUMNS.split(','))})")


# -- (de)serialisation shared by the stores ------------------------------------------
def _purpose_json(p: Purpose) -> str:
    return json.dumps({
        "key": p.key, "description": p.description, "legal_basis": p.legal_basis,
        "sensitive": p.sensitive, "requires_separate_consent": p.requires_separate_consent,
        "data_categories": list(p.data_categories), "recipients": list(p.recipients),
        "valid_for_us": None if p.valid_for is None else p.valid_for // _dt.timedelta(
            microseconds=1),
        "valid_months": p.valid_months,
    }, ensure_ascii=False, sort_keys=True)


def _purpose_from(body: str) -> Purpose:
    try:
        d = json.loads(body)
        return Purpose(
            key=d["key"], description=d["description"], legal_basis=d["legal_basis"],
            sensitive=d["sensitive"], requires_separate_consent=d["requires_separate_consent"],
            data_categories=tuple(d["data_categories"]), recipients=tuple(d["recipients"]),
            valid_for=None if d["valid_for_us"] is None else _dt.timedelta(
                microseconds=d["valid_for_us"]),
            valid_months=d["valid_months"])
    except (ValueError, KeyError, TypeError, InvalidInputError):
        raise StoreError("a stored consent purpose is corrupt") from None


def _notice_json(n: NoticeVersion) -> str:
    return json.dumps({
        "notice_id": n.notice_id, "version": n.version, "text_sha256": n.text_sha256,
        "change": n.change, "effective_from_us": to_micros(n.effective_from),
        "purposes": list(n.purposes), "affects": list(n.affects), "language": n.language,
    }, ensure_ascii=False, sort_keys=True)


def _notice_from(body: str) -> NoticeVersion:
    try:
        d = json.loads(body)
        return NoticeVersion(
            notice_id=d["notice_id"], version=d["version"], text_sha256=d["text_sha256"],
            change=d["change"], effective_from=from_micros(d["effective_from_us"]),
            purposes=tuple(d["purposes"]), affects=tuple(d["affects"]),
            language=d["language"])
    except (ValueError, KeyError, TypeError, InvalidInputError):
        raise StoreError("a stored consent notice version is corrupt") from None


def _row(e: ConsentEvent) -> tuple[Any, ...]:
    return (e.subject, e.seq, e.event_id, e.purpose, e.kind, to_micros(e.time), e.actor.kind,
            e.actor.id, e.method, int(e.separate), e.subject_age, e.notice_id,
            e.notice_version, None if e.expires_at is None else to_micros(e.expires_at),
            e.evidence.channel, e.evidence.ip, e.evidence.user_agent,
            e.evidence.notice_sha256, e.receipt_id, e.reason_code, e.prev_hash, e.hash)


def _event_from(r: Sequence[Any]) -> ConsentEvent:
    try:
        if r[9] not in (0, 1):
            raise InvalidInputError("is_separate must be 0 or 1")
        return ConsentEvent(
            subject=r[0], seq=int(r[1]), event_id=r[2], purpose=r[3], kind=r[4],
            time=from_micros(r[5]), actor=Actor(r[6], r[7]), method=r[8],
            separate=bool(r[9]), subject_age=None if r[10] is None else int(r[10]),
            notice_id=r[11], notice_version=int(r[12]),
            expires_at=None if r[13] is None else from_micros(r[13]),
            evidence=_stored_evidence(r[14], r[15], r[16], r[17]), receipt_id=r[18],
            reason_code=r[19], prev_hash=r[20], hash=r[21])
    except (InvalidInputError, TypeError, ValueError, OverflowError):
        raise ConsentIntegrityError(
            f"consent event {r[1]!r} of subject {r[0]!r} is corrupt and cannot be read",
            position=r[1] if isinstance(r[1], int) else None,
            subject=r[0] if isinstance(r[0], str) else "") from None


def _stored_evidence(channel: str, ip: str, user_agent: str, sha: str) -> Evidence:
    evidence = Evidence(channel=channel, ip=ip, user_agent=user_agent, notice_sha256=sha)
    if evidence.ip != ip or evidence.user_agent != user_agent:
        # Keep what is stored, byte for byte, so the chain hash can judge it.
        object.__setattr__(evidence, "ip", ip)
        object.__setattr__(evidence, "user_agent", user_agent)
    return evidence


def _check_drafts(events: Sequence[ConsentEvent]) -> list[ConsentEvent]:
    drafts = list(events)
    for e in drafts:
        if not isinstance(e, ConsentEvent):
            raise InvalidInputError("append takes ConsentEvent objects")
    ids = [e.event_id for e in drafts]
    if len(set(ids)) != len(ids):
        raise ConflictError("duplicate event_id in one append")
    return drafts


# -- memory ------------------------------------------------------------------------------
class MemoryConsentStore:
    """A consent store in this process's memory (tests, demos, short-lived tools).

    Thread-safe; forgotten when the object is. ``"memory:"`` opens a new, empty one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._purposes: dict[str, Purpose] = {}
        self._notices: dict[str, list[NoticeVersion]] = {}
        self._events: dict[str, list[ConsentEvent]] = {}
        self._ids: set[str] = set()
        self._receipts: dict[str, list[ConsentEvent]] = {}
        self._anchors: dict[str, list[tuple[str, int, str]]] = {}
        self._count = 0

    def __repr__(self) -> str:
        return f"MemoryConsentStore(events={self._count})"

    def put_purpose(self, purpose: Purpose) -> None:
        """Create or replace a purpose."""
        if not isinstance(purpose, Purpose):
            raise InvalidInputError("put_purpose takes a Purpose")
        with self._lock:
            self._purposes[purpose.key] = purpose

    def purposes(self) -> dict[str, Purpose]:
        """Return every purpose by key."""
        with self._lock:
            return dict(self._purposes)

    def add_notice(self, notice: NoticeVersion) -> None:
        """Add an immutable notice version."""
        if not isinstance(notice, NoticeVersion):
            raise InvalidInputError("add_notice takes a NoticeVersion")
        with self._lock:
            versions = self._notices.setdefault(notice.notice_id, [])
            if any(v.version == notice.version for v in versions):
                raise ConflictError(f"notice {notice.ref} already exists")
            versions.append(notice)
            versions.sort(key=lambda v: v.version)

    def notice_versions(self, notice_id: str) -> list[NoticeVersion]:
        """Return the versions of a notice, oldest first."""
        with self._lock:
            return list(self._notices.get(notice_id, ()))

    def notice_ids(self) -> list[str]:
        """Return all notice ids."""
        with self._lock:
            return sorted(self._notices)

    def append(self, events: Sequence[ConsentEvent]) -> list[ConsentEvent]:
        """Append atomically, sealing each event onto its subject's chain."""
        drafts = _check_drafts(events)
        with self._lock:
            if any(e.event_id in self._ids for e in drafts):
                raise ConflictError("an event_id is already stored")
            heads: dict[str, tuple[int, str]] = {}
            sealed = []
            for e in drafts:
                chain = self._events.get(e.subject, [])
                seq, prev = heads.get(e.subject, (len(chain), chain[-1].hash if chain
                                                  else GENESIS_HASH))
                done = e.sealed(seq + 1, prev)
                heads[e.subject] = (seq + 1, done.hash)
                sealed.append(done)
            for e in sealed:
                self._events.setdefault(e.subject, []).append(e)
                self._ids.add(e.event_id)
                if e.receipt_id:
                    self._receipts.setdefault(e.receipt_id, []).append(e)
            self._count += len(sealed)
            return sealed

    def events(self, subject: str, purpose: str | None = None) -> list[ConsentEvent]:
        """Return the subject's events in chain order."""
        with self._lock:
            chain = self._events.get(subject, ())
            if purpose is None:
                return list(chain)
            return [e for e in chain if e.purpose == purpose]

    def events_by_receipt(self, receipt_id: str) -> list[ConsentEvent]:
        """Return the events carrying ``receipt_id``."""
        with self._lock:
            return list(self._receipts.get(receipt_id, ()))

    def head(self, subject: str) -> tuple[int, str]:
        """Return the subject's last seq and hash."""
        with self._lock:
            chain = self._events.get(subject)
            return (len(chain), chain[-1].hash) if chain else (0, GENESIS_HASH)

    def subjects(self, after: str = "", limit: int = 1000) -> list[str]:
        """Return up to ``limit`` subject ids greater than ``after``, sorted."""
        with self._lock:
            return sorted(s for s in self._events if s > after)[:max(0, limit)]

    def count(self) -> int:
        """Return the number of events."""
        with self._lock:
            return self._count

    def heads(self) -> list[tuple[str, int, str]]:
        """Return every subject's ``(subject, seq, hash)`` head, sorted by subject."""
        with self._lock:
            return sorted((s, len(c), c[-1].hash) for s, c in self._events.items() if c)

    def put_anchor(self, anchor_id: str, heads: Sequence[tuple[str, int, str]]) -> None:
        """Store the heads recorded by an anchor (once per id)."""
        with self._lock:
            if anchor_id in self._anchors:
                raise ConflictError(f"anchor {anchor_id} already exists")
            self._anchors[anchor_id] = sorted(heads)

    def anchor_heads(self, anchor_id: str) -> list[tuple[str, int, str]]:
        """Return the heads an anchor recorded, sorted by subject (empty if none)."""
        with self._lock:
            return list(self._anchors.get(anchor_id, ()))

    def close(self) -> None:
        """Nothing to release."""

    # test seam: edit a stored event in place, as an attacker with memory access could
    def _tamper(self, subject: str, seq: int, /, **changes: Any) -> None:
        with self._lock:
            chain = self._events[subject]
            chain[seq - 1] = dataclasses.replace(chain[seq - 1], **changes)


# -- SQL ---------------------------------------------------------------------------------
class SqlConsentStore:
    """A consent store in a SQLite file or a PostgreSQL database.

    Open it with a URL (``SqlConsentStore.open("sqlite:///consent.db")``) or through
    ``ConsentLedger("postgresql://…")``. The schema is created and migrated on open
    (component ``consent`` in ``finprivacy_schema``).
    """

    def __init__(self, db: Database) -> None:
        if not isinstance(db, Database):
            raise InvalidInputError("SqlConsentStore needs a Database")
        self._db = db
        db.migrate(COMPONENT, MIGRATIONS)

    @classmethod
    def open(cls, url: str) -> SqlConsentStore:
        """Open (creating and migrating if needed) the consent store at ``url``."""
        return cls(open_database(url))

    @property
    def database(self) -> Database:
        """Return the underlying :class:`Database`."""
        return self._db

    def __repr__(self) -> str:
        return f"SqlConsentStore({self._db!r})"

    def put_purpose(self, purpose: Purpose) -> None:
        """Create or replace a purpose."""
        if not isinstance(purpose, Purpose):
            raise InvalidInputError("put_purpose takes a Purpose")
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO consent_purposes (purpose_key, body) VALUES (?, ?) "
                "ON CONFLICT (purpose_key) DO UPDATE SET body = excluded.body",
                (purpose.key, _purpose_json(purpose)))

    def purposes(self) -> dict[str, Purpose]:
        """Return every purpose by key."""
        rows = self._db.fetchall("SELECT body FROM consent_purposes ORDER BY purpose_key")
        found = [_purpose_from(r[0]) for r in rows]
        return {p.key: p for p in found}

    def add_notice(self, notice: NoticeVersion) -> None:
        """Add an immutable notice version (ConflictError if it exists)."""
        if not isinstance(notice, NoticeVersion):
            raise InvalidInputError("add_notice takes a NoticeVersion")
        with self._db.transaction() as tx:
            tx.execute("INSERT INTO consent_notices (notice_id, version, body) VALUES (?, ?, ?)",
                       (notice.notice_id, notice.version, _notice_json(notice)))

    def notice_versions(self, notice_id: str) -> list[NoticeVersion]:
        """Return the versions of a notice, oldest first."""
        rows = self._db.fetchall("SELECT body FROM consent_notices WHERE notice_id = ? "
                                 "ORDER BY version", (notice_id,))
        return [_notice_from(r[0]) for r in rows]

    def notice_ids(self) -> list[str]:
        """Return all notice ids."""
        rows = self._db.fetchall("SELECT DISTINCT notice_id FROM consent_notices "
                                 "ORDER BY notice_id")
        return [r[0] for r in rows]

    def append(self, events: Sequence[ConsentEvent]) -> list[ConsentEvent]:
        """Append atomically under per-subject locks, sealing each event onto its chain."""
        drafts = _check_drafts(events)
        if not drafts:
            return []
        subjects = sorted({e.subject for e in drafts})
        with self._db.transaction() as tx:
            heads = self._lock_heads(tx, subjects)
            sealed = []
            for e in drafts:
                seq, prev = heads[e.subject]
                done = e.sealed(seq + 1, prev)
                heads[e.subject] = (seq + 1, done.hash)
                sealed.append(done)
            tx.executemany(_INSERT, [_row(e) for e in sealed])
            tx.executemany("UPDATE consent_heads SET seq = ?, hash = ? WHERE subject = ?",
                           [(heads[s][0], heads[s][1], s) for s in subjects])
        return sealed

    def _lock_heads(self, tx: Tx, subjects: list[str]) -> dict[str, tuple[int, str]]:
        # Sorted order everywhere, so concurrent PostgreSQL writers never deadlock.
        tx.executemany("INSERT INTO consent_heads (subject, seq, hash) VALUES (?, 0, ?) "
                       "ON CONFLICT (subject) DO NOTHING",
                       [(s, GENESIS_HASH) for s in subjects])
        heads: dict[str, tuple[int, str]] = {}
        step = 500
        for i in range(0, len(subjects), step):
            chunk = subjects[i:i + step]
            if tx.dialect == "postgresql":
                rows = tx.fetchall("SELECT subject, seq, hash FROM consent_heads "
                                   "WHERE subject = ANY(?) ORDER BY subject FOR UPDATE",
                                   (chunk,))
            else:
                marks = ", ".join("?" for _ in chunk)
                query = ("SELECT subject, seq, hash FROM consent_heads "  # noqa: S608
                         f"WHERE subject IN ({marks})")
                rows = tx.fetchall(query, chunk)
            for subject, seq, digest in rows:
                heads[subject] = (int(seq), digest)
        if len(heads) != len(subjects):  # pragma: no cover - defensive
            raise StoreError("consent chain heads could not be locked")
        return heads

    def events(self, subject: str, purpose: str | None = None) -> list[ConsentEvent]:
        """Return the subject's events in chain order."""
        # One statement, one round trip, one consistent snapshot.
        if purpose is None:
            rows = self._db.fetchall(f"SELECT {_COLUMNS} FROM consent_events "  # noqa: S608
                                     "WHERE subject = ? ORDER BY seq", (subject,))
        else:
            rows = self._db.fetchall(f"SELECT {_COLUMNS} FROM consent_events "  # noqa: S608
                                     "WHERE subject = ? AND purpose = ? ORDER BY seq",
                                     (subject, purpose))
        return [_event_from(r) for r in rows]

    def events_by_receipt(self, receipt_id: str) -> list[ConsentEvent]:
        """Return the events carrying ``receipt_id``."""
        rows = self._db.fetchall(f"SELECT {_COLUMNS} FROM consent_events "  # noqa: S608
                                 "WHERE receipt_id = ? ORDER BY subject, seq", (receipt_id,))
        return [_event_from(r) for r in rows]

    def head(self, subject: str) -> tuple[int, str]:
        """Return the subject's recorded head."""
        rows = self._db.fetchall("SELECT seq, hash FROM consent_heads WHERE subject = ?",
                                 (subject,))
        return (int(rows[0][0]), rows[0][1]) if rows else (0, GENESIS_HASH)

    def subjects(self, after: str = "", limit: int = 1000) -> list[str]:
        """Return up to ``limit`` subject ids greater than ``after``, sorted."""
        rows = self._db.fetchall("SELECT subject FROM consent_heads WHERE subject > ? "
                                 "ORDER BY subject LIMIT ?", (after, max(0, int(limit))))
        return [r[0] for r in rows]

    def count(self) -> int:
        """Return the number of events."""
        return int(self._db.fetchall("SELECT COUNT(*) FROM consent_events")[0][0])

    def heads(self) -> list[tuple[str, int, str]]:
        """Return every subject's ``(subject, seq, hash)`` head, sorted by subject."""
        rows = self._db.fetchall("SELECT subject, seq, hash FROM consent_heads ORDER BY subject")
        return [(str(r[0]), int(r[1]), str(r[2])) for r in rows]

    def put_anchor(self, anchor_id: str, heads: Sequence[tuple[str, int, str]]) -> None:
        """Store the heads recorded by an anchor, in one transaction."""
        with self._db.transaction() as tx:
            if tx.fetchone("SELECT 1 FROM consent_anchor_heads WHERE anchor_id = ?",
                           (anchor_id,)):
                raise ConflictError(f"anchor {anchor_id} already exists")
            tx.executemany("INSERT INTO consent_anchor_heads (anchor_id, subject, seq, hash) "
                           "VALUES (?, ?, ?, ?)", [(anchor_id, *h) for h in heads])

    def anchor_heads(self, anchor_id: str) -> list[tuple[str, int, str]]:
        """Return the heads an anchor recorded, sorted by subject (empty if none)."""
        rows = self._db.fetchall("SELECT subject, seq, hash FROM consent_anchor_heads "
                                 "WHERE anchor_id = ? ORDER BY subject", (anchor_id,))
        return [(str(r[0]), int(r[1]), str(r[2])) for r in rows]

    def schema_version(self) -> int:
        """Return the stored schema version of the consent tables."""
        return self._db.schema_version(COMPONENT)

    def close(self) -> None:
        """Close this process's connections to the database."""
        self._db.close()


register_store(COMPONENT, "memory", lambda url: MemoryConsentStore())
register_store(COMPONENT, "sqlite", SqlConsentStore.open)
register_store(COMPONENT, "postgresql", SqlConsentStore.open)
