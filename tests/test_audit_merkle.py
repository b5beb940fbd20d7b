"""RFC 6962/9162 Merkle proofs checked against a plain reference computation of the tree.

The reference below is the RFC's recursive definitions written out literally over a
list of leaf hashes: MTH, PATH and SUBPROOF (RFC 9162 sections 2.1.1, 2.1.3.1,
2.1.4.1). The log's proofs come from stored perfect subtrees instead, so the two are
independent. Every tree size 1..100, every leaf and every (m, n) pair is checked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.audit import AuditLog, verify_consistency, verify_inclusion
from finprivacy.audit._merkle import (
    EMPTY_ROOT,
    CompactRange,
    hashes_for_ranges,
    inclusion_ranges,
    leaf_hash,
    node_hash,
)

N = 100


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _ref_leaves() -> tuple[list[bytes], AuditLog]:
    clock = fp.FixedClock(dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC))
    log = AuditLog("memory:", signer=fp.Ed25519Signer.generate(), clock=clock,
                   sequence_every=None)
    for i in range(N):
        log.append("read", actor="amy", subject=f"client-{i}", decision="allowed")
    log.sequence()
    leaves = [hashlib.sha256(b"\x00" + log.entry(i).raw).digest() for i in range(N)]
    return leaves, log


LEAVES, LOG = _ref_leaves()


@cache
def mth(lo: int, hi: int) -> bytes:
    """RFC 9162 2.1.1: MTH(D[lo:hi]) by plain recursion."""
    n = hi - lo
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return LEAVES[lo]
    k = _k(n)
    return hashlib.sha256(b"\x01" + mth(lo, lo + k) + mth(lo + k, hi)).digest()


def ref_path(m: int, lo: int, hi: int) -> list[bytes]:
    """RFC 9162 2.1.3.1: PATH(m, D[lo:hi])."""
    n = hi - lo
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*ref_path(m, lo, lo + k), mth(lo + k, hi)]
    return [*ref_path(m - k, lo + k, hi), mth(lo, lo + k)]


def ref_subproof(m: int, lo: int, hi: int, b: bool) -> list[bytes]:
    """RFC 9162 2.1.4.1: SUBPROOF(m, D[lo:hi], b)."""
    n = hi - lo
    if m == n:
        return [] if b else [mth(lo, hi)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, lo, lo + k, b), mth(lo + k, hi)]
    return [*ref_subproof(m - k, lo + k, hi, False), mth(lo, lo + k)]


def test_reference_matches_rfc6962_hashing() -> None:
    assert mth(0, 0) == EMPTY_ROOT
    assert mth(0, 2) == node_hash(LEAVES[0], LEAVES[1])
    assert LEAVES[0] == leaf_hash(LOG.entry(0).raw)


def test_compact_range_root_for_every_size() -> None:
    cr = CompactRange()
    assert cr.root() == EMPTY_ROOT
    for n in range(1, N + 1):
        cr.append(LEAVES[n - 1])
        assert cr.root() == mth(0, n), n


def test_inclusion_proofs_every_size_every_leaf() -> None:
    checked = 0
    for n in range(1, N + 1):
        root = mth(0, n)
        for m in range(n):
            proof = LOG.inclusion_proof(m, n)
            assert list(proof.hashes) == ref_path(m, 0, n), (m, n)
            by_ranges = hashes_for_ranges(inclusion_ranges(m, n), LOG.store.nodes)
            assert by_ranges == list(proof.hashes)  # the two generators agree
            verify_inclusion(m, n, LEAVES[m], proof.hashes, root)
            checked += 1
    assert checked == N * (N + 1) // 2


def test_consistency_proofs_every_pair() -> None:
    checked = 0
    for n in range(1, N + 1):
        new_root = mth(0, n)
        for m in range(1, n + 1):
            proof = LOG.consistency_proof(m, n)
            expected = [] if m == n else ref_subproof(m, 0, n, True)
            assert list(proof.hashes) == expected, (m, n)
            verify_consistency(m, n, mth(0, m), new_root, proof.hashes)
            checked += 1
    assert checked == N * (N + 1) // 2


@pytest.mark.parametrize(("m", "n"), [(0, 1), (3, 7), (6, 7), (31, 64), (63, 100), (99, 100)])
def test_inclusion_proof_rejects_every_single_change(m: int, n: int) -> None:
    proof = list(ref_path(m, 0, n))
    root = mth(0, n)
    with pytest.raises(fp.AuditIntegrityError):
        verify_inclusion(m, n, hashlib.sha256(LEAVES[m]).digest(), proof, root)
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes(32)
        with pytest.raises(fp.AuditIntegrityError):
            verify_inclusion(m, n, LEAVES[m], bad, root)
    with pytest.raises(fp.AuditIntegrityError):
        verify_inclusion(m, n, LEAVES[m], [*proof, bytes(32)], root)
    if proof:
        with pytest.raises(fp.AuditIntegrityError):
            verify_inclusion(m, n, LEAVES[m], proof[:-1], root)
    if n > 1:
        with pytest.raises(fp.AuditIntegrityError):
            verify_inclusion((m + 1) % n, n, LEAVES[m], proof, root)


@pytest.mark.parametrize(("m", "n"), [(1, 2), (3, 7), (4, 7), (32, 64), (63, 100), (99, 100)])
def test_consistency_proof_rejects_every_single_change(m: int, n: int) -> None:
    proof = ref_subproof(m, 0, n, True)
    old, new = mth(0, m), mth(0, n)
    verify_consistency(m, n, old, new, proof)
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = hashlib.sha256(bad[i]).digest()
        with pytest.raises(fp.AuditIntegrityError):
            verify_consistency(m, n, old, new, bad)
    with pytest.raises(fp.AuditIntegrityError):
        verify_consistency(m, n, new, old, proof)
    with pytest.raises(fp.AuditIntegrityError):
        verify_consistency(m, n, old, new, [])
    with pytest.raises(fp.AuditIntegrityError):
        verify_consistency(m, n, old, new, [*proof, bytes(32)])


_hash = st.binary(min_size=32, max_size=32)
_junk = st.one_of(_hash, st.binary(max_size=40), st.text(max_size=5), st.integers(), st.none())


@given(index=st.integers(-3, 130), size=st.integers(-3, 130),
       leaf=st.one_of(_hash, _junk), path=st.lists(st.one_of(_hash, _junk), max_size=9),
       root=st.one_of(_hash, _junk))
def test_inclusion_verifier_garbage_never_verifies(index: object, size: object, leaf: object,
                                                   path: list[object], root: object) -> None:
    try:
        verify_inclusion(index, size, leaf, path, root)  # type: ignore[arg-type]
    except (fp.AuditIntegrityError, fp.InvalidInputError):
        return
    pytest.fail("garbage verified")


@given(m=st.integers(1, N), n=st.integers(1, N), data=st.data())
def test_consistency_verifier_garbage_never_verifies(m: int, n: int, data: st.DataObject) -> None:
    proof = data.draw(st.lists(st.one_of(_hash, _junk), max_size=9))
    if m <= n and proof == ref_subproof(m, 0, n, True):
        return  # the one genuine proof
    if m == n and not proof:
        return
    try:
        verify_consistency(m, n, mth(0, min(m, N)), mth(0, min(n, N)), proof)  # type: ignore[arg-type]
    except (fp.AuditIntegrityError, fp.InvalidInputError):
        return
    pytest.fail("garbage verified")


@given(m=st.integers(0, N - 1), n=st.integers(1, N), path=st.lists(_hash, max_size=8))
def test_random_inclusion_paths_never_verify(m: int, n: int, path: list[bytes]) -> None:
    if m >= n or path == ref_path(m, 0, n):
        return
    with pytest.raises(fp.AuditIntegrityError):
        verify_inclusion(m, n, LEAVES[m], path, mth(0, n))
