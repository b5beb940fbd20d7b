"""Demo chapter: Lotus Bookkeeping scans and redacts a support chat and its logs.

Creates ``support.db`` in the demo folder (table ``tickets``: id, transcript) and
stores a client's support-chat transcript only after :func:`finprivacy.redact` has
masked the resident ID, the card number, the phone number and the IBAN in it. It then
sends a log line through :class:`finprivacy.logging.RedactingFilter`.
"""

from __future__ import annotations

import io
import logging
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from ..logging import RedactingFilter
from ..masking import redact, scan

__all__ = ["chapter"]

_TRANSCRIPT = (
    "客户: 你好，我是李娜，想改一下预留手机，原来是138 1234 5678\n"
    "客户: 身份证１１０１０５１９４９１２３１００２Ｘ，卡号6222 0202 0011 2233 446\n"
    "客服: 已核验。工单号20240315000123，如有问题请拨打95588\n"
    "client: refund to IBAN GB82 WEST 1234 5698 7654 32 please\n"
)


def chapter(workdir: Path, say: Callable[[str], None]) -> None:
    """Scan and redact a support-chat transcript, store it, and log through the filter."""
    say("A client chats with support; the transcript goes into the ticket system.")
    findings = scan(_TRANSCRIPT)
    kinds = ", ".join(f"{f.kind} ({f.confidence:.2f})" for f in findings)
    say(f"scan() finds {len(findings)} identifiers: {kinds}")
    say("(the ticket number 20240315000123 and the hotline 95588 are left alone)")
    clean = redact(_TRANSCRIPT)
    with closing(sqlite3.connect(workdir / "support.db")) as db, db:
        db.execute("CREATE TABLE IF NOT EXISTS tickets (id INTEGER PRIMARY KEY, transcript TEXT)")
        db.execute("INSERT INTO tickets (transcript) VALUES (?)", (clean,))
    say("stored in support.db after redact():")
    for line in clean.splitlines():
        say(f"    {line}")
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("lotus.demo.payments")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("refund to card %s for %s failed", "6222020200112233446", "13812345678")
    finally:
        log.removeHandler(handler)
    say(f"and the application log reads: {buf.getvalue().strip()}")
