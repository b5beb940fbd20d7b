"""Delegation grants on SQLite or PostgreSQL: :class:`SqlGrantStore`.

The client's authorisations for a spouse, a lawyer or an accountant must outlive the
process, so production systems keep them in the database. Grants are small and change
rarely (granted, revoked); every change replaces the row, and the revocation time is
kept, so ``for_subject`` still shows revoked grants to the client and the auditor.
Lookups by (grantee, subject) use an index, never a scan.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from typing import Any

from .._stores import register_store
from ..access import DelegationGrant, MemoryGrantStore
from ..errors import ConflictError
from ._db import Database, Migration, open_database

__all__ = ["SqlGrantStore"]

MIGRATIONS: list[Migration] = [
    """
    CREATE TABLE access_grants (
        grant_id {text} PRIMARY KEY,
        subject {text} NOT NULL,
        grantee {text} NOT NULL,
        body {text} NOT NULL
    );
    CREATE INDEX access_grants_pair ON access_grants (grantee, subject);
    CREATE INDEX access_grants_subject ON access_grants (subject)
    """,
]


def _iso(value: _dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _body(grant: DelegationGrant) -> str:
    return json.dumps({
        "scopes": sorted(str(s) for s in grant.scopes),
        "fields": sorted(grant.fields),
        "valid_from": _iso(grant.valid_from),
        "valid_until": _iso(grant.valid_until),
        "revoked_at": _iso(grant.revoked_at),
        "relationship": grant.relationship,
    }, sort_keys=True, ensure_ascii=False)


def _grant(row: Sequence[Any]) -> DelegationGrant:
    body = json.loads(row[3])

    def when(key: str) -> _dt.datetime | None:
        value = body.get(key)
        return _dt.datetime.fromisoformat(value) if value else None

    valid_from = when("valid_from")
    assert valid_from is not None  # noqa: S101 - written by _body, always present
    return DelegationGrant(id=str(row[0]), subject=str(row[1]), grantee=str(row[2]),
                           scopes=frozenset(body["scopes"]), valid_from=valid_from,
                           valid_until=when("valid_until"), fields=frozenset(body["fields"]),
                           relationship=str(body.get("relationship", "")),
                           revoked_at=when("revoked_at"))


class SqlGrantStore:
    """A :class:`finprivacy.access.GrantStore` in a SQLite or PostgreSQL database.

    >>> # control = fp.AccessControl(policy, inventory, grants=SqlGrantStore("sqlite:///app.db"))
    """

    def __init__(self, db: Database | str) -> None:
        self._db = open_database(db) if isinstance(db, str) else db
        self._db.migrate("access_grants", MIGRATIONS)

    def __repr__(self) -> str:
        return f"SqlGrantStore({self._db!r})"

    def put(self, grant: DelegationGrant) -> None:
        """Insert ``grant`` or replace the stored grant with the same id (same pair only)."""
        with self._db.transaction() as tx:
            row = tx.fetchone("SELECT subject, grantee FROM access_grants WHERE grant_id = ?",
                              (grant.id,))
            if row is None:
                tx.execute("INSERT INTO access_grants (grant_id, subject, grantee, body) "
                           "VALUES (?, ?, ?, ?)",
                           (grant.id, grant.subject, grant.grantee, _body(grant)))
                return
            if (row[0], row[1]) != (grant.subject, grant.grantee):
                raise ConflictError(f"grant {grant.id!r} already exists for another pair")
            tx.execute("UPDATE access_grants SET body = ? WHERE grant_id = ?",
                       (_body(grant), grant.id))

    def get(self, grant_id: str) -> DelegationGrant | None:
        """Return the grant with ``grant_id``, or ``None``."""
        with self._db.transaction(write=False) as tx:
            row = tx.fetchone("SELECT grant_id, subject, grantee, body FROM access_grants "
                              "WHERE grant_id = ?", (grant_id,))
        return _grant(row) if row is not None else None

    def find(self, grantee: str, subject: str) -> Sequence[DelegationGrant]:
        """Return every grant (any status) from ``subject`` to ``grantee``."""
        with self._db.transaction(write=False) as tx:
            rows = tx.fetchall("SELECT grant_id, subject, grantee, body FROM access_grants "
                               "WHERE grantee = ? AND subject = ? ORDER BY grant_id",
                               (grantee, subject))
        return tuple(_grant(r) for r in rows)

    def for_subject(self, subject: str) -> Sequence[DelegationGrant]:
        """Return every grant ``subject`` has given."""
        with self._db.transaction(write=False) as tx:
            rows = tx.fetchall("SELECT grant_id, subject, grantee, body FROM access_grants "
                               "WHERE subject = ? ORDER BY grant_id", (subject,))
        return tuple(_grant(r) for r in rows)


register_store("access_grants", "memory", lambda url: MemoryGrantStore())
register_store("access_grants", "sqlite", lambda url: SqlGrantStore(url))
register_store("access_grants", "postgresql", lambda url: SqlGrantStore(url))
