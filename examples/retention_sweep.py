"""A year-end disposal sweep at a bookkeeping firm, end to end, on SQLite.

* the firm's archive index lives in an SQLite table; records are streamed from it;
* the schedule is China's 2015 accounting archive table plus the 2007 AML period;
* a tax audit holds one client's records; a receivable dispute is raised mid-sweep;
* the sweep "crashes" half-way and is re-run: nothing is disposed of twice;
* the 销毁清册 certificate is printed and appended to an audit sink;
* finally a client's erasure request is weighed against the retention duties.

Run: ``python examples/retention_sweep.py`` (about a second).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from finprivacy import retention as rt
from finprivacy.audit.events import AuditEvent
from finprivacy.clock import FixedClock
from finprivacy.retention import presets

NOW = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)  # 09:30 in Shanghai


class PrintingAuditSink:
    """Stands in for the firm's AuditLog."""

    def record(self, event: AuditEvent) -> object:
        print(f"[audit] {event.action} by {event.actor}: "
              f"{event.details.get('disposed')} disposed, sha256 "
              f"{event.details.get('certificate_sha256', '')[:16]}…")
        return None


def build_archive(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE archive (id TEXT PRIMARY KEY, class TEXT, client TEXT, "
               "dated TEXT, name TEXT, relationship_end TEXT)")
    rows: list[tuple[str, str, str, str, str, str | None]] = []
    for c in range(1, 31):
        client = f"client-{c:03d}"
        for year in (2013, 2014, 2015):
            rows.append((f"{client}-bs-{year}", "bank_statement", client, f"{year}-12-31",
                         f"{client} {year}年银行对账单", None))
            rows.append((f"{client}-v-{year}", "bookkeeping_voucher", client, f"{year}-12-31",
                         f"{client} {year}年记账凭证", None))
        ended = "2019-06-30" if c % 3 == 0 else None
        rows.append((f"{client}-kyc", "aml.customer_identification", client, "2012-05-01",
                     f"{client} 客户身份资料", ended))
    db.executemany("INSERT INTO archive VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.commit()


def stream(db: sqlite3.Connection) -> Iterator[rt.RetentionRecord]:
    """Stream records from the archive index, one row at a time."""
    for rid, cls, client, dated, name, ended in db.execute(
            "SELECT id, class, client, dated, name, relationship_end FROM archive ORDER BY id"):
        events = {"relationship_end": dt.date.fromisoformat(ended)} if ended else {}
        yield rt.RetentionRecord(id=rid, record_class=cls, subject=client, name=name,
                                 created=dt.date.fromisoformat(dated), events=events)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "archive.db")
        build_archive(db)
        store = f"sqlite:///{Path(tmp) / 'retention.db'}"
        clock = FixedClock(NOW)
        schedule = presets.china_enterprise(aml_years=5, name="Lotus policy 2026")

        holds = rt.LegalHolds(store, clock=clock)
        holds.place(matter=rt.HoldMatter.TAX_AUDIT, reason="2013-2015 tax audit",
                    placed_by="partner.wang", subjects={"client-007"},
                    reference="税稽通〔2026〕12号", hold_id="H-tax-007")

        summary = rt.plan(stream(db), NOW, schedule=schedule, holds=holds)
        for _ in summary:
            pass
        s = summary.summary
        print(f"plan: {s.total} records, {s.due} due, {s.kept} kept "
              f"({s.pending} waiting for an event), {s.held} held")

        class Crash(Exception):
            pass

        disposed: list[str] = []

        def handler(d: rt.Disposition) -> str:
            if len(disposed) == 10 and not crashed:
                raise Crash("power cut")
            if d.record.id == "client-020-bs-2015":
                # A receivable dispute surfaces while the sweep runs (Art. 19).
                holds.place(matter=rt.HoldMatter.UNSETTLED_RECEIVABLE,
                            reason="disputed 2015 invoice", placed_by="ar.clerk",
                            subjects={"client-021"}, hold_id="H-ar-021")
            db.execute("DELETE FROM archive WHERE id = ?", (d.record.id,))
            db.commit()
            disposed.append(d.record.id)
            return "index row deleted; paper volume shredded"

        def sweep(audit: PrintingAuditSink | None = None) -> rt.DisposalCertificate:
            # The default sweep id (the day and the schedule) makes a re-run resume.
            return rt.execute(
                rt.plan(stream(db), NOW, schedule=schedule, holds=holds), handler,
                journal=store, actor="archivist.chen", clock=clock, audit=audit,
                approvals=[rt.Signatory("王芳", "单位负责人"),
                           rt.Signatory("李娜", "会计机构负责人")],
                witnesses=[rt.Signatory("赵磊", "监销人")])

        crashed = False
        try:
            sweep()
        except Crash:
            crashed = True
            print(f"crash after {len(disposed)} disposals; re-running the same sweep")
        cert = sweep(PrintingAuditSink())
        assert len(disposed) == len(set(disposed)) == len(cert.lines)
        print(f"certificate: {len(cert.lines)} disposed, {len(cert.excluded)} excluded")
        print("\n".join(cert.render().splitlines()[:9]))
        print("  …")
        for x in cert.excluded[:3]:
            print(f"  excluded {x.record_id} by {', '.join(x.holds)}")

        # A client asks for erasure (PIPL Art. 47).
        mine = [r for r in stream(db) if r.subject == "client-003"]
        answer = rt.assess_erasure(mine, NOW, schedule=schedule, subject="client-003")
        for item in answer.items:
            print(f"erasure {item.record_id}: {item.outcome}"
                  + (f" until {item.kept_through}" if item.kept_through else ""))
        db.close()


if __name__ == "__main__":
    main()
