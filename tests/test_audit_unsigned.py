"""A log made as DESIGN.md writes it, without a signer: fp.AuditLog(store)."""

from __future__ import annotations

import pytest

import finprivacy as fp


def test_design_md_calls_work_without_a_signer(store_url: str) -> None:
    log = fp.AuditLog(store_url)
    log.append("read", actor="staff-1", subject="client-42", purpose="bookkeeping",
               fields_returned=("name",))
    log.verify()
    head = log.checkpoint()
    assert head.size == 1 and not head.signed and head.key_id == ""
    assert log.checkpoints() == []  # an unsigned head is never stored
    # The unsigned root still anchors proofs.
    entry = log.entry(0)
    proof = log.inclusion_proof(0, head.size)
    fp.verify_inclusion(0, head.size, entry.leaf_hash, proof.hashes, head.root)
    log.append("read", actor="staff-1", subject="client-7")
    later = log.checkpoint()
    consistency = log.consistency_proof(head.size, later.size)
    fp.verify_consistency(head.size, later.size, head.root, later.root, consistency.hashes)
    with pytest.raises(fp.ConfigurationError, match="signer"):
        log.close_segment()
    log.verify()


def test_signed_checkpoints_say_so() -> None:
    log = fp.AuditLog("memory:", signer=fp.Ed25519Signer.generate())
    log.append("read", actor="a")
    cp = log.checkpoint()
    assert cp.signed and cp.key_id
    assert log.checkpoints() == [cp]
