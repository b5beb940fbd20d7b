"""Demo chapter: a client asks what is held and then asks for erasure."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path

from ..clock import FixedClock
from ..inventory import bookkeeping_inventory
from ..retention import RetentionRecord, assess_erasure
from ..retention.presets import china_enterprise
from ..rights import PIPL, RequestRegister, export_subject_data, fulfil_erasure
from ..secret import Secret


class _Books:
    def __init__(self) -> None:
        self.erased: list[str] = []
        self.restricted: dict[str, _dt.date | None] = {}

    def erase(self, record_id: str) -> None:
        self.erased.append(record_id)

    def erase_categories(self, record_id: str, categories: frozenset[str]) -> None:
        self.erased.append(record_id)

    def restrict(self, record_id: str, *, until: _dt.date | None) -> None:
        self.restricted[record_id] = until


def chapter(workdir: Path, say: Callable[[str], None]) -> None:
    """Tell the data-subject rights chapter of the demo."""
    clock = FixedClock(_dt.datetime(2026, 3, 2, 1, 30, tzinfo=_dt.UTC))
    register = RequestRegister(f"sqlite:///{workdir / 'lotus-requests.db'}", policy=PIPL,
                               zone="Asia/Shanghai", clock=clock)
    client = {"name": "李雷", "card_no": Secret("6222020200112233446"),
              "phone": "13812345678"}
    req = register.receive("client-42", "access", actor="client-42", channel="app")
    say(f"Client 42 asks what Lotus holds; the {register.policy.name} deadline is "
        f"{req.due_at.astimezone(_dt.timezone(_dt.timedelta(hours=8))):%Y-%m-%d %H:%M} "
        "Beijing time.")
    register.verify_identity(req.id, by="staff-7", method="face check in the app")
    export = export_subject_data("client-42", {"clients": lambda s: [client]},
                                 inventory=bookkeeping_inventory(), clock=clock)
    register.complete(req.id, by="staff-7", outcome="export sent in the app")
    say(f"Identity verified, export built ({len(export.to_json())} bytes of JSON) and sent.")

    erase = register.receive("client-42", "erasure", actor="client-42")
    register.verify_identity(erase.id, by="staff-7", method="face check in the app")
    records = [
        RetentionRecord(id="voucher-2024-0315", record_class="bookkeeping_voucher",
                        created=_dt.date(2024, 3, 15), subject="client-42"),
        RetentionRecord(id="statement-2015-06", record_class="bank_statement",
                        created=_dt.date(2015, 6, 30), subject="client-42"),
    ]
    books = _Books()
    assessment = assess_erasure(records, clock.now(), schedule=china_enterprise(),
                                subject="client-42")
    report = fulfil_erasure(assessment, books, actor="dpo", request_id=erase.id)
    register.complete(erase.id, by="dpo", outcome=report.summary())
    say(f"Erasure request: {report.summary()}.")
