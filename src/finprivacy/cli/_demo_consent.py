"""Demo chapter: a client of Lotus Bookkeeping gives, withdraws and renews consent.

Keeps the consent ledger in ``lotus-consent.db`` (recreated on each run) and writes the
client's Kantara consent receipt to ``receipt-client-1.json``. The story: a bundled
sign-up does not cover account verification, which touches bank accounts (sensitive,
PIPL Art. 28) and needs its own consent (Art. 29); the client withdraws marketing; a
material notice change (a new recipient, PIPL Art. 14) suspends verification until
the client agrees again; a 13-year-old's consent needs a guardian (Art. 31).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path

from ..clock import FixedClock
from ..consent import Actor, ConsentLedger, Controller, Evidence, Purpose
from ..errors import ConsentRequiredError
from ..storage import SqlConsentStore

__all__ = ["chapter"]

_NOTICE_V1 = ("莲花记账隐私政策 v1：我们为您代理记账；为核验您的银行账户，"
              "我们会将账号提交给您的开户银行。")
_NOTICE_V2 = _NOTICE_V1 + "为防范欺诈，我们还会向征信机构核验您的身份。"


def chapter(workdir: Path, say: Callable[[str], None]) -> None:
    """Tell the consent part of the Lotus Bookkeeping story."""
    path = workdir / "lotus-consent.db"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    clock = FixedClock(_dt.datetime(2025, 3, 3, 1, 0, tzinfo=_dt.UTC))
    store = SqlConsentStore.open(f"sqlite:///{path}")
    ledger = ConsentLedger(store, clock=clock)
    try:
        _story(ledger, clock, workdir, say)
    finally:
        store.close()


def _story(ledger: ConsentLedger, clock: FixedClock, workdir: Path,
           say: Callable[[str], None]) -> None:
    ledger.define_purpose(Purpose(
        key="account_verification", description="核验银行账户 (verify the bank account)",
        sensitive=True, data_categories=("bank_account", "cn_id"),
        recipients=("开户银行",), valid_months=12))
    ledger.define_purpose(Purpose(key="marketing", description="每月税务提示 (tax tips)",
                                  data_categories=("email",)))
    v1 = ledger.publish_notice("privacy", _NOTICE_V1,
                               purposes=["account_verification", "marketing"])
    say(f"Lotus publishes privacy notice {v1.ref} (only its SHA-256 is stored: "
        f"{v1.text_sha256[:12]}…).")

    web = Evidence(channel="web", ip="203.0.113.57", user_agent="Mozilla/5.0 (demo)")
    ledger.accept_all("client-1", ["marketing", "account_verification"], evidence=web)
    status = ledger.status("client-1", "account_verification")
    say(f"client-1 ticks 'accept all' at sign-up: marketing "
        f"{'granted' if ledger.check('client-1', 'marketing') else 'not granted'}; "
        f"account verification not granted ({status.reason}, PIPL Art. 29).")
    grant = ledger.grant("client-1", "account_verification", evidence=web)
    say(f"client-1 answers the separate question about bank verification: granted, "
        f"valid until {grant.expires_at:%Y-%m-%d}; evidence keeps only {grant.evidence.ip}.")

    clock.advance(_dt.timedelta(days=30))
    ledger.withdraw("client-1", "marketing", evidence=Evidence(channel="app"))
    say("A month later client-1 withdraws marketing in the app: "
        f"now {ledger.check('client-1', 'marketing')}, a day before "
        f"{ledger.check('client-1', 'marketing', at=clock.now() - _dt.timedelta(days=1))} "
        "(withdrawal is not retroactive).")

    clock.advance(_dt.timedelta(days=30))
    v2 = ledger.publish_notice("privacy", _NOTICE_V2, change="material",
                               purposes=["account_verification", "marketing"],
                               affects=["account_verification"])
    try:
        ledger.require("client-1", "account_verification")
    except ConsentRequiredError as exc:
        say(f"Lotus adds a credit bureau as recipient ({v2.ref}, material): verification "
            f"is suspended ({exc.reason}).")
    ledger.reaffirm("client-1", "account_verification", evidence=web)
    say(f"client-1 agrees to {v2.ref}: verification allowed again: "
        f"{ledger.check('client-1', 'account_verification')}.")

    ledger.grant("client-1-child", "account_verification", subject_age=13)
    reason = ledger.status("client-1-child", "account_verification").reason
    ledger.grant("client-1-child", "account_verification", subject_age=13,
                 actor=Actor("guardian", "client-1"))
    say(f"client-1's 13-year-old opens a savings book: alone → {reason} (PIPL Art. 31); "
        f"with client-1 as guardian → {ledger.check('client-1-child', 'account_verification')}.")

    lotus = Controller(name="莲花记账有限公司 Lotus Bookkeeping Ltd.",
                       email="privacy@lotus.example", url="https://lotus.example")
    receipt = ledger.receipt("client-1", "account_verification", controller=lotus,
                             policy_url="https://lotus.example/privacy")
    out = workdir / "receipt-client-1.json"
    out.write_text(receipt.to_json(), encoding="utf-8")
    events = ledger.verify("client-1")
    say(f"Receipt {receipt.receipt_id[:8]}… (Kantara KI-CR-v1.1.0, spiCat "
        f"{list(receipt.spi_categories)}) written to {out.name}; client-1's {events} "
        "consent events verify as an unbroken hash chain.")
