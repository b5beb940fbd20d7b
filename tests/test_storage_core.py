from __future__ import annotations

import pytest

import finprivacy as fp
from finprivacy._stores import open_store, register_store, scheme_of
from finprivacy.storage import open_database

MIGRATIONS = [
    "CREATE TABLE t_items (id {autoid}, name {text} NOT NULL UNIQUE, payload {blob})",
    "ALTER TABLE t_items ADD COLUMN n {bigint} DEFAULT 0",
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def test_migrate_and_roundtrip(db_url: str) -> None:
    db = open_database(db_url)
    db.migrate("items", MIGRATIONS[:1])
    assert db.schema_version("items") == 1
    db._migrated.clear()
    db.migrate("items", MIGRATIONS)
    assert db.schema_version("items") == 2
    with db.transaction() as tx:
        tx.execute("INSERT INTO t_items (name, payload, n) VALUES (?, ?, ?)", ("a", b"\x00\xff", 7))
    with db.transaction(write=False) as tx:
        row = tx.fetchone("SELECT name, payload, n FROM t_items")
    assert (row[0], bytes(row[1]), row[2]) == ("a", b"\x00\xff", 7)


def test_newer_schema_refused(db_url: str) -> None:
    db = open_database(db_url)
    db.migrate("items", MIGRATIONS)
    db._migrated.clear()
    with pytest.raises(fp.SchemaError, match="newer"):
        db.migrate("items", MIGRATIONS[:1])


def test_rollback_keeps_data(db_url: str) -> None:
    db = open_database(db_url)
    db.migrate("items", MIGRATIONS)
    with db.transaction() as tx:
        tx.execute("INSERT INTO t_items (name) VALUES (?)", ("kept",))
    def insert_both() -> None:
        with db.transaction() as tx:
            tx.execute("INSERT INTO t_items (name) VALUES (?)", ("new",))
            tx.execute("INSERT INTO t_items (name) VALUES (?)", ("kept",))

    with pytest.raises(fp.ConflictError):
        insert_both()
    with db.transaction(write=False) as tx:
        names = sorted(r[0] for r in tx.fetchall("SELECT name FROM t_items"))
    assert names == ["kept"]


def test_bad_urls() -> None:
    with pytest.raises(fp.ConfigurationError):
        open_database("mysql://x")
    with pytest.raises(fp.ConfigurationError):
        scheme_of("")
    with pytest.raises(fp.ConfigurationError, match="no 'nothing' store"):
        open_store("nothing", "memory:")


def test_password_not_in_repr() -> None:
    db = open_database("postgresql://u:hunter2secret@127.0.0.1:1/db")
    assert "hunter2secret" not in repr(db)


def test_registry_roundtrip() -> None:
    register_store("unit-test-domain", "memory", lambda url: ("opened", url))
    assert open_store("unit-test-domain", "memory:") == ("opened", "memory:")
    assert scheme_of("postgres://x") == "postgresql"
