"""The delegation grant store contract, over memory, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

import finprivacy as fp
from finprivacy._stores import open_store
from finprivacy.access import DelegationGrant, GrantStore

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _grant(gid: str, subject: str = "client-42", grantee: str = "spouse-1",
           **kw: object) -> DelegationGrant:
    return DelegationGrant(id=gid, subject=subject, grantee=grantee,
                           scopes=frozenset({"view"}), valid_from=T0, **kw)  # type: ignore[arg-type]


@pytest.fixture
def store(store_url: str) -> GrantStore:
    return open_store("access_grants", store_url)  # type: ignore[no-any-return]


def test_put_get_find(store: GrantStore) -> None:
    g = _grant("dg_1", fields=frozenset({"card_no"}), relationship="spouse",
               valid_until=T0 + dt.timedelta(days=30))
    store.put(g)
    store.put(_grant("dg_2", grantee="lawyer-1"))
    store.put(_grant("dg_3", subject="client-7"))
    assert store.get("dg_1") == g
    assert store.get("dg_missing") is None
    assert [x.id for x in store.find("spouse-1", "client-42")] == ["dg_1"]
    assert sorted(x.id for x in store.for_subject("client-42")) == ["dg_1", "dg_2"]
    assert store.find("nobody", "client-42") == ()


def test_revocation_replaces_and_is_kept(store: GrantStore) -> None:
    g = _grant("dg_1")
    store.put(g)
    revoked = DelegationGrant(id=g.id, subject=g.subject, grantee=g.grantee, scopes=g.scopes,
                              valid_from=g.valid_from, revoked_at=T0 + dt.timedelta(days=3))
    store.put(revoked)
    (only,) = store.find("spouse-1", "client-42")
    assert only.status(T0 + dt.timedelta(days=4)) == "revoked"
    assert only.status(T0 + dt.timedelta(days=1)) == "active"


def test_grant_id_cannot_move_to_another_pair(store: GrantStore) -> None:
    store.put(_grant("dg_1"))
    with pytest.raises(fp.ConflictError):
        store.put(_grant("dg_1", grantee="someone-else"))
    assert store.get("dg_1") == _grant("dg_1")


def test_grants_survive_reopening(sqlite_url: str) -> None:
    from finprivacy.storage import SqlGrantStore

    first = SqlGrantStore(sqlite_url)
    first.put(_grant("dg_9"))
    again = SqlGrantStore(sqlite_url)
    assert again.get("dg_9") == _grant("dg_9")
    assert "SqlGrantStore" in repr(again)
