"""Consent in a bookkeeping back office: onboarding, checks before processing, receipts.

Run with ``python examples/consent_ledger.py``. Uses an embedded SQLite file in a
temporary folder and a fixed clock so the output is the same on every run.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import finprivacy as fp
from finprivacy.consent import (
    Actor,
    ConsentLedger,
    Controller,
    Evidence,
    GrantRequest,
    Purpose,
)

LOTUS = Controller(name="Lotus Bookkeeping Ltd.", contact="Personal information officer",
                   address="1 Lotus Road, Hangzhou", email="privacy@lotus.example",
                   url="https://lotus.example")

PURPOSES = [
    Purpose(key="account_verification", description="Verify your bank account with your bank",
            sensitive=True, data_categories=("bank_account", "cn_id"),
            recipients=("the client's bank",), valid_months=12),
    Purpose(key="statement_import", description="Import your monthly bank statements",
            sensitive=True, data_categories=("bank_statement",), valid_months=12),
    Purpose(key="newsletter", description="Monthly tax tips by email",
            data_categories=("email",)),
]

NOTICE = """Lotus Bookkeeping privacy notice.
We keep your books. To verify your bank account we send the account number to your
bank; to import statements we fetch them from your bank monthly. You may withdraw any
consent at any time in the client portal."""


def fetch_bank_statement(ledger: ConsentLedger, client: str) -> str:
    """Application code: check consent right before processing, with the reason if refused."""
    try:
        ledger.require(client, "statement_import")
    except fp.ConsentRequiredError as exc:
        return f"skipped {client}: {exc.reason}"
    return f"fetched statement for {client}"


def main() -> None:
    clock = fp.FixedClock(dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'lotus.db'}"
        ledger = ConsentLedger(url, clock=clock)
        for purpose in PURPOSES:
            ledger.define_purpose(purpose)
        notice = ledger.publish_notice("privacy", NOTICE, purposes=[p.key for p in PURPOSES])
        print(f"published {notice.ref}")

        # Onboarding in the client portal: one question per sensitive purpose.
        portal = Evidence(channel="portal", ip="198.51.100.23", user_agent="Mozilla/5.0")
        for client in ("client-1", "client-2", "client-3"):
            ledger.grant(client, "account_verification", evidence=portal)
            ledger.grant(client, "statement_import", evidence=portal)
        ledger.accept_all("client-3", ["newsletter"], evidence=portal)

        # Paper forms from the branch office, entered by staff in one batch.
        ledger.grant_many(
            GrantRequest(subject=f"client-{n}", purpose="statement_import",
                         actor=Actor("staff", "clerk-07"), method="paper_form",
                         evidence=Evidence(channel="branch"))
            for n in (4, 5))

        # A month later client-2 withdraws statement import; client-6 never signed up.
        clock.advance(dt.timedelta(days=31))
        ledger.withdraw("client-2", "statement_import", evidence=Evidence(channel="portal"))
        for n in range(1, 7):
            print(fetch_bank_statement(ledger, f"client-{n}"))

        # The nightly job a year later: consents expire on the anniversary.
        clock.set(dt.datetime(2026, 1, 6, 9, 0, tzinfo=dt.UTC))
        expired = ledger.record_expiries("client-1")
        print(f"client-1 expiries recorded: {[e.purpose for e in expired]}")
        print(fetch_bank_statement(ledger, "client-1"))

        # What client-3 holds: a receipt, and the full record for an access request.
        receipt = ledger.receipt("client-3", "statement_import", controller=LOTUS,
                                 policy_url="https://lotus.example/privacy")
        data = receipt.to_kantara()
        print("receipt:", json.dumps({k: data[k] for k in
                                      ("version", "consentTimestamp", "sensitive", "spiCat")}))
        record = ledger.consent_record("client-3", "statement_import", controller=LOTUS)
        print(f"ISO/IEC TS 27560 record: {len(record['events'])} event(s), "
              f"state {record['state']}")
        print(f"client-2 chain verified: {ledger.verify('client-2')} events")
        ledger.store.close()


if __name__ == "__main__":
    main()
