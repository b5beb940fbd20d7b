"""Lotus Bookkeeping's audit log: who saw which client's data, provably.

A month of staff reads is logged to an SQLite file; a checkpoint is signed at the end
of each week; a monitor flags a bulk read late at night; the compliance officer runs
an access review and scopes the incident; an auditor receives an export and checks it
with the stand-alone verifier, using only the public key. Then someone edits the
database behind the log's back, and verification names the entry.

Run: ``python examples/audit_log.py`` (no server needed, about a second).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import finprivacy as fp
from finprivacy.audit.__main__ import main as verifier_main

STAFF = {"staff-amy": "account_verification", "staff-bob": "tax_filing",
         "staff-eve": "bookkeeping"}
CLIENTS = [f"client-{i:04d}" for i in range(1, 301)]


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="lotus-audit-"))
    url = f"sqlite:///{workdir / 'audit.db'}"
    clock = fp.FixedClock(dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC))  # 09:30 in Shanghai
    signer = fp.Ed25519Signer.generate()
    alerts: list[fp.Alert] = []
    monitor = fp.Monitor(
        [fp.BulkReadRule(max_subjects=40, window=dt.timedelta(minutes=30)),
         fp.OffHoursRule("Asia/Shanghai", start=dt.time(8), end=dt.time(19)),
         fp.BreakGlassRule()],
        on_alert=alerts.append)
    log = fp.AuditLog(url, signer=signer, origin="lotus-bookkeeping/audit", clock=clock,
                      monitors=[monitor], retention=dt.timedelta(days=3650))

    # Four working weeks of ordinary reads, a checkpoint every Friday evening.
    checkpoints = []
    for week in range(4):
        for day in range(5):
            for k, (staff, purpose) in enumerate(STAFF.items()):
                client = CLIENTS[(week * 37 + day * 11 + k * 5) % len(CLIENTS)]
                log.append("read", actor=staff, subject=client, purpose=purpose,
                           fields_returned=("name", "phone"), fields_masked=("bank_card",),
                           decision="masked", request_id=f"w{week}d{day}k{k}")
                clock.advance(dt.timedelta(minutes=17))
            clock.advance(dt.timedelta(days=1) - dt.timedelta(minutes=51))
        checkpoints.append(log.checkpoint())
        clock.advance(dt.timedelta(days=2))
    print(f"{log.size} entries, {len(checkpoints)} weekly checkpoints signed by key "
          f"{signer.key_id}")

    # 23:10 in Shanghai: staff-eve pages through 60 clients' bank details.
    clock.set(dt.datetime(2026, 3, 30, 15, 10, tzinfo=dt.UTC))
    for client in CLIENTS[100:160]:
        log.append("read", actor="staff-eve", subject=client, purpose="bookkeeping",
                   fields_returned=("name", "bank_card", "id_number"), decision="allowed")
        clock.advance(dt.timedelta(seconds=20))
    for alert in alerts:
        print(f"ALERT {alert.rule}: {alert.message}")

    # The compliance officer: an access review for March and the incident's scope.
    march = (dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    for row in log.access_review(*march).rows:
        print(f"review  {row.actor:<10} {row.purpose:<21} {len(row.subjects):>3} clients, "
              f"fields {', '.join(row.fields)}")
    scope = log.incident_scope(actor="staff-eve",
                               start=dt.datetime(2026, 3, 30, 15, tzinfo=dt.UTC))
    print(f"incident: staff-eve touched {len(scope.subjects)} clients; fields of "
          f"{scope.subjects[0]}: {', '.join(scope.fields_by_subject[scope.subjects[0]])}")

    # The auditor kept the first weekly checkpoint; today's log must extend it.
    kept, now = checkpoints[0], log.checkpoint()
    verifier = fp.Ed25519Verifier(signer.public_key_bytes())
    log.consistency_proof(kept.size, now.size).verify(kept, now, verifier)
    entry = log.query(actor="staff-eve", subject=CLIENTS[100])[0]
    log.inclusion_proof(entry.seq or 0, now.size).verify(entry.raw, now, verifier)
    print(f"auditor: checkpoint {now.size} extends checkpoint {kept.size}; entry "
          f"{entry.seq} is in the log")

    # An export the auditor verifies on their own machine.
    export = workdir / "audit-2026-03.jsonl"
    log.export(str(export), inclusion_for=[entry.seq or 0])
    pub = workdir / "lotus.pub"
    pub.write_text(signer.public_key_bytes().hex())
    code = verifier_main(["verify", str(export), "--public-key", str(pub)])
    print(f"stand-alone verifier exit code: {code}")

    # Someone with database access quietly rewrites an entry.
    log.close()
    with closing(sqlite3.connect(workdir / "audit.db")) as db, db:
        raw = db.execute("SELECT raw FROM audit_entries WHERE seq = 42").fetchone()[0]
        db.execute("UPDATE audit_entries SET raw = ? WHERE seq = 42",
                   (raw.replace(b"staff-", b"temp-"),))
    try:
        fp.AuditLog(url, signer=signer, origin="lotus-bookkeeping/audit").verify()
    except fp.AuditIntegrityError as exc:
        print(f"tampering detected at entry {exc.position}: {exc}")


if __name__ == "__main__":
    main()
