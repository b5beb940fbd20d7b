"""Contract tests for the retention store (holds and journal) on every backend."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

import finprivacy as fp
from finprivacy import retention as rt
from finprivacy._stores import open_store
from finprivacy.audit.events import AuditEvent
from finprivacy.clock import FixedClock

T0 = dt.datetime(2026, 1, 5, 8, 30, 15, 123456, tzinfo=dt.UTC)


def hold(hid: str, *, at: dt.datetime = T0, **scope: frozenset[str]) -> rt.LegalHold:
    return rt.LegalHold(id=hid, matter=rt.HoldMatter.LITIGATION, reason="case", placed_by="p",
                        placed_at=at, reference="(2026)沪0115民初1号", **scope)


def rec(rid: str, cls: str = "bank_statement", subject: str = "") -> rt.RetentionRecord:
    return rt.RetentionRecord(id=rid, record_class=cls, created=dt.date(2014, 1, 1),
                              subject=subject)


def test_store_protocols(store_url: str) -> None:
    store = open_store("retention", store_url)
    assert isinstance(store, rt.HoldStore) and isinstance(store, rt.ExecutionJournal)


def test_holds_round_trip_and_release(store_url: str) -> None:
    store: rt.HoldStore = open_store("retention", store_url)
    h1 = hold("H-1", subjects=frozenset({"client-1", "client-2"}))
    h2 = hold("H-2", at=T0 + dt.timedelta(seconds=1), record_classes=frozenset({"tax_return"}),
              record_ids=frozenset({"v-9"}))
    store.add_hold(h1)
    store.add_hold(h2)
    assert store.get_hold("H-1") == h1 and store.get_hold("H-2") == h2
    assert [h.id for h in store.list_holds()] == ["H-1", "H-2"]
    with pytest.raises(fp.ConflictError):
        store.add_hold(hold("H-1", subjects=frozenset({"x"})))
    with pytest.raises(fp.NotFoundError):
        store.get_hold("H-404")
    at = T0 + dt.timedelta(days=30)
    released = store.release_hold("H-1", released_by="partner", reason="judgment final", at=at)
    assert (released.released_at, released.released_by) == (at, "partner")
    assert not released.active and store.get_hold("H-1") == released
    assert [h.id for h in store.list_holds()] == ["H-2"]
    assert [h.id for h in store.list_holds(active_only=False)] == ["H-1", "H-2"]
    with pytest.raises(fp.ConflictError, match="already released"):
        store.release_hold("H-1", released_by="partner", reason="again", at=at)
    with pytest.raises(fp.NotFoundError):
        store.release_hold("H-404", released_by="partner", reason="x", at=at)


def test_holds_covering(store_url: str) -> None:
    store: rt.HoldStore = open_store("retention", store_url)
    store.add_hold(hold("by-subject", subjects=frozenset({"client-1"})))
    store.add_hold(hold("by-class", record_classes=frozenset({"tax_return"})))
    store.add_hold(hold("by-id", record_ids=frozenset({"bs-7"})))

    def covering(r: rt.RetentionRecord) -> list[str]:
        return [h.id for h in store.holds_covering(record_id=r.id, subject=r.subject,
                                                   record_class=r.record_class)]

    assert covering(rec("bs-1", subject="client-1")) == ["by-subject"]
    assert covering(rec("bs-7")) == ["by-id"]
    # Same placement time: ordered by id.
    assert covering(rec("t-1", cls="tax_return", subject="client-1")) == ["by-class",
                                                                         "by-subject"]
    assert covering(rec("bs-2", subject="client-2")) == []
    store.release_hold("by-subject", released_by="p", reason="closed", at=T0)
    assert covering(rec("bs-1", subject="client-1")) == []


def test_journal_contract(store_url: str) -> None:
    j: rt.ExecutionJournal = open_store("retention", store_url)
    assert j.entry_status("s1", "r1") is None
    j.put_entry("s1", "r1", "excluded", '{"a": 1}', T0)
    j.put_entry("s1", "r2", "done", '{"b": 2}', T0)
    j.put_entry("s1", "r0", "done", '{"c": 3}', T0)
    assert j.entry_status("s1", "r1") == "excluded"
    j.put_entry("s1", "r1", "done", '{"a": 9}', T0)  # a released hold: now done
    j.put_entry("s1", "r2", "excluded", '{"b": 0}', T0)  # done is final
    assert j.entry_status("s1", "r2") == "done"
    entries = list(j.entries("s1"))
    assert [(e.record_id, e.status, e.payload) for e in entries] == [
        ("r1", "done", '{"a": 9}'), ("r2", "done", '{"b": 2}'), ("r0", "done", '{"c": 3}')]
    assert list(j.entries("other")) == []
    assert j.sweep_certificate("s1") is None
    assert j.close_sweep("s1", T0, '{"cert": 1}') is True
    assert j.close_sweep("s1", T0, '{"cert": 2}') is False
    assert j.sweep_certificate("s1") == '{"cert": 1}'


def test_journal_pages_through_many_entries(store_url: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from finprivacy.storage._retention import SqlRetentionStore

    monkeypatch.setattr(SqlRetentionStore, "page_size", 7)
    j: rt.ExecutionJournal = open_store("retention", store_url)
    for i in range(30):
        j.put_entry("big", f"r{i:05d}", "done", "{}", T0)
    ids = [e.record_id for e in j.entries("big")]
    assert ids == [f"r{i:05d}" for i in range(30)]


def test_sweep_lease_contract(store_url: str) -> None:
    j: rt.ExecutionJournal = open_store("retention", store_url)
    later = T0 + dt.timedelta(minutes=5)
    assert j.lock_sweep("s", "a", now=T0, until=later)
    assert not j.lock_sweep("s", "b", now=T0 + dt.timedelta(minutes=1), until=later)
    assert j.lock_sweep("s", "a", now=T0 + dt.timedelta(minutes=1), until=later)  # renew
    assert j.lock_sweep("other", "b", now=T0, until=later)  # leases are per sweep
    j.unlock_sweep("s", "b")  # not b's: no effect
    assert not j.lock_sweep("s", "b", now=T0 + dt.timedelta(minutes=2), until=later)
    assert j.lock_sweep("s", "b", now=later, until=later + dt.timedelta(minutes=5))  # expired
    j.unlock_sweep("s", "b")
    assert j.lock_sweep("s", "c", now=T0, until=later)


def test_legal_holds_facade_audits(store_url: str) -> None:
    events: list[AuditEvent] = []

    class Sink:
        def record(self, event: AuditEvent) -> object:
            events.append(event)
            return None

    holds = rt.LegalHolds(store_url, clock=FixedClock(T0), audit=Sink())
    h = holds.place(matter="aml_investigation", reason="STR follow-up", placed_by="mlro",
                    subjects={"client-9"})
    assert h.id.startswith("hold-") and h.placed_at == T0
    assert holds.covering(rec("x", subject="client-9")) == [h]
    holds.release(h.id, by="mlro", reason="investigation closed")
    assert holds.active() == [] and [x.id for x in holds.history()] == [h.id]
    assert [e.action for e in events] == ["retention.hold.place", "retention.hold.release"]
    assert events[0].details["hold_id"] == h.id and "client-9" not in str(events[0].details)
    with pytest.raises(fp.InvalidInputError):
        holds.release(h.id, by="", reason="x")
    with pytest.raises(fp.InvalidInputError):
        holds.place(matter="whim", reason="x", placed_by="y", subjects={"a"})
    with pytest.raises(fp.RetentionError, match="covers nothing"):
        holds.place(matter="litigation", reason="x", placed_by="y")
    with pytest.raises(fp.RetentionError, match="single string"):
        holds.place(matter="litigation", reason="x", placed_by="y",
                    subjects="client-1")  # type: ignore[arg-type]


def test_sql_store_persists_across_reopen(sqlite_url: str,
                                         forget_database: Callable[[str], None]) -> None:
    a = rt.LegalHolds(sqlite_url, clock=FixedClock(T0))
    a.place(matter="tax_audit", reason="audit", placed_by="p", record_classes={"tax_return"},
            hold_id="H")
    forget_database(sqlite_url)
    b = rt.LegalHolds(sqlite_url)
    assert b.get("H").record_classes == {"tax_return"}


def test_bad_hold_objects() -> None:
    with pytest.raises(fp.InvalidTimeError):
        rt.LegalHold(id="h", matter="litigation", reason="r", placed_by="p",  # type: ignore[arg-type]
                     placed_at=dt.datetime(2026, 1, 1), subjects=frozenset({"a"}))
    with pytest.raises(fp.RetentionError):
        rt.LegalHold(id="h", matter="litigation", reason="r", placed_by="p",  # type: ignore[arg-type]
                     placed_at=T0, subjects=frozenset({"a"}), released_at=T0)
    with pytest.raises(fp.ConfigurationError):
        rt.LegalHolds("mysql://nope")
