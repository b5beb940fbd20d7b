"""The audit log under faults (issue 15): no entry lost or hidden in silence.

Two writers that make the same entry id (a process copied without Python's fork hooks,
a snapshot restored twice) must never lose an entry as a "retry": the same id with
other bytes raises :class:`AuditIntegrityError` on every store; a real retry (same
bytes) stays idempotent.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os

import pytest

import finprivacy as fp
from finprivacy.audit import AuditEvent, AuditLog
from finprivacy.audit import _log as log_module
from finprivacy.audit._verify import Verification
from finprivacy.errors import AuditIntegrityError

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
SIGNER = fp.Ed25519Signer.generate()


def _log(url: str, **kw: object) -> AuditLog:
    return AuditLog(url, signer=SIGNER, clock=fp.FixedClock(T0), origin="lotus/audit",
                    **kw)  # type: ignore[arg-type]


@pytest.fixture
def same_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every entry gets the same id: what a copied id pool did before issue 15."""
    monkeypatch.setattr(log_module, "_urandom", lambda n: b"\x07" * n)
    monkeypatch.setattr(log_module, "_ids", iter(()))  # the memory store's pool, refilled


@pytest.mark.parametrize("sequencing", ["auto", "deferred"])
def test_a_reused_id_with_other_bytes_raises_on_every_store(
        store_url: str, same_ids: None, sequencing: str) -> None:
    log = _log(store_url, sequencing=sequencing)
    log.append("read", actor="amy", subject="client-1")
    log.sequence()
    with pytest.raises(AuditIntegrityError, match="already stored with other bytes"):
        log.append("read", actor="bob", subject="client-2")
    log.sequence()
    assert log.size == 1
    assert log.entry(0).actor == "amy"
    log.verify()


def test_a_reused_id_still_pending_raises(store_url: str, same_ids: None) -> None:
    log = _log(store_url, sequence_every=None, sequencing="deferred")
    log.append("read", actor="amy", subject="client-1")
    with pytest.raises(AuditIntegrityError):
        log.append("read", actor="bob", subject="client-2")
    assert log.sequence() == 1
    assert log.entry(0).actor == "amy"


def test_a_batch_with_one_id_twice_raises(store_url: str, same_ids: None) -> None:
    log = _log(store_url, sequence_every=None)
    events = [AuditEvent(action="read", actor=a, subject="c") for a in ("amy", "bob")]
    with pytest.raises(AuditIntegrityError):
        log.append_many(events)
    log.sequence()
    assert log.size <= 1  # the first entry may be stored; the second is never dropped
    log.verify()


def test_a_process_with_another_pid_never_uses_the_pool_it_did_not_read(
        store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pid is checked on every draw for a store other processes reach: a copy made
    without Python's fork hooks (another pid, the same pool) reads its own ids."""
    reads: list[int] = []

    def counting(n: int) -> bytes:
        reads.append(n)
        return os.urandom(n)

    pid = [1000]
    monkeypatch.setattr(log_module, "_urandom", counting)
    monkeypatch.setattr(log_module, "_getpid", lambda: pid[0])
    monkeypatch.setattr(log_module, "_ids", iter(()))
    monkeypatch.setattr(log_module, "_ids_pid", 1000)
    log = _log(store_url, sequence_every=None)
    first = [log.append("read", actor="amy", subject=f"c{i}").entry_id for i in range(3)]
    assert reads == [16 * log_module._IDS_PER_READ]  # one read for many entries
    pid[0] = 1001  # as after fork() called from C: the copy holds the same pool
    second = [log.append("read", actor="amy", subject=f"d{i}").entry_id for i in range(3)]
    second += [r.entry_id for r in log.append_many(
        [AuditEvent(action="read", actor="amy", subject="d9")])]
    if store_url.startswith("memory"):
        # No other process reaches a memory store: no check, the pool goes on.
        assert len(reads) == 1
    else:
        assert len(reads) == 2  # the copy read its own ids before handing out any
    assert not set(first) & set(second)
    assert len(set(first + second)) == 7


def test_a_retry_with_the_same_bytes_stays_idempotent(store_url: str) -> None:
    log = _log(store_url, sequence_every=None, sequencing="deferred")
    row, _ = log._encode(AuditEvent(action="read", actor="amy", subject="c1"))
    log.store.add_pending([row])
    log.store.add_pending([row, row])
    log.sequence()
    log.store.add_pending([row])
    log.sequence()
    assert log.size == 1 and log.pending() == 0


def test_a_large_batch_with_a_sequenced_id_raises(store_url: str) -> None:
    log = _log(store_url, sequence_every=None, sequencing="deferred")
    first = AuditEvent(action="read", actor="amy", subject="c0")
    row, _ = log._encode(first)
    log.store.add_pending([row])
    log.sequence()
    others = [log._encode(AuditEvent(action="read", actor="amy", subject=f"c{i}"))[0]
              for i in range(1, 60)]
    clash = row._replace(raw=row.raw.replace(b'"c0"', b'"cX"'))
    with pytest.raises(AuditIntegrityError):
        log.store.add_pending([*others, clash])


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql",
                                                            marks=pytest.mark.postgres)])
def test_a_fork_from_c_loses_no_entry(backend: str, request: pytest.FixtureRequest,
                                      forget_database: object) -> None:
    """Parent and a child made by libc fork() (no Python fork hooks) both append."""
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    log = _log(url)
    log.append("read", actor="parent", subject="warm-up")  # the parent's id source is warm
    log.sequence()
    forget_database(url)  # the child must not share the parent's connection
    libc = ctypes.CDLL(None, use_errno=True)
    pid = libc.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            child = _log(url)
            for i in range(20):
                child.append("read", actor="child", subject=f"c{i}")
            child.sequence()
            code = 0
        finally:
            os._exit(code)
    parent = _log(url)
    for i in range(20):
        parent.append("read", actor="parent", subject=f"p{i}")
    parent.sequence()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    parent.sequence()
    assert parent.size == 41
    ids = {parent.entry(i).entry_id for i in range(41)}
    assert len(ids) == 41
    parent.verify()


# ---------------------------------------------------------------- freshness (item 3)

def test_deleted_checkpoints_verify_without_a_bound_and_fail_with_one(sqlite_url: str) -> None:
    clock = fp.FixedClock(T0)
    log = AuditLog(sqlite_url, signer=SIGNER, clock=clock, origin="lotus/audit")
    for i in range(5):
        log.append("read", actor="amy", subject=f"c{i}")
    log.checkpoint()
    for i in range(5):
        log.append("read", actor="amy", subject=f"d{i}")
    log.checkpoint()
    assert log.verify(max_unsigned=0).unsigned_entries == 0
    # A writer with database access deletes the newest checkpoint: hashes still agree.
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(sqlite_url[len("sqlite:///"):])) as conn:
        conn.execute("DELETE FROM audit_checkpoints WHERE size = 10")
        conn.commit()
    report = log.verify()
    assert report.unsigned_entries == 5 and report.newest_checkpoint == T0
    with pytest.raises(AuditIntegrityError, match="5 entries lie past") as info:
        log.verify(max_unsigned=4)
    assert info.value.position == 5
    log.verify(max_unsigned=5)
    clock.advance(dt.timedelta(hours=2))
    with pytest.raises(AuditIntegrityError, match="2h 0m old"):
        log.verify(max_age=dt.timedelta(hours=1))
    log.checkpoint()
    log.verify(max_unsigned=0, max_age=dt.timedelta(hours=1))


def test_a_log_with_no_checkpoint_fails_a_freshness_bound(store_url: str) -> None:
    log = _log(store_url)
    log.verify(max_age=dt.timedelta(minutes=5))  # empty: nothing to cover
    log.append("read", actor="amy")
    with pytest.raises(AuditIntegrityError, match="no signed checkpoint"):
        log.verify(max_age=dt.timedelta(minutes=5))
    with pytest.raises(AuditIntegrityError):
        log.verify(max_unsigned=0)
    with pytest.raises(fp.InvalidInputError):
        log.verify(max_unsigned=-1)


@pytest.mark.postgres
def test_readers_never_create_a_store(tmp_path: object, pg_url: str) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    for url in (f"sqlite:///{folder / 'typo.db'}", f"sqlite:///{folder / 'new' / 'a.db'}"):
        with pytest.raises(fp.errors.NotFoundError, match="no audit store at"):
            AuditLog(url, create=False)
    assert list(folder.iterdir()) == []
    with pytest.raises(fp.errors.NotFoundError):
        AuditLog(pg_url, create=False)
    _log(pg_url).close()
    AuditLog(pg_url, create=False).verify()


# ---------------------------------------------------------------- indexed columns (item 2)

_EDITS = {
    "actor": "'mallory'", "subject": "'client-x'", "purpose": "'marketing'",
    "action": "'export'", "tenant": "'other'", "decision": "'denied'",
    "key_id": "'k-other'", "break_glass": "1", "time_us": "time_us + 1",
    "entry_id": "'0123456789abcdef0123456789abcdef'",
}


def _sql(url: str, statement: str) -> None:
    if url.startswith("sqlite"):
        import sqlite3
        from contextlib import closing

        with closing(sqlite3.connect(url[len("sqlite:///"):])) as conn:
            conn.execute(statement)
            conn.commit()
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(statement)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sql_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def _filled(url: str) -> AuditLog:
    log = _log(url)
    log.append("read", actor="amy", subject="client-1", purpose="bookkeeping", tenant="lotus",
               key_id="k1", reason='quotes " and \\ and\nnewline\ttab\x01', decision="allowed",
               details={"actor": "bob", "purpose": "x", "id": "y"})
    log.append("read", actor="amy\u0007bell", subject="客户-2", purpose="", tenant="",
               break_glass=True, reason="r")
    log.append("export", actor="li", subject="client-3", purpose="audit")
    log.sequence()
    return log


def test_unedited_columns_verify_including_awkward_values(sql_url: str) -> None:
    log = _filled(sql_url)
    report = log.verify()
    assert report.size == 3
    assert [e.subject for e in log.query(actor="amy")] == ["client-1"]


@pytest.mark.parametrize("column", sorted(_EDITS))
def test_an_sql_update_of_an_indexed_column_is_caught(sql_url: str, column: str) -> None:
    log = _filled(sql_url)
    _sql(sql_url, f"UPDATE audit_entries SET {column} = {_EDITS[column]} WHERE seq = 0")
    with pytest.raises(AuditIntegrityError, match=f"entry 0: its indexed column.*{column}") \
            as info:
        log.verify()
    assert info.value.position == 0
    # A query by the forged value never returns the entry as if it matched.
    forged = {"actor": "mallory", "subject": "client-x", "purpose": "marketing",
              "action": "export", "tenant": "other", "decision": "denied",
              "key_id": "k-other", "break_glass": True}
    if column in forged:
        with pytest.raises(AuditIntegrityError, match="selected by indexed columns"):
            log.query(**{column: forged[column]})  # type: ignore[arg-type]


def test_the_column_check_leaves_no_thread_or_connection_behind(sql_url: str) -> None:
    import threading

    log = _filled(sql_url)
    db = log.store.db  # type: ignore[attr-defined]
    log.verify()
    before = (threading.active_count(), len(db._all_conns))
    for _ in range(5):
        log.verify()
    assert (threading.active_count(), len(db._all_conns)) == before


def test_a_hash_failure_is_reported_first_and_stops_the_column_check(sql_url: str) -> None:
    import threading

    log = _filled(sql_url)
    threads = threading.active_count()
    blob = "X'7b7d'" if sql_url.startswith("sqlite") else "'\\x7b7d'::bytea"
    _sql(sql_url, f"UPDATE audit_entries SET raw = {blob}, actor = 'mallory' WHERE seq = 1")
    with pytest.raises(AuditIntegrityError, match="entry 1 was modified"):
        log.verify()
    assert threading.active_count() == threads


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'{"id": 5}', b"\xff\xfe"])
def test_bytes_the_database_cannot_parse_are_flagged_not_raised(sql_url: str,
                                                                raw: bytes) -> None:
    log = _filled(sql_url)
    blob = f"X'{raw.hex()}'" if sql_url.startswith("sqlite") else f"'\\x{raw.hex()}'::bytea"
    _sql(sql_url, f"UPDATE audit_entries SET raw = {blob} WHERE seq = 1")
    flagged = [row[0] for row in log.store.column_suspects(0, 3)]  # type: ignore[attr-defined]
    assert 1 in flagged
    with pytest.raises(AuditIntegrityError, match="entry 1 is not canonical"):
        Verification(log.store, log.origin, {}, [], log._now)._check_columns(0, 3)


def test_in_memory_sqlite_checks_columns_in_the_verifying_thread() -> None:
    log = _log("sqlite:///:memory:")
    log.append("read", actor="amy", subject="client-1")
    log.sequence()
    log.verify()
    with log.store.db.transaction() as tx:  # type: ignore[attr-defined]
        tx.execute("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 0")
    with pytest.raises(AuditIntegrityError, match=r"indexed column.*actor"):
        log.verify()
