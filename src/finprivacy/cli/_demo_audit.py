"""Demo chapter: every staff read at Lotus Bookkeeping lands in a tamper-evident log.

Keeps the log in ``lotus-audit.db`` (recreated on each run) and the auditor's export in
``lotus-audit-export.jsonl``. The story: staff read clients' records for their
purposes; the log signs a checkpoint; an external auditor, holding only the public key
and last month's checkpoint, checks that an access record is in the log (inclusion
proof) and that today's log extends the one they kept (consistency proof); a monitor
raises an alert when a junior bookkeeper pages through dozens of clients at night; and
an entry edited directly in the database is caught at its position.
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from ..audit import (
    Alert,
    AuditLog,
    BulkReadRule,
    Monitor,
    OffHoursRule,
    verify_export,
)
from ..clock import FixedClock
from ..crypto import Ed25519Signer
from ..errors import AuditIntegrityError
from ..storage._audit import SqlAuditStore

__all__ = ["chapter"]

_STAFF = (("staff-wang", "account_verification"), ("staff-li", "tax_filing"),
          ("staff-zhao", "bookkeeping"))


def chapter(workdir: Path, say: Callable[[str], None]) -> None:
    """Tell the audit part of the Lotus Bookkeeping story."""
    path = workdir / "lotus-audit.db"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    store = SqlAuditStore.open(f"sqlite:///{path}")
    try:
        _story(store, path, workdir, say)
    finally:
        store.close()


def _story(store: SqlAuditStore, path: Path, workdir: Path,
           say: Callable[[str], None]) -> None:
    clock = FixedClock(_dt.datetime(2025, 3, 3, 1, 30, tzinfo=_dt.UTC))  # 09:30 Shanghai
    signer = Ed25519Signer.generate()
    alerts: list[Alert] = []
    monitor = Monitor([BulkReadRule(max_subjects=20, window=_dt.timedelta(minutes=30)),
                       OffHoursRule("Asia/Shanghai")], on_alert=alerts.append)
    log = AuditLog(store, signer=signer, origin="lotus-bookkeeping/audit", clock=clock,
                   monitors=[monitor])
    for day in range(3):
        for k, (staff, purpose) in enumerate(_STAFF):
            log.append("read", actor=staff, subject=f"client-{day * 3 + k + 1}",
                       purpose=purpose, fields_returned=("name", "phone"),
                       fields_masked=("bank_card", "id_number"), decision="masked")
            clock.advance(_dt.timedelta(minutes=40))
        clock.advance(_dt.timedelta(hours=22))
    kept = log.checkpoint()
    say(f"Staff reads logged: {kept.size} entries; checkpoint signed by key {signer.key_id}")
    say("  an auditor keeps this checkpoint and the 32-byte public key, nothing else")

    clock.set(_dt.datetime(2025, 3, 6, 14, 5, tzinfo=_dt.UTC))  # 22:05 in Shanghai
    for n in range(30):
        log.append("read", actor="staff-zhao", subject=f"client-{100 + n}",
                   purpose="bookkeeping", fields_returned=("name", "bank_card"),
                   decision="allowed")
        clock.advance(_dt.timedelta(seconds=30))
    for alert in alerts:
        say(f"  ALERT ({alert.rule}) {alert.message}")
    say(f"  the alerts are in the log too: "
        f"{len(log.query(action='monitor.alert'))} monitor.alert entries")

    now = log.checkpoint()
    verifier = signer.verifier()
    target = log.query(actor="staff-li", subject="client-2")[0]
    log.inclusion_proof(target.seq or 0, now.size).verify(target.raw, now, verifier)
    log.consistency_proof(kept.size, now.size).verify(kept, now, verifier)
    say(f"Auditor: staff-li's read of client-2 (entry {target.seq}) is in the log of "
        f"{now.size} entries, and that log extends the checkpoint kept at {kept.size}")
    export = workdir / "lotus-audit-export.jsonl"
    log.export(str(export), inclusion_for=[target.seq or 0])
    report = verify_export(str(export), keys=verifier)
    say(f"  export {export.name}: {report.entries} entries, {report.checkpoints} "
        f"checkpoints, {report.proofs} proofs verified with the public key alone")

    store.close()
    with closing(sqlite3.connect(path)) as db, db:
        raw = db.execute("SELECT raw FROM audit_entries WHERE seq = 4").fetchone()[0]
        db.execute("UPDATE audit_entries SET raw = ? WHERE seq = 4",
                   (raw.replace(b'"masked"', b'"denied"'),))  # hide that data was shown
    try:
        AuditLog(SqlAuditStore.open(f"sqlite:///{path}"), signer=signer,
                 origin="lotus-bookkeeping/audit").verify()
    except AuditIntegrityError as exc:
        say(f"Someone edited entry 4 directly in the database: verify() stops at entry "
            f"{exc.position} ({exc})")
    else:  # pragma: no cover - the edit above always breaks the chain
        say("verify() passed: the edit was not detected")
