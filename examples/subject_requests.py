"""A client of Lotus Bookkeeping asks what is held, then asks for erasure.

Run: python examples/subject_requests.py
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import finprivacy as fp
from finprivacy.inventory import bookkeeping_inventory
from finprivacy.retention import RetentionRecord, assess_erasure
from finprivacy.retention.presets import china_enterprise
from finprivacy.rights import PIPL, RequestRegister, export_subject_data, fulfil_erasure


class Books:
    """A stand-in for the firm's own tables."""

    def __init__(self) -> None:
        self.clients = {"client-42": {"name": "李雷", "card_no": fp.Secret("6222020200112233446"),
                                      "phone": "13812345678"}}
        self.restricted: dict[str, dt.date | None] = {}
        self.erased: list[str] = []

    def erase(self, record_id: str) -> None:
        self.erased.append(record_id)

    def erase_categories(self, record_id: str, categories: frozenset[str]) -> None:
        self.erased.append(f"{record_id}:{','.join(sorted(categories))}")

    def restrict(self, record_id: str, *, until: dt.date | None) -> None:
        self.restricted[record_id] = until


def main() -> None:
    clock = fp.FixedClock(dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC))
    books = Books()
    with tempfile.TemporaryDirectory() as tmp:
        register = RequestRegister(f"sqlite:///{Path(tmp) / 'requests.db'}", policy=PIPL,
                                   zone="Asia/Shanghai", clock=clock)

        req = register.receive("client-42", "access", actor="client-42", channel="app")
        register.verify_identity(req.id, by="staff-7", method="face check in the app")
        export = export_subject_data("client-42", {"clients": lambda s: [books.clients[s]]},
                                     inventory=bookkeeping_inventory(), clock=clock)
        req = register.complete(req.id, by="staff-7", outcome="export sent in the app")
        print(f"access request {req.status.value}; due {req.due_at:%Y-%m-%d %H:%M} UTC; "
              f"export has {len(export.to_json())} bytes, {export!r}")

        erase = register.receive("client-42", "erasure", actor="client-42")
        register.verify_identity(erase.id, by="staff-7", method="face check in the app")
        records = [
            RetentionRecord(id="voucher-2024-0315", record_class="bookkeeping_voucher",
                            created=dt.date(2024, 3, 15), subject="client-42"),
            RetentionRecord(id="statement-2015-06", record_class="bank_statement",
                            created=dt.date(2015, 6, 30), subject="client-42"),
        ]
        assessment = assess_erasure(records, clock.now(), schedule=china_enterprise(),
                                    subject="client-42")
        report = fulfil_erasure(assessment, books, actor="dpo", request_id=erase.id)
        register.complete(erase.id, by="dpo", outcome=report.summary())
        print(f"erasure: {report.summary()}")
        print(f"open requests left: {len(register.open_requests())}")


if __name__ == "__main__":
    main()
