"""The audit log's public API as users write it; checked by mypy --strict, never run."""

from __future__ import annotations

import datetime as dt
import io

import finprivacy as fp
from finprivacy.audit import AuditSink, ExportReport, Segment, VerifyReport


def audit_usage() -> None:
    signer: fp.Ed25519Signer = fp.Ed25519Signer.generate()
    verifier: fp.Ed25519Verifier = fp.Ed25519Verifier(signer.public_key_bytes())
    key_id: str = signer.key_id
    log = fp.AuditLog("sqlite:///audit.db", signer=signer, origin="lotus/audit",
                      retention=dt.timedelta(days=3650), clock=fp.SystemClock())
    sink: AuditSink = log
    receipt: fp.AuditReceipt = log.append(
        "read", actor="staff-017", subject="client-42", purpose="account_verification",
        fields_returned=("name",), fields_masked=("bank_card",), decision="masked")
    log.record(fp.AuditEvent(action="update", actor="staff-017", subject="client-42"))
    receipts: list[fp.AuditReceipt] = log.append_many([fp.AuditEvent(action="read")])
    placed: int = log.sequence()
    seq: int = log.locate(receipt)
    cp: fp.Checkpoint = log.checkpoint()
    report: VerifyReport = log.verify(keys=verifier)
    entry: fp.AuditEntry = log.entry(seq)
    raw: bytes = entry.raw
    inclusion: fp.InclusionProof = log.inclusion_proof(seq, cp.size)
    inclusion.verify(raw, cp, verifier)
    consistency: fp.ConsistencyProof = log.consistency_proof(1, cp.size)
    consistency.verify(cp, cp, {verifier.key_id: verifier})
    fp.verify_inclusion(seq, cp.size, entry.leaf_hash, inclusion.hashes, cp.root)
    fp.verify_consistency(1, cp.size, cp.root, cp.root, consistency.hashes)
    fp.verify_checkpoint(cp, [verifier])
    found: list[fp.AuditEntry] = log.query(actor="staff-017", start=cp.time, limit=10)
    review: fp.AccessReview = log.access_review(cp.time, cp.time + dt.timedelta(days=1))
    scope: fp.IncidentScope = log.incident_scope(key_id="k-2026")
    subjects: tuple[str, ...] = scope.subjects
    segment: Segment = log.close_segment()
    pruned: list[Segment] = log.prune()
    buf = io.StringIO()
    final: fp.Checkpoint = log.export(buf, inclusion_for=[seq])
    checked: ExportReport = fp.verify_export(buf.getvalue().splitlines(), keys=verifier)
    alerts: list[fp.Alert] = fp.Monitor(
        [fp.BulkReadRule(50, dt.timedelta(minutes=10)), fp.OffHoursRule("Asia/Shanghai"),
         fp.BreakGlassRule(), fp.DeniedBurstRule(5, dt.timedelta(minutes=5))],
        on_alert=print,
    ).observe(fp.AuditEvent(action="read", time=cp.time))
    try:
        log.verify()
    except fp.AuditIntegrityError as exc:
        position: int | None = exc.position
        print(position)
    print(key_id, sink, receipts, placed, report, found, review, subjects, segment, pruned,
          final, checked, alerts)
