"""The ConsentStore contract, run against every backend (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

import finprivacy as fp
from finprivacy._stores import open_store
from finprivacy.consent import (
    GENESIS_HASH,
    Actor,
    ConsentEvent,
    ConsentStore,
    Evidence,
    NoticeVersion,
    Purpose,
    notice_sha256,
)
from finprivacy.storage import SqlConsentStore, open_database
from finprivacy.storage._consent import MIGRATIONS

T0 = dt.datetime(2025, 3, 1, 10, 0, 0, 654321, tzinfo=dt.UTC)


def draft(subject: str = "c1", purpose: str = "marketing", **kw: Any) -> ConsentEvent:
    fields: dict[str, Any] = {"event_id": str(uuid.uuid4()), "subject": subject,
                              "purpose": purpose, "kind": "given", "time": T0}
    fields.update(kw)
    return ConsentEvent(**fields)


@pytest.fixture
def store(store_url: str) -> ConsentStore:
    opened = open_store("consent", store_url)
    assert isinstance(opened, ConsentStore)
    return opened  # type: ignore[no-any-return]


def test_append_seals_a_chain_per_subject(store: ConsentStore) -> None:
    full = draft("c1", kind="given", actor=Actor("guardian", "g-1"), method="signature",
                 separate=False, subject_age=13, notice_id="privacy", notice_version=2,
                 expires_at=T0 + dt.timedelta(days=365),
                 evidence=Evidence(channel="web", ip="203.0.113.5", user_agent="UA/1 中文",
                                   notice_sha256=notice_sha256("x")),
                 receipt_id="r-1", reason_code="")
    sealed = store.append([full, draft("c2"), draft("c1", kind="withdrawn")])
    assert [(e.subject, e.seq) for e in sealed] == [("c1", 1), ("c2", 1), ("c1", 2)]
    assert sealed[0].prev_hash == GENESIS_HASH
    assert sealed[2].prev_hash == sealed[0].hash
    for e in sealed:
        assert e.hash == e.compute_hash()
    back = store.events("c1")
    assert back == [sealed[0], sealed[2]]  # every field round-trips, microseconds included
    assert back[0].time == T0
    assert store.head("c1") == (2, sealed[2].hash)
    assert store.head("nobody") == (0, GENESIS_HASH)
    assert store.count() == 3
    more = store.append([draft("c1")])
    assert more[0].seq == 3 and more[0].prev_hash == sealed[2].hash


def test_events_filter_and_receipts(store: ConsentStore) -> None:
    store.append([draft("c1", "marketing", receipt_id="r-1"),
                  draft("c1", "verify", receipt_id="r-1"),
                  draft("c1", "marketing", kind="withdrawn", receipt_id="r-1"),
                  draft("c2", "marketing", receipt_id="r-2")])
    assert [e.kind for e in store.events("c1", "marketing")] == ["given", "withdrawn"]
    assert [e.purpose for e in store.events("c1", "verify")] == ["verify"]
    assert store.events("c1", "nothing") == []
    assert [(e.subject, e.seq) for e in store.events_by_receipt("r-1")] == [
        ("c1", 1), ("c1", 2), ("c1", 3)]
    assert store.events_by_receipt("r-none") == []


def test_append_is_atomic(store: ConsentStore) -> None:
    kept = store.append([draft("c1")])[0]
    with pytest.raises(fp.ConflictError):
        store.append([draft("c2"), draft("c1", event_id=kept.event_id)])
    dup = draft("c3")
    with pytest.raises(fp.ConflictError):
        store.append([dup, dup])
    assert store.count() == 1
    assert store.events("c2") == []
    assert store.head("c2") == (0, GENESIS_HASH)
    assert store.append([draft("c2")])[0].seq == 1


def test_purposes_upsert_and_roundtrip(store: ConsentStore) -> None:
    p1 = Purpose(key="verify", description="Verify account", sensitive=True,
                 data_categories=("bank_account",), recipients=("Bank",),
                 valid_for=dt.timedelta(days=30, microseconds=5))
    p2 = Purpose(key="annual", description="Yearly", valid_months=12, legal_basis="contract")
    store.put_purpose(p1)
    store.put_purpose(p2)
    assert store.purposes() == {"verify": p1, "annual": p2}
    changed = Purpose(key="verify", description="Verify the bank account")
    store.put_purpose(changed)
    assert store.purposes()["verify"] == changed


def test_notice_versions_are_immutable(store: ConsentStore) -> None:
    v1 = NoticeVersion(notice_id="privacy", version=1, text_sha256=notice_sha256("a"),
                       change="initial", effective_from=T0, purposes=("marketing",))
    v2 = NoticeVersion(notice_id="privacy", version=2, text_sha256=notice_sha256("b"),
                       change="material", effective_from=T0 + dt.timedelta(days=1),
                       purposes=("marketing", "verify"), affects=("verify",), language="en")
    store.add_notice(v2)
    store.add_notice(v1)
    assert store.notice_versions("privacy") == [v1, v2]
    assert store.notice_ids() == ["privacy"]
    with pytest.raises(fp.ConflictError):
        store.add_notice(v1)
    assert store.notice_versions("other") == []


def test_append_rejects_non_events(store: ConsentStore) -> None:
    with pytest.raises(fp.InvalidInputError):
        store.append(["not an event"])  # type: ignore[list-item]
    assert store.append([]) == []
    assert store.count() == 0


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sql_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def test_sql_schema_is_versioned_and_persistent(sql_url: str) -> None:
    store = SqlConsentStore.open(sql_url)
    assert store.schema_version() == len(MIGRATIONS) == 2
    store.append([draft("c1")])
    store.close()
    reopened = SqlConsentStore(open_database(sql_url))
    assert [e.seq for e in reopened.events("c1")] == [1]
    db = open_database(sql_url)
    db._migrated.clear()
    with db.transaction() as tx:
        tx.execute("UPDATE finprivacy_schema SET version = 99 WHERE component = 'consent'")
    with pytest.raises(fp.SchemaError):
        SqlConsentStore(db)


def test_store_urls_resolve() -> None:
    assert type(open_store("consent", "memory:")).__name__ == "MemoryConsentStore"
    with pytest.raises(fp.ConfigurationError):
        open_store("consent", "redis://x")


def test_database_fetchall_outside_and_inside_a_transaction(sql_url: str) -> None:
    store = SqlConsentStore.open(sql_url)
    db = store.database
    assert db.fetchall("SELECT COUNT(*) FROM consent_heads")[0][0] == 0
    seen: list[Any] = []

    def insert_twice() -> None:
        with db.transaction() as tx:
            tx.execute("INSERT INTO consent_heads (subject, seq, hash) VALUES (?, 0, ?)",
                       ("c1", GENESIS_HASH))
            # joins the open transaction on this thread: sees the uncommitted row
            seen.extend(db.fetchall("SELECT subject FROM consent_heads"))
            tx.execute("INSERT INTO consent_heads (subject, seq, hash) VALUES (?, 0, ?)",
                       ("c1", GENESIS_HASH))

    with pytest.raises(fp.ConflictError):
        insert_twice()
    assert [tuple(r) for r in seen] == [("c1",)]
    assert db.fetchall("SELECT subject FROM consent_heads") == []


def test_subjects_are_paged_in_order(store: ConsentStore) -> None:
    store.append([draft(f"c{i:02d}") for i in (5, 1, 3, 2, 4)])
    assert store.subjects() == ["c01", "c02", "c03", "c04", "c05"]
    assert store.subjects(after="c02", limit=2) == ["c03", "c04"]
    assert store.subjects(after="c05") == []
