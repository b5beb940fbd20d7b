"""Access control with the real consent ledger and audit log (SQLite), end to end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import finprivacy as fp
from finprivacy.access import (
    AccessControl,
    AuditQueue,
    ConsentChecker,
    Permission,
    Policy,
    Principal,
    Purpose,
    Role,
    acting_as,
)
from finprivacy.consent import Purpose as ConsentPurpose
from finprivacy.inventory import bookkeeping_inventory

NOW = dt.datetime(2025, 3, 10, 2, 0, tzinfo=dt.UTC)
CARD = "6222020200112233445"


def test_ledger_and_log_end_to_end(tmp_path: Path) -> None:
    clock = fp.FixedClock(NOW)
    ledger = fp.ConsentLedger(f"sqlite:///{tmp_path / 'consent.db'}", clock=clock)
    assert isinstance(ledger, ConsentChecker)
    ledger.define_purpose(ConsentPurpose(key="marketing", description="tax tips"))
    ledger.publish_notice("privacy", "notice v1", purposes=["marketing"])
    log = fp.AuditLog(f"sqlite:///{tmp_path / 'audit.db'}", clock=clock)
    queue = AuditQueue(log)
    policy = Policy(version="it-1", purposes=(Purpose("marketing"),), roles=(Role("mkt"),),
                    permissions=(Permission("mkt", "marketing", raw={"name", "email"}),))
    control = AccessControl(policy, bookkeeping_inventory(), consent=ledger, audit=queue,
                            clock=clock)

    @control.requires("marketing", subject="client_id")
    def mailing(client_id: str) -> dict[str, Any]:
        return {"client_id": client_id, "name": "林小梅", "email": "lin@example.com",
                "card_no": CARD}

    with acting_as(Principal("max", roles={"mkt"})):
        with pytest.raises(fp.AccessDeniedError) as info:
            mailing("client-1")
        assert info.value.reason == "consent_missing"
        ledger.grant("client-1", "marketing")
        out = mailing("client-1")
        assert out["email"] == "lin@example.com"
        assert out["card_no"] == "622202*********3445"   # finprivacy.masking.mask
        ledger.withdraw("client-1", "marketing")
        with pytest.raises(fp.AccessDeniedError):
            mailing("client-1")
    assert queue.flush() == 3
    entries = log.query(actor="max")
    assert [e.decision for e in entries] == ["denied", "masked", "denied"]
    assert entries[1].fields_masked == ("card_no",)
    assert log.verify().size >= 3
    assert all(CARD not in repr(e) for e in log.query())
    log.close()
