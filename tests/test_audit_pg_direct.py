"""PostgreSQL: append_many placing a batch at once, its fallbacks, and the indexes queries use."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest

from finprivacy.audit import AuditEvent, AuditLog
from finprivacy.audit._store import AuditQuery
from finprivacy.storage._audit import SqlAuditStore

pytestmark = pytest.mark.postgres

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _events(n: int, start: int = 0) -> list[AuditEvent]:
    return [AuditEvent(action="read", actor=f"staff-{i % 50}", subject=f"client-{i % 200}",
                       purpose=f"purpose-{i % 40}", fields_returned=("name",),
                       decision="allowed", key_id=f"k{i % 7}" if i % 50 == 0 else "",
                       time=T0 + dt.timedelta(seconds=i),
                       request_id=f"req-{i}") for i in range(start, start + n)]


def _dump(store: SqlAuditStore) -> tuple[object, ...]:
    """Everything the log stores about its entries: rows, tree nodes and head."""
    with store.db.transaction(write=False) as tx:
        entries = tx.fetchall("SELECT seq, entry_id, time_us, tenant, actor, subject, purpose, "
                              "action, decision, break_glass, key_id, raw, leaf, chain "
                              "FROM audit_entries ORDER BY seq")
        nodes = tx.fetchall("SELECT k, hash FROM audit_nodes ORDER BY k")
        state = tx.fetchall("SELECT size, chain, frontier, start_seq FROM audit_state")
    return tuple(tuple(map(_plain, r)) for r in (*entries, *nodes, *state))


def _plain(value: object) -> object:
    return bytes(value) if isinstance(value, memoryview) else value


def _rows(log: AuditLog, events: list[AuditEvent]) -> list[object]:
    return [log._encode(e)[0] for e in events]


def test_direct_batch_stores_what_the_sequencer_stores(
        pg_url: str, pg_server_dsn: str, forget_database: Callable[[str], None]) -> None:
    """The same rows, placed at once or pending then sequenced: identical stored bytes."""
    import psycopg

    direct = AuditLog(pg_url, sequence_every=None)
    base, _, query = pg_url.partition("?")
    other_name = base.rsplit("/", 1)[1] + "_ref"
    with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{other_name}"')
    ref_url = f"{base}_ref" + (f"?{query}" if query else "")
    ref = AuditLog(ref_url, sequence_every=None, sequencing="deferred")
    try:
        for start, n in ((0, 1), (1, 6), (7, 57), (64, 300)):
            rows = _rows(direct, _events(n, start))
            assert direct.store.try_append_sequenced(rows, _integrate())  # type: ignore[attr-defined]
            ref.store.add_pending(rows)  # type: ignore[arg-type]
            ref.sequence()
            assert direct.pending() == 0
            assert _dump(direct.store) == _dump(ref.store)  # type: ignore[arg-type]
        direct.verify()
        ref.verify()
    finally:
        ref.close()
        forget_database(ref_url)
        with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{other_name}" WITH (FORCE)')


def _integrate() -> object:
    from finprivacy.audit._log import _integrate as integrate

    return integrate


def test_append_many_places_a_batch_at_once_with_auto_sequencing(pg_url: str) -> None:
    log = AuditLog(pg_url, sequence_every=None)
    receipts = log.append_many(_events(40))
    assert log.pending() == 0 and log.size == 40
    assert [log.locate(r) for r in receipts] == list(range(40))
    assert log.sequence() == 0
    log.verify()


def test_direct_batch_waits_behind_pending_entries(pg_url: str) -> None:
    """Entries already pending keep their place before a later batch."""
    log = AuditLog(pg_url, sequence_every=None)
    first = log.append("read", actor="amy")
    receipts = log.append_many(_events(5))
    assert log.pending() == 6 and log.size == 0
    log.sequence()
    assert log.locate(first) == 0
    assert [log.locate(r) for r in receipts] == [1, 2, 3, 4, 5]
    log.verify()


def test_direct_batch_never_waits_for_the_sequencer_lock(pg_url: str) -> None:
    import psycopg

    log = AuditLog(pg_url, sequence_every=None)
    log.append_many(_events(3))
    holder = psycopg.connect(pg_url.replace("postgresql://", "postgresql://", 1))
    try:
        holder.execute("SELECT size FROM audit_state WHERE id = 1 FOR UPDATE")
        done = threading.Event()

        def write() -> None:
            log.append_many(_events(4, 3))
            done.set()

        t = threading.Thread(target=write)
        t.start()
        assert done.wait(30), "append_many waited for the sequencer lock"
        t.join()
        assert log.pending() == 4
    finally:
        holder.rollback()
        holder.close()
    assert log.sequence() == 4
    assert log.size == 7
    log.verify()


def test_direct_batch_with_a_known_entry_id_falls_back(pg_url: str) -> None:
    log = AuditLog(pg_url, sequence_every=None)
    rows = _rows(log, _events(10))
    assert log.store.try_append_sequenced(rows[:4], _integrate())  # type: ignore[attr-defined]
    # A retried batch: its first rows are already in the log; nothing is written.
    assert not log.store.try_append_sequenced(rows, _integrate())  # type: ignore[attr-defined]
    assert log.size == 4 and log.pending() == 0
    log.store.add_pending(rows)  # what append_many does then
    log.sequence()
    assert log.size == 10
    assert [log.locate(r.entry_id) for r in rows] == list(range(10))  # type: ignore[attr-defined]
    log.verify()


def test_deferred_sequencing_keeps_batches_pending(pg_url: str) -> None:
    log = AuditLog(pg_url, sequence_every=None, sequencing="deferred")
    log.append_many(_events(5))
    assert log.pending() == 5 and log.size == 0


def _plan(store: SqlAuditStore, query: AuditQuery) -> str:
    """The PostgreSQL plan of the first statement ``store.query(query)`` runs."""
    import contextlib

    with store.db.transaction() as tx:
        tx.execute("ANALYZE audit_entries")
    real = store.db.transaction
    captured: list[tuple[str, list[object]]] = []

    class _Spy:
        def __init__(self, tx: object) -> None:
            self._tx = tx

        def fetchall(self, sql: str, params: list[object]) -> list[object]:
            captured.append((sql, list(params)))
            return self._tx.fetchall(sql, params)  # type: ignore[attr-defined,no-any-return]

    @contextlib.contextmanager
    def spy(**kw: object):  # type: ignore[no-untyped-def]
        with real(**kw) as tx:  # type: ignore[arg-type]
            yield _Spy(tx)

    store.db.transaction = spy  # type: ignore[method-assign]
    try:
        assert list(store.query(query))
    finally:
        del store.db.transaction
    sql, params = captured[0]
    with store.db.transaction() as tx:
        tx.execute("SET LOCAL enable_seqscan = off")
        return "\n".join(r[0] for r in tx.fetchall("EXPLAIN " + sql, params))


def test_a_search_for_entries_without_a_key_uses_its_other_filters_index(pg_url: str) -> None:
    """``key_id=""`` (most entries) is not in the partial key index: the actor index
    serves a search that also names an actor, and the rows are the right ones."""
    log = AuditLog(pg_url, sequence_every=None)
    log.append_many(_events(1000))
    log.append_many([AuditEvent(action="read", actor="staff-1", subject="no-key", time=T0)])
    log.sequence()
    store = log.store
    assert isinstance(store, SqlAuditStore)
    query = AuditQuery(key_id="", actor="staff-1")
    assert "audit_entries_actor" in _plan(store, query)
    found = [log.entry(seq) for seq, _ in store.query(query)]
    assert found and all(e.key_id == "" and e.actor == "staff-1" for e in found)
    assert "no-key" in {e.subject for e in found}


@pytest.mark.parametrize(("column", "value", "index"), [
    ("actor", "staff-1", "audit_entries_actor"),
    ("subject", "client-3", "audit_entries_subject"),
    ("purpose", "purpose-3", "audit_entries_purpose"),
    ("key_id", "k1", "audit_entries_key"),
    (None, None, "audit_entries_time"),
])
def test_queries_use_their_indexes(pg_url: str, column: str | None, value: str | None,
                                   index: str) -> None:
    """Searches by actor, subject, purpose, key id and time range are served by indexes."""
    log = AuditLog(pg_url, sequence_every=None)
    for start in range(0, 2000, 500):
        log.append_many(_events(500, start))
    store = log.store
    assert isinstance(store, SqlAuditStore)
    t0 = int(T0.timestamp()) * 1_000_000
    # A time search: the first 100 of 2,000 seconds; the others: a whole day.
    span = 100 if column is None else 86_400
    query = AuditQuery(**({column: value} if column else {}),
                       start_us=t0, end_us=t0 + span * 1_000_000)
    plan = _plan(store, query)
    assert index in plan, plan


def test_migration_3_keeps_the_table_readable_while_it_builds_indexes(
        pg_url: str, forget_database: Callable[[str], None],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A log at schema 2 (with entries) migrates to 3; readers are never locked out
    while an index is built, and the indexes end as migration 3 defines them."""
    import psycopg

    from finprivacy.storage import _audit as audit_store
    from finprivacy.storage._db import Tx

    log = AuditLog(pg_url, sequence_every=None)
    log.append_many(_events(300))
    log.sequence()
    log.close()
    forget_database(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:  # back to schema 2
        conn.execute("DROP INDEX audit_entries_key")
        conn.execute("DROP INDEX audit_entries_time")
        conn.execute("CREATE INDEX audit_entries_key ON audit_entries (key_id, time_us)")
        conn.execute("CREATE INDEX audit_entries_time ON audit_entries (time_us)")
        conn.execute("UPDATE finprivacy_schema SET version = 2 WHERE component = 'audit'")

    readable: list[str] = []
    real = Tx.execute

    def execute(self: Tx, sql: str, params: object = ()) -> object:
        result = real(self, sql, params)  # type: ignore[arg-type]
        if sql.startswith("CREATE INDEX"):
            with psycopg.connect(pg_url, autocommit=True) as reader:
                reader.execute("SET lock_timeout = '2s'")
                try:
                    reader.execute("SELECT count(*) FROM audit_entries").fetchone()
                    readable.append(sql.split()[2])
                except psycopg.errors.LockNotAvailable:
                    readable.append("blocked")
        return result

    monkeypatch.setattr(Tx, "execute", execute)
    store = audit_store.SqlAuditStore.open(pg_url)
    monkeypatch.undo()
    assert readable == ["audit_entries_key_new", "audit_entries_time_new"]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        indexes = dict(conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_entries'"
        ).fetchall())
    assert "WHERE (key_id <> ''::text)" in indexes["audit_entries_key"]
    assert "USING brin" in indexes["audit_entries_time"]
    assert not [name for name in indexes if name.endswith("_new")]
    assert store.db.schema_version("audit") == len(audit_store._MIGRATIONS)
    AuditLog(store).verify()


def test_the_small_insert_probes_the_index_even_with_a_plan_made_on_a_young_log(
        pg_url: str) -> None:
    """The prepared insert's cached generic plan must not scan the whole log per insert."""
    import psycopg

    from finprivacy.storage._audit import _PG_SMALL_INSERT

    AuditLog(pg_url, sequence_every=None).close()  # a new, empty, never analysed log
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        conn.execute("PREPARE small AS " + _PG_SMALL_INSERT.replace("?", "$%d") % tuple(
            range(1, 12)))
        args = ", ".join(["ARRAY[]::text[]", "ARRAY[]::bigint[]", *["ARRAY[]::text[]"] * 6,
                          "ARRAY[]::bigint[]", "ARRAY[]::text[]", "ARRAY[]::bytea[]"])
        plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN EXECUTE small({args})"))
    assert "Index" in plan and "Seq Scan on audit_entries" not in plan, plan
