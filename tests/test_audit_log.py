"""AuditLog on every backend: append, sequence, checkpoints, proofs, tampering, segments."""

from __future__ import annotations

import datetime as dt
import io
import pickle
from collections.abc import Iterator

import pytest

import finprivacy as fp
from finprivacy.audit import (
    AuditEvent,
    AuditLog,
    AuditSink,
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    verify_export,
)
from finprivacy.audit._merkle import chain_hash, leaf_hash
from finprivacy.audit._store import StoredEntry
from finprivacy.storage._audit import MemoryAuditStore, SqlAuditStore

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SIGNER = fp.Ed25519Signer.generate()


def _log(url: str, **kw: object) -> AuditLog:
    clock = kw.pop("clock", None) or fp.FixedClock(T0)
    return AuditLog(url, signer=SIGNER, clock=clock, origin="lotus/audit", **kw)  # type: ignore[arg-type]


def _fill(log: AuditLog, n: int, actor: str = "amy", start: int = 0) -> None:
    for i in range(start, start + n):
        log.append("read", actor=actor, subject=f"client-{i % 7}", purpose="bookkeeping",
                   fields_returned=("name", "phone"), fields_masked=("id_number",),
                   decision="allowed", request_id=f"req-{i}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


# -- the contract on every backend -------------------------------------------------------------


def test_log_roundtrip_on_every_backend(store_url: str) -> None:
    log = _log(store_url)
    assert isinstance(log, AuditSink)
    _fill(log, 25)
    cp1 = log.checkpoint()
    assert cp1.size == 25 and cp1.origin == "lotus/audit"
    receipt = log.record(AuditEvent(action="update", actor="bob", subject="client-3",
                                    purpose="correction", fields_returned=("address",)))
    _fill(log, 14, actor="bob", start=100)
    cp2 = log.checkpoint()
    assert cp2.size == 40
    report = log.verify()
    assert (report.size, report.checked_entries, report.checked_checkpoints) == (40, 40, 2)
    seq = log.locate(receipt)
    entry = log.entry(seq)
    assert (entry.action, entry.actor, entry.fields_returned) == ("update", "bob", ("address",))
    assert entry.leaf_hash == receipt.leaf_hash
    proof = log.inclusion_proof(seq, cp2.size)
    proof.verify(entry.raw, cp2, SIGNER.verifier())
    log.consistency_proof(cp1.size, cp2.size).verify(cp1, cp2, SIGNER.verifier())
    # queries by actor, subject, purpose and time
    assert len(log.query(actor="bob")) == 15
    assert [e.seq for e in log.query(subject="client-3", actor="amy")] == [3, 10, 17, 24]
    assert len(log.query(purpose="correction")) == 1
    assert len(log.query(start=T0, end=T0 + dt.timedelta(seconds=1))) == 40
    assert log.query(end=T0) == []
    assert len(log.query(actor="amy", limit=5)) == 5
    # export and the stand-alone verifier
    buf = io.StringIO()
    final = log.export(buf, inclusion_for=[0, seq])
    got = verify_export(buf.getvalue().splitlines(), keys=SIGNER.verifier())
    assert (got.size, got.entries, got.proofs, got.keys_pinned) == (40, 40, 3, True)
    assert final.size == 40
    log.close()


def test_reopen_sees_the_same_log(db_url: str) -> None:
    with _log(db_url) as log:
        _fill(log, 10)
        cp = log.checkpoint()
    again = _log(db_url)
    assert again.size == 10
    assert again.latest_checkpoint() == cp
    again.verify()


def test_strict_and_break_glass_are_sequenced_before_return(store_url: str) -> None:
    log = _log(store_url, sequence_every=None, sequencing="deferred")
    _fill(log, 3)
    assert log.pending() == 3
    receipt = log.append("read", actor="dr-li", subject="client-9", break_glass=True,
                         reason="client locked out during audit", decision="allowed")
    assert receipt.seq == 3 and log.pending() == 0
    strict = log.append("export", actor="amy", strict=True)
    assert strict.seq == 4
    assert log.entry(3).break_glass is True


def test_append_many_is_one_batch(store_url: str) -> None:
    log = _log(store_url, sequence_every=None, sequencing="deferred")
    events = [AuditEvent(action="read", actor="amy", subject=f"c{i}") for i in range(50)]
    receipts = log.append_many(events)
    assert log.pending() == 50
    assert log.sequence() == 50
    assert [log.locate(r) for r in receipts] == list(range(50))
    log.verify()


def test_retried_write_does_not_duplicate(store_url: str) -> None:
    log = _log(store_url, sequence_every=None, sequencing="deferred")
    row, _ = log._encode(AuditEvent(action="read", actor="amy", subject="c1"))
    log.store.add_pending([row])
    log.store.add_pending([row])  # e.g. a retry after a lost commit acknowledgement
    log.sequence()
    assert log.size == 1 and log.pending() == 0
    log.store.add_pending([row])  # a late retry, after the entry was sequenced
    log.sequence()
    assert log.size == 1 and log.pending() == 0
    log.verify()


def test_sqlite_sequences_inline_by_default(db_url: str) -> None:
    log = _log(db_url)
    inline = db_url.startswith("sqlite")
    receipt = log.append("read", actor="amy", subject="c1")
    assert (log.pending(), log.size) == ((0, 1) if inline else (1, 0))
    assert log.locate(receipt) == 0
    forced = _log(db_url, sequencing="inline")
    row, _ = forced._encode(AuditEvent(action="read", actor="amy", subject="c2"))
    forced._flush([row, row])
    forced._flush([row])  # a retry: not duplicated
    assert forced.size == 2 and forced.pending() == 0
    forced.verify()
    with pytest.raises(fp.ConfigurationError):
        AuditLog("memory:", sequencing="inline")


# -- tampering ------------------------------------------------------------------------------


def _sql(log: AuditLog, sql: str, params: tuple[object, ...] = ()) -> None:
    store = log.store
    assert isinstance(store, SqlAuditStore)
    with store.db.transaction() as tx:
        tx.execute(sql, params)


def _raw(log: AuditLog, seq: int) -> bytes:
    return log.entry(seq).raw


def _tampering_log(url: str) -> Iterator[AuditLog]:
    log = _log(url)
    _fill(log, 20)
    log.checkpoint()
    _fill(log, 10, start=20)
    yield log
    log.close()


@pytest.fixture
def tlog(db_url: str) -> Iterator[AuditLog]:
    """A log with 30 entries and a checkpoint at 20, on SQLite and on PostgreSQL."""
    yield from _tampering_log(db_url)


@pytest.fixture
def slog(sqlite_url: str) -> Iterator[AuditLog]:
    """The same on SQLite only (the SQL is shared, PostgreSQL runs the main kinds)."""
    yield from _tampering_log(sqlite_url)


def _position(log: AuditLog) -> int | None:
    with pytest.raises(fp.AuditIntegrityError) as info:
        log.verify()
    # The same error at the same position with the walk split over 3 processes.
    from finprivacy.audit import _verify as verify_module

    old, verify_module._MIN_PER_WORKER = verify_module._MIN_PER_WORKER, 1
    try:
        with pytest.raises(fp.AuditIntegrityError) as split:
            log.verify(workers=3)
    finally:
        verify_module._MIN_PER_WORKER = old
    assert (str(split.value), split.value.position) == (str(info.value), info.value.position)
    return info.value.position


def test_modified_entry_detected_at_its_position(tlog: AuditLog) -> None:
    tlog.sequence()
    raw = _raw(tlog, 7).replace(b'"amy"', b'"eve"')
    _sql(tlog, "UPDATE audit_entries SET raw = ? WHERE seq = ?", (raw, 7))
    assert _position(tlog) == 7


def test_modified_entry_with_rehashed_leaf_detected_by_chain(slog: AuditLog) -> None:
    slog.sequence()
    raw = _raw(slog, 12).replace(b'"amy"', b'"eve"')
    _sql(slog, "UPDATE audit_entries SET raw = ?, leaf = ? WHERE seq = ?",
         (raw, leaf_hash(raw), 12))
    assert _position(slog) == 12


def test_rewritten_history_detected_by_checkpoint(slog: AuditLog) -> None:
    # A capable attacker rewrites entry 5 and recomputes every later leaf, chain value
    # and the head: only the signed checkpoint at size 20 can tell, at its last entry.
    slog.sequence()
    raws = [_raw(slog, i) for i in range(30)]
    raws[5] = raws[5].replace(b'"amy"', b'"eve"')
    chain = bytes(32)
    for i, raw in enumerate(raws):
        chain = chain_hash(chain, leaf_hash(raw))
        _sql(slog, "UPDATE audit_entries SET raw = ?, leaf = ?, chain = ? WHERE seq = ?",
             (raw, leaf_hash(raw), chain, i))
    from finprivacy.audit._log import _integrate
    from finprivacy.audit._store import TreeState

    state = _integrate(TreeState(0, bytes(32), ()), list(enumerate(raws))).state
    assert state.chain == chain
    _sql(slog, "UPDATE audit_state SET chain = ?, frontier = ? WHERE id = 1",
         (state.chain, b"".join(state.frontier)))
    assert _position(slog) == 19


def test_deleted_entry_detected(tlog: AuditLog) -> None:
    tlog.sequence()
    _sql(tlog, "DELETE FROM audit_entries WHERE seq = ?", (9,))
    assert _position(tlog) == 9


def test_deleted_and_renumbered_entry_detected(slog: AuditLog) -> None:
    slog.sequence()
    _sql(slog, "DELETE FROM audit_entries WHERE seq = ?", (9,))
    for seq in range(10, 30):
        _sql(slog, "UPDATE audit_entries SET seq = ? WHERE seq = ?", (seq - 1, seq))
    assert _position(slog) == 9


def test_inserted_entry_detected(tlog: AuditLog) -> None:
    tlog.sequence()
    for seq in range(29, 14, -1):
        _sql(tlog, "UPDATE audit_entries SET seq = ? WHERE seq = ?", (seq + 1, seq))
    forged = _raw(tlog, 3).replace(b'"req-3"', b'"req-x"')
    _sql(tlog, "INSERT INTO audit_entries (entry_id, seq, time_us, tenant, actor, subject, "
               "purpose, action, decision, break_glass, key_id, raw, leaf, chain) VALUES "
               "('forged', 15, 0, '', 'amy', 'c', '', 'read', 'allowed', 0, '', ?, ?, ?)",
         (forged, leaf_hash(forged), bytes(32)))
    assert _position(tlog) == 15


def test_appended_entry_beyond_head_detected(slog: AuditLog) -> None:
    slog.sequence()
    forged = _raw(slog, 3)
    _sql(slog, "INSERT INTO audit_entries (entry_id, seq, time_us, tenant, actor, subject, "
               "purpose, action, decision, break_glass, key_id, raw, leaf, chain) VALUES "
               "('forged', 30, 0, '', 'amy', 'c', '', 'read', 'allowed', 0, '', ?, ?, ?)",
         (forged, leaf_hash(forged), bytes(32)))
    assert _position(slog) == 30


def test_reordered_entries_detected(tlog: AuditLog) -> None:
    tlog.sequence()
    _sql(tlog, "UPDATE audit_entries SET seq = -1 WHERE seq = 21")
    _sql(tlog, "UPDATE audit_entries SET seq = 21 WHERE seq = 22")
    _sql(tlog, "UPDATE audit_entries SET seq = 22 WHERE seq = -1")
    assert _position(tlog) == 21


def test_truncated_tail_detected(slog: AuditLog) -> None:
    slog.sequence()
    _sql(slog, "DELETE FROM audit_entries WHERE seq >= 25")
    assert _position(slog) == 25


def test_truncation_below_a_checkpoint_detected_even_with_head_reset(slog: AuditLog) -> None:
    slog.sequence()
    _sql(slog, "DELETE FROM audit_entries WHERE seq >= 15")
    from finprivacy.audit._log import _integrate
    from finprivacy.audit._store import TreeState

    raws = [(i, _raw(slog, i)) for i in range(15)]
    st = _integrate(TreeState(0, bytes(32), ()), raws).state
    _sql(slog, "UPDATE audit_state SET size = 15, chain = ?, frontier = ? WHERE id = 1",
         (st.chain, b"".join(st.frontier)))
    assert _position(slog) == 15  # the checkpoint at size 20 covers entries that are gone


def test_bad_checkpoint_signature_detected(slog: AuditLog) -> None:
    _sql(slog, "UPDATE audit_checkpoints SET signature = ? WHERE size = 20", (bytes(64),))
    assert _position(slog) == 19


def test_checkpoint_with_wrong_root_detected(slog: AuditLog) -> None:
    slog.sequence()
    cp = slog.checkpoints()[0]
    body = Checkpoint.make_body(origin=cp.origin, size=cp.size, root=bytes(32), chain=cp.chain,
                                time=cp.time, key_id=cp.key_id)
    _sql(slog, "UPDATE audit_checkpoints SET body = ?, signature = ? WHERE size = 20",
         (body, SIGNER.sign(body)))
    assert _position(slog) == 19


def test_checkpoint_signed_by_an_unknown_key_detected(slog: AuditLog) -> None:
    other = AuditLog("memory:", signer=fp.Ed25519Signer.generate(), origin="lotus/audit")
    _fill(other, 2)
    forged = other.checkpoint()
    slog.store.add_checkpoint(
        __import__("finprivacy.audit._store", fromlist=["x"]).StoredCheckpoint(
            forged.body, forged.signature), forged.size)
    assert _position(slog) == 1


def test_memory_store_tampering_detected() -> None:
    log = _log("memory:")
    _fill(log, 10)
    log.sequence()
    store = log.store
    assert isinstance(store, MemoryAuditStore)
    entry = StoredEntry(*store._entries[4])
    store._entries[4] = entry._replace(raw=entry.raw.replace(b"amy", b"eve"))
    assert _position(log) == 4
    store._entries[4] = entry
    log.verify()
    del store._entries[6]
    assert _position(log) == 6


# -- crash safety -----------------------------------------------------------------------------


def test_crash_between_append_and_sequencing_loses_nothing(db_url: str) -> None:
    log = _log(db_url, sequence_every=None, sequencing="deferred")
    receipts = [log.append("read", actor="amy", subject=f"c{i}") for i in range(12)]
    log.close()
    del log  # the process "crashes": nothing was sequenced
    again = _log(db_url, sequence_every=None, sequencing="deferred")
    assert again.pending() == 12 and again.size == 0
    assert again.sequence() == 12
    assert sorted(again.locate(r) for r in receipts) == list(range(12))
    again.checkpoint()
    assert again.verify().size == 12


def test_killed_process_between_append_and_sequencing(sqlite_url: str, tmp_path: object) -> None:
    import subprocess
    import sys

    code = (
        "import os, finprivacy as fp\n"
        f"log = fp.AuditLog({sqlite_url!r}, sequence_every=None, sequencing='deferred')\n"
        "for i in range(7): log.append('read', actor='amy', subject=f'c{i}')\n"
        "os._exit(9)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, timeout=120)
    assert out.returncode == 9
    log = _log(sqlite_url)
    assert log.pending() == 7
    log.checkpoint()
    assert log.verify().size == 7
    assert {e.subject for e in log.query(actor="amy")} == {f"c{i}" for i in range(7)}


# -- segments and pruning ---------------------------------------------------------------------


def test_segments_close_prune_and_proofs_still_verify(store_url: str) -> None:
    clock = fp.FixedClock(T0)
    log = _log(store_url, clock=clock, retention=dt.timedelta(days=365))
    _fill(log, 13)
    jan = log.close_segment()
    clock.advance(dt.timedelta(days=31))
    _fill(log, 9, start=13)
    feb = log.close_segment()
    clock.advance(dt.timedelta(days=28))
    _fill(log, 11, start=22)
    mar = log.checkpoint()
    assert (jan.start, jan.end, feb.start, feb.end) == (0, 13, 13, 22)
    assert log.prune() == []  # nothing is old enough
    clock.advance(dt.timedelta(days=340))
    pruned = log.prune()
    assert [s.number for s in pruned] == [1, 2]
    assert [s.pruned for s in log.segments()] == [True, True]
    with pytest.raises(fp.NotFoundError):
        log.entry(5)
    with pytest.raises(fp.NotFoundError):
        log.inclusion_proof(5)
    report = log.verify()
    assert (report.start, report.size, report.checked_entries) == (22, 33, 11)
    now = log.checkpoint()
    for seq in range(22, 33):
        log.inclusion_proof(seq, now.size).verify(log.entry(seq).raw, now, SIGNER.verifier())
    log.consistency_proof(feb.end, now.size).verify(feb.checkpoint, now, SIGNER.verifier())
    log.consistency_proof(mar.size, now.size).verify(mar, now, SIGNER.verifier())
    with pytest.raises(fp.NotFoundError):
        log.consistency_proof(jan.end, now.size)
    buf = io.StringIO()
    log.export(buf)
    got = verify_export(buf.getvalue().splitlines(), keys=SIGNER.verifier())
    assert (got.start, got.size) == (22, 33)
    _fill(log, 5, start=40)
    assert log.verify().size == 38


def test_prune_needs_retention() -> None:
    log = _log("memory:")
    with pytest.raises(fp.ConfigurationError):
        log.prune()


# -- safety of the surface --------------------------------------------------------------------


def test_no_secret_in_repr_pickle_or_errors() -> None:
    signer = fp.Ed25519Signer.generate()
    private = signer.export_private_bytes()
    log = AuditLog("memory:", signer=signer)
    for text in (repr(signer), repr(log), str(log)):
        assert private.hex() not in text and "private" not in text.lower()
    with pytest.raises(TypeError):
        pickle.dumps(signer)
    card = "6222020200112233445"
    with pytest.raises(fp.InvalidInputError) as info:
        log.append("read", actor="amy", reason=card * 100)
    assert card not in str(info.value)
    with pytest.raises(fp.InvalidInputError) as info2:
        log.append("read", actor="amy", details={f"card {card}": "x"})
    assert card not in str(info2.value)
    with pytest.raises(fp.FormatError) as info3:
        fp.audit.decode_entry(b'{"card":"' + card.encode() + b'"}')
    assert card not in str(info3.value)


def test_input_errors_are_typed() -> None:
    log = _log("memory:")
    with pytest.raises(fp.InvalidInputError):
        log.append("")
    with pytest.raises(fp.InvalidInputError):
        log.append("read", decision="maybe")  # type: ignore[arg-type]
    with pytest.raises(fp.InvalidTimeError):
        log.append("read", time=dt.datetime(2026, 1, 1))  # naive
    with pytest.raises(fp.InvalidInputError):
        log.inclusion_proof(0)
    with pytest.raises(fp.ConfigurationError):
        AuditLog("memory:").close_segment()  # a segment needs a signed checkpoint
    with pytest.raises(fp.ConfigurationError):
        AuditLog("memory:", origin="has space")


def test_proof_objects_roundtrip_json() -> None:
    log = _log("memory:")
    _fill(log, 9)
    cp = log.checkpoint()
    p = log.inclusion_proof(4)
    assert InclusionProof.from_json(p.to_json()) == p
    c = log.consistency_proof(3)
    assert ConsistencyProof.from_json(c.to_json()) == c
    assert Checkpoint.from_json(cp.to_json()) == cp
    with pytest.raises(fp.AuditIntegrityError):
        p.verify(log.entry(5).raw, cp, SIGNER.verifier())


def test_key_rotation_keeps_old_checkpoints_verifiable() -> None:
    store = MemoryAuditStore()
    old = fp.Ed25519Signer.generate()
    first = AuditLog(store, signer=old)
    _fill(first, 5)
    first.checkpoint()
    new = fp.Ed25519Signer.generate()
    rotated = AuditLog(store, signer=new, verifiers=[old.verifier()])
    _fill(rotated, 5, start=5)
    rotated.checkpoint()
    assert rotated.verify().checked_checkpoints == 2
    assert {c.key_id for c in rotated.checkpoints()} == {old.key_id, new.key_id}
    with pytest.raises(fp.AuditIntegrityError) as info:
        AuditLog(store, signer=new).verify()  # the old key is not trusted
    assert info.value.position == 4


@pytest.mark.parametrize("mode", ["inline", "deferred"])
def test_threads_share_commits_and_lose_nothing(sqlite_url: str, mode: str) -> None:
    import threading

    log = _log(sqlite_url, sequencing=mode, sequence_every=16)
    ids: list[str] = []
    lock = threading.Lock()

    def work(t: int) -> None:
        for i in range(15):
            r = log.append("read", actor=f"t{t}", subject=f"c{i}")
            with lock:
                ids.append(r.entry_id)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    log.checkpoint()
    assert log.verify().size == 90
    assert sorted(e.entry_id for e in log.query()) == sorted(ids)


def test_integrate_matches_a_compact_range_reference_for_any_batching() -> None:
    """The sequencer's batch function (left leaf kept aside, node indexes from the size)
    gives the same leaves, chain, new nodes and head as a plain CompactRange, however
    the entries are split into batches."""
    import random

    from finprivacy.audit._log import _integrate
    from finprivacy.audit._merkle import CompactRange
    from finprivacy.audit._store import TreeState

    rng = random.Random(7)
    raws = [rng.randbytes(rng.randrange(0, 40)) for _ in range(300)]
    for _ in range(20):
        state = TreeState(0, bytes(32), ())
        ref = CompactRange()
        chain = bytes(32)
        i = 0
        while i < len(raws):
            batch = list(enumerate(raws[i:i + rng.randrange(0, 12)], i))
            result = _integrate(state, batch)
            nodes: list[tuple[int, int, bytes]] = []
            assigned = []
            for key, raw in batch:
                leaf = leaf_hash(raw)
                chain = chain_hash(chain, leaf)
                assigned.append((key, ref.size, leaf, chain))
                ref.append(leaf, nodes)
            assert list(result.assigned) == assigned
            assert list(result.nodes) == nodes
            assert result.state == TreeState(ref.size, chain, tuple(ref.frontier))
            state = result.state
            i += len(batch)


@pytest.mark.parametrize("boundary", [1, 7, 8, 13])
def test_verify_checks_a_checkpoint_at_every_size_after_an_odd_or_even_prune(
        boundary: int) -> None:
    """verify keeps an even leaf aside for its sibling: checkpoints at every size (odd
    and even), a pruned boundary at odd and even sizes, and a modified entry after it."""
    clock = fp.FixedClock(T0)
    log = _log("memory:", clock=clock, retention=dt.timedelta(days=1))
    _fill(log, boundary)
    log.close_segment()
    clock.advance(dt.timedelta(days=2))
    assert [s.end for s in log.prune()] == [boundary]
    for i in range(boundary, boundary + 19):
        _fill(log, 1, start=i)
        log.checkpoint()
    report = log.verify()
    assert (report.start, report.size, report.checked_entries) == (boundary, boundary + 19, 19)
    assert report.checked_checkpoints == 20
    store = log.store
    assert isinstance(store, MemoryAuditStore)
    seq, raw, leaf, chain = store._entries[boundary + 4]
    store._entries[boundary + 4] = (seq, raw.replace(b'"amy"', b'"eve"'), leaf, chain)
    with pytest.raises(fp.AuditIntegrityError) as err:
        log.verify()
    assert err.value.position == boundary + 4


def test_sequencer_runs_every_sequence_every_appends() -> None:
    """append() counts without a lock (an atomic counter): sequencing still runs after
    exactly sequence_every appends, append_many counting each of its events."""
    log = AuditLog("memory:", sequence_every=5)
    for round_ in range(3):
        for i in range(4):
            log.append("read", actor="amy")
            assert log.pending() == i + 1, round_
        log.append("read", actor="amy")
        assert log.pending() == 0
    log.append_many([AuditEvent(action="read")] * 3)
    assert log.pending() == 3
    log.append("read")
    assert log.pending() == 4
    log.append_many([AuditEvent(action="read")] * 2)
    assert log.pending() == 0
    assert log.size == 21
