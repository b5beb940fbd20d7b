"""Subject-key stores (crypto-shredding): in memory, and on SQL through :class:`Database`.

Registered under the ``"subject_keys"`` domain for the ``memory``, ``sqlite`` and
``postgresql`` URL schemes. One row per subject holds the wrapped data key; shredding
sets it to NULL and records when and why in the same row, in one statement, so the
cost does not depend on how many tokens the subject has.

On SQLite the shred runs with ``PRAGMA secure_delete = ON`` (the freed bytes of the
old row are overwritten with zeros) and checkpoints the write-ahead log afterwards, so
the wrapped key does not linger in the database files. On PostgreSQL the old row
version stays on disk until ``VACUUM`` reclaims it; run ``VACUUM
finprivacy_subject_keys`` after shredding if that matters to you. Either way the
wrapped key is encrypted under the keyring, and database backups still hold it: see
``docs/howto/shredding.md``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import threading
from collections.abc import Sequence
from typing import Any, Final

from .._stores import register_store
from ..clock import utc
from ..crypto._subject_keys import (
    SubjectKeyRecord,
    SubjectTombstone,
    check_key_ref,
    record_or_tombstone,
)
from ..errors import ConflictError, InvalidInputError, NotFoundError
from ._db import Database, Migration, open_database

__all__ = ["MemorySubjectKeyStore", "SqlSubjectKeyStore"]

COMPONENT: Final = "subject_keys"
_EPOCH: Final = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)

MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE finprivacy_subject_keys (
        key_ref {text} PRIMARY KEY,
        subject {text} NOT NULL UNIQUE,
        wrapped_key {text},
        created_us {bigint} NOT NULL,
        shredded_us {bigint},
        reason {text},
        CHECK ((wrapped_key IS NULL) = (shredded_us IS NOT NULL))
    )
    """,
]

_SELECT: Final = ("SELECT key_ref, subject, wrapped_key, created_us, shredded_us, reason "
                  "FROM finprivacy_subject_keys ")


def _micros(moment: _dt.datetime) -> int:
    delta = utc(moment, "time") - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _moment(micros: int) -> _dt.datetime:
    return _EPOCH + _dt.timedelta(microseconds=int(micros))


def _from_row(row: Sequence[Any]) -> SubjectKeyRecord | SubjectTombstone:
    return record_or_tombstone(
        str(row[0]), str(row[1]), None if row[2] is None else str(row[2]),
        _moment(row[3]), None if row[4] is None else _moment(row[4]),
        None if row[5] is None else str(row[5]),
    )


def _check_record(record: SubjectKeyRecord) -> None:
    if not isinstance(record, SubjectKeyRecord):
        raise InvalidInputError("create() takes a SubjectKeyRecord")
    check_key_ref(record.key_ref)


class MemorySubjectKeyStore:
    """Subject keys in a dict: for tests and single-process tools. Thread-safe."""

    def __init__(self) -> None:
        self._by_ref: dict[str, SubjectKeyRecord | SubjectTombstone] = {}
        self._by_subject: dict[str, str] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MemorySubjectKeyStore({len(self._by_ref)} subjects)"

    def get(self, key_ref: str) -> SubjectKeyRecord | SubjectTombstone | None:
        """Return the record or tombstone with ``key_ref``, or ``None``."""
        return self._by_ref.get(key_ref)

    def for_subject(self, subject: str) -> SubjectKeyRecord | SubjectTombstone | None:
        """Return the subject's record or tombstone, or ``None``."""
        with self._lock:
            ref = self._by_subject.get(subject)
            return None if ref is None else self._by_ref[ref]

    def create(self, record: SubjectKeyRecord) -> SubjectKeyRecord | SubjectTombstone:
        """Insert ``record`` unless the subject already has one; return what is stored."""
        _check_record(record)
        with self._lock:
            ref = self._by_subject.get(record.subject)
            if ref is not None:
                return self._by_ref[ref]
            if record.key_ref in self._by_ref:
                raise ConflictError(f"subject key {record.key_ref!r} already exists")
            self._by_ref[record.key_ref] = record
            self._by_subject[record.subject] = record.key_ref
            return record

    def shred(self, subject: str, *, reason: str, at: _dt.datetime) -> SubjectTombstone:
        """Drop the subject's wrapped key and keep a tombstone; idempotent."""
        with self._lock:
            ref = self._by_subject.get(subject)
            if ref is None:
                raise NotFoundError(f"no subject key for subject {subject!r}")
            current = self._by_ref[ref]
            if isinstance(current, SubjectTombstone):
                return current
            tomb = SubjectTombstone(ref, subject, current.created_at, utc(at, "at"), reason)
            self._by_ref[ref] = tomb
            return tomb

    def live_records(self, *, after: str | None = None,
                     limit: int = 1000) -> list[SubjectKeyRecord]:
        """Return up to ``limit`` live records with ``key_ref > after``, by ``key_ref``."""
        with self._lock:
            live = sorted((v for r, v in self._by_ref.items()
                           if isinstance(v, SubjectKeyRecord) and (after is None or r > after)),
                          key=lambda v: v.key_ref)
            return live[:limit]

    def replace_wrapped(self, key_ref: str, old: str, new: str) -> bool:
        """Swap the wrapped key if it still equals ``old``."""
        with self._lock:
            current = self._by_ref.get(key_ref)
            if not isinstance(current, SubjectKeyRecord) or current.wrapped_key != old:
                return False
            self._by_ref[key_ref] = SubjectKeyRecord(current.key_ref, current.subject, new,
                                                     current.created_at)
            return True


class SqlSubjectKeyStore:
    """Subject keys in SQLite or PostgreSQL (table ``finprivacy_subject_keys``)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.migrate(COMPONENT, MIGRATIONS)

    @classmethod
    def open(cls, url: str) -> SqlSubjectKeyStore:
        """Open (creating and migrating if needed) the subject-key store at ``url``."""
        return cls(open_database(url))

    @property
    def database(self) -> Database:
        """Return the underlying :class:`Database`."""
        return self._db

    def __repr__(self) -> str:
        return f"SqlSubjectKeyStore({self._db!r})"

    def get(self, key_ref: str) -> SubjectKeyRecord | SubjectTombstone | None:
        """Return the record or tombstone with ``key_ref``, or ``None``."""
        with self._db.transaction(write=False) as tx:
            row = tx.fetchone(_SELECT + "WHERE key_ref = ?", (key_ref,))
        return None if row is None else _from_row(row)

    def for_subject(self, subject: str) -> SubjectKeyRecord | SubjectTombstone | None:
        """Return the subject's record or tombstone, or ``None``."""
        with self._db.transaction(write=False) as tx:
            row = tx.fetchone(_SELECT + "WHERE subject = ?", (subject,))
        return None if row is None else _from_row(row)

    def create(self, record: SubjectKeyRecord) -> SubjectKeyRecord | SubjectTombstone:
        """Insert ``record`` unless the subject already has one; return what is stored."""
        _check_record(record)
        with contextlib.suppress(ConflictError), self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO finprivacy_subject_keys (key_ref, subject, wrapped_key, "
                "created_us) VALUES (?, ?, ?, ?)",
                (record.key_ref, record.subject, record.wrapped_key,
                 _micros(record.created_at)),
            )
            return record
        # Another writer created the subject's key first: use theirs.
        found = self.for_subject(record.subject)
        if found is None:
            raise ConflictError(f"subject key {record.key_ref!r} could not be created")
        return found

    def shred(self, subject: str, *, reason: str, at: _dt.datetime) -> SubjectTombstone:
        """Set the subject's wrapped key to NULL and record when and why; idempotent."""
        when = _micros(at)
        sqlite = self._db.dialect == "sqlite"
        with self._db.transaction() as tx:
            if sqlite:
                tx.execute("PRAGMA secure_delete = ON")
            tx.execute(
                "UPDATE finprivacy_subject_keys SET wrapped_key = NULL, shredded_us = ?, "
                "reason = ? WHERE subject = ? AND wrapped_key IS NOT NULL",
                (when, reason, subject),
            )
            row = tx.fetchone(_SELECT + "WHERE subject = ?", (subject,))
        if row is None:
            raise NotFoundError(f"no subject key for subject {subject!r}")
        if sqlite:
            # Move the pages out of the write-ahead log so the old row is not left there.
            with contextlib.suppress(Exception):
                self._db._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        found = _from_row(row)
        if not isinstance(found, SubjectTombstone):  # pragma: no cover - CHECK forbids
            raise ConflictError(f"subject key of {subject!r} was not shredded")
        return found

    def live_records(self, *, after: str | None = None,
                     limit: int = 1000) -> list[SubjectKeyRecord]:
        """Return up to ``limit`` live records with ``key_ref > after``, by ``key_ref``."""
        with self._db.transaction(write=False) as tx:
            rows = tx.fetchall(
                _SELECT + "WHERE wrapped_key IS NOT NULL AND key_ref > ? "
                "ORDER BY key_ref LIMIT ?",
                (after or "", int(limit)),
            )
        return [r for r in map(_from_row, rows) if isinstance(r, SubjectKeyRecord)]

    def replace_wrapped(self, key_ref: str, old: str, new: str) -> bool:
        """Swap the wrapped key if it still equals ``old`` (compare-and-set)."""
        with self._db.transaction() as tx:
            tx.execute("UPDATE finprivacy_subject_keys SET wrapped_key = ? "
                       "WHERE key_ref = ? AND wrapped_key = ?", (new, key_ref, old))
            row = tx.fetchone("SELECT wrapped_key FROM finprivacy_subject_keys "
                              "WHERE key_ref = ?", (key_ref,))
        return row is not None and row[0] == new


register_store(COMPONENT, "memory", lambda url: MemorySubjectKeyStore())
register_store(COMPONENT, "sqlite", SqlSubjectKeyStore.open)
register_store(COMPONENT, "postgresql", SqlSubjectKeyStore.open)
