"""Demo chapter: Lotus Bookkeeping's annual disposal sweep of its clients' archives.

Creates ``lotus-archive.db`` (table ``archive``: the accounting archive volumes Lotus
keeps for its clients) and keeps holds and the execution journal in
``lotus-retention.db``. The 2014 bank statements are past their 10 years, the 2014
vouchers still have 30 to run, the annual report is kept for ever, and a tax audit of
one client holds that client's statements back.
"""

from __future__ import annotations

import datetime as _dt
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from ..audit.events import AuditEvent
from ..clock import FixedClock
from ..retention import (
    Disposition,
    HoldMatter,
    LegalHolds,
    RetentionRecord,
    Signatory,
    execute,
    plan,
)
from ..retention.presets import china_enterprise

__all__ = ["chapter"]

_CLIENTS = {"client-2": "陈杰贸易", "client-3": "莲花茶馆"}


def _fill(db: Path) -> None:
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("CREATE TABLE IF NOT EXISTS archive (id TEXT PRIMARY KEY, class TEXT, "
                     "client TEXT, dated TEXT, name TEXT)")
        rows = []
        for client, title in _CLIENTS.items():
            for q, month in enumerate((3, 6, 9, 12), 1):
                rows.append((f"{client}-bs-2014-q{q}", "bank_statement", client,
                             f"2014-{month:02d}-30", f"{title} 2014年第{q}季度银行对账单"))
            rows.append((f"{client}-v-2014", "bookkeeping_voucher", client, "2014-12-31",
                         f"{title} 2014年记账凭证"))
            rows.append((f"{client}-ar-2014", "annual_financial_report", client, "2014-12-31",
                         f"{title} 2014年度财务会计报告"))
        conn.executemany("INSERT OR REPLACE INTO archive VALUES (?, ?, ?, ?, ?)", rows)


def _records(db: Path) -> list[RetentionRecord]:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT id, class, client, dated, name FROM archive ORDER BY id")
        return [RetentionRecord(id=r[0], record_class=r[1], subject=r[2],
                                created=_dt.date.fromisoformat(r[3]), name=r[4])
                for r in rows]


def chapter(workdir: Path, say: Callable[[str], None]) -> None:
    """Tell the retention chapter: plan, hold, execute, certify."""
    archive = workdir / "lotus-archive.db"
    store_url = f"sqlite:///{workdir / 'lotus-retention.db'}"
    _fill(archive)
    clock = FixedClock(_dt.datetime(2026, 3, 2, 1, 30, tzinfo=_dt.UTC))
    schedule = china_enterprise(name="Lotus Bookkeeping 会计档案保管期限 (2015 table)")
    voucher = next(r for r in _records(archive) if r.record_class == "bookkeeping_voucher")
    until = schedule.retain_until(voucher)
    say("Lotus keeps its clients' accounting archives under 会计档案管理办法 (2015).")
    say(f"A 2014 voucher volume is kept through {until.kept_through} (30 years from "
        f"{until.starts}, the day after the fiscal year ended).")

    holds = LegalHolds(store_url, clock=clock)
    if not holds.active():
        holds.place(matter=HoldMatter.TAX_AUDIT, reason="tax audit of 2014-2016 returns",
                    placed_by="partner.wang", subjects={"client-2"},
                    reference="税稽通〔2026〕12号", hold_id="H-2026-001")
    say("The tax bureau is auditing 陈杰贸易 (client-2): a legal hold covers its records.")

    sweep = plan(_records(archive), clock.now(), schedule=schedule, holds=holds,
                 sweep_id="lotus-2026-annual")
    events: list[AuditEvent] = []

    class _Log:
        def record(self, event: AuditEvent) -> object:
            events.append(event)
            return len(events)

    def dispose(d: Disposition) -> str:
        with closing(sqlite3.connect(archive)) as conn, conn:
            conn.execute("DELETE FROM archive WHERE id = ?", (d.record.id,))
        return "rows deleted; scanned copies shredded"

    cert = execute(sweep, dispose, journal=store_url, actor="archivist.chen",
                   approvals=[Signatory("王芳", "单位负责人"), Signatory("李娜", "会计机构负责人")],
                   witnesses=[Signatory("赵磊", "监销人")], audit=_Log(), clock=clock)
    s = sweep.summary
    say(f"Planned {s.total} volumes: {s.due} due, {s.kept} kept ({s.permanent} permanently), "
        f"{s.held} held.")
    say("")
    for line in cert.render().splitlines():
        say("  " + line)
    say("")
    if events:
        say(f"The certificate (sha256 {cert.digest[:16]}…) was appended to the audit log.")
    with closing(sqlite3.connect(archive)) as conn:
        left = conn.execute("SELECT COUNT(*) FROM archive").fetchone()[0]
    say(f"{left} volumes remain in the archive; running the sweep again disposes of "
        "nothing twice.")
