"""The consent API as users write it; checked by mypy --strict, never run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import finprivacy as fp
from finprivacy.consent import (
    PIPL_AGE_RULE,
    Actor,
    AgeRule,
    ConsentEvent,
    ConsentLedger,
    ConsentReceipt,
    ConsentStatus,
    ConsentStore,
    Controller,
    Evidence,
    GrantRequest,
    NoticeVersion,
    Purpose,
    Reason,
    gdpr_age_rule,
    parse_receipt,
)
from finprivacy.storage import MemoryConsentStore, SqlConsentStore


def consent_usage(clock: fp.Clock, sink: fp.AuditSink) -> None:
    ledger: fp.ConsentLedger = fp.ConsentLedger("sqlite:///consent.db", clock=clock, audit=sink)
    other: ConsentLedger = ConsentLedger(MemoryConsentStore(), age_rule=gdpr_age_rule(16),
                                         cache_ttl=0.5, cache_size=10_000)
    store: ConsentStore = SqlConsentStore.open("postgresql:///finprivacy?host=/run/postgresql")
    verify: fp.ConsentPurpose = ledger.define_purpose(Purpose(
        key="account_verification", description="Verify the client's bank account",
        sensitive=True, data_categories=("bank_account",), valid_months=12))
    notice: NoticeVersion = ledger.publish_notice(
        "privacy", "…notice text…", purposes=[verify.key])
    material: fp.NoticeVersion = ledger.publish_notice(
        "privacy", "…new text…", purposes=[verify.key], change="material",
        affects=[verify.key])
    event: ConsentEvent = ledger.grant(
        "client-42", "account_verification", actor=Actor("guardian", "client-7"),
        evidence=Evidence(channel="web", ip="203.0.113.9", user_agent="Mozilla/5.0"),
        notice=material, subject_age=13)
    bundle: list[fp.ConsentEvent] = ledger.accept_all("client-42", ["marketing", "newsletter"])
    batch: list[ConsentEvent] = ledger.grant_many(
        [GrantRequest(subject=f"client-{i}", purpose="marketing") for i in range(3)])
    gone: ConsentEvent = ledger.withdraw("client-42", "marketing")
    everything: list[ConsentEvent] = ledger.withdraw_all("client-42")
    ok: bool = ledger.check("client-42", "account_verification",
                            at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    try:
        status: ConsentStatus = ledger.require("client-42", "marketing")
        when: dt.datetime | None = status.expires_at
    except fp.ConsentRequiredError as exc:
        reason: str = exc.reason
    state: Mapping[str, fp.ConsentStatus] = ledger.state("client-42")
    why: Reason | None = state["marketing"].reason
    history: tuple[ConsentEvent, ...] = ledger.history("client-42")
    count: int = ledger.verify("client-42")
    total: int = ledger.verify_all()
    page: list[str] = store.subjects(after="client-1", limit=100)
    lotus = Controller(name="Lotus Bookkeeping Ltd.", email="privacy@lotus.example")
    receipt: ConsentReceipt = ledger.receipt("client-42", "account_verification",
                                             controller=lotus)
    kantara: dict[str, Any] = receipt.to_kantara()
    text: str = receipt.to_json()
    again: fp.ConsentReceipt = parse_receipt(text)
    imported: list[ConsentEvent] = other.import_receipt(kantara)
    record: dict[str, Any] = ledger.consent_record("client-42", "account_verification",
                                                   controller=lotus)
    rule: AgeRule = PIPL_AGE_RULE
    network: str = fp.consent.anonymise_ip("198.51.100.7")
    with fp.ConsentLedger("memory:") as scoped:
        scoped.check("client-1", "marketing")
    ledger.close()
    print(total, page, everything, store, notice, event, bundle, batch, gone, ok, when, reason, why,
          history, count, again, imported, record, rule, network)
