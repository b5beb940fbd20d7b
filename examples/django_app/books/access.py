"""Access control for the example: policy, inventory, consent ledger and audit log."""

import datetime as dt
import functools
import tempfile
from pathlib import Path

import finprivacy as fp
from finprivacy.access import DataInventory
from finprivacy.consent import Purpose

POLICY_TOML = """
version = "books-2026.1"

[purposes.account_verification]
description = "Verify the client's bank account before the first payment run"
legal_basis = "contract"

[purposes.newsletter]
description = "Monthly tax tips"
legal_basis = "consent"
needs = ["client_no", "name", "phone"]

[roles.accountant]
[roles.intern]
[roles.marketing]
[roles.supervisor]
inherits = ["accountant"]
break_glass = true

[[permissions]]
role = "accountant"
purpose = "account_verification"
raw = ["identity", "account"]

[[permissions]]
role = "intern"
purpose = "account_verification"

[[permissions]]
role = "marketing"
purpose = "newsletter"
raw = ["name", "contact"]
hidden = ["identity", "account"]
"""

INVENTORY = DataInventory([
    fp.DataField("client_no", category="internal", sensitivity="C1"),
    fp.DataField("name", category="name", sensitivity="C2", mask="name"),
    fp.DataField("id_no", category="identity", sensitivity="C2", mask="cn_id"),
    fp.DataField("card_no", category="account", sensitivity="C2", mask="bank_card"),
    fp.DataField("phone", category="contact", sensitivity="C2", mask="cn_phone"),
])


@functools.cache
def services() -> tuple[fp.AccessControl, fp.AuditLog, fp.ConsentLedger]:
    """The access control, audit log and consent ledger (SQLite files in a work folder)."""
    work = Path(tempfile.mkdtemp(prefix="books-"))
    (work / "policy.toml").write_text(POLICY_TOML, encoding="utf-8")
    audit = fp.AuditLog(f"sqlite:///{work}/audit.db")
    consents = fp.ConsentLedger(f"sqlite:///{work}/consent.db")
    consents.define_purpose(Purpose(key="newsletter", description="Tax tips"))
    control = fp.AccessControl(fp.load_policy(work / "policy.toml"), INVENTORY, audit=audit,
                               consent=consents)
    return control, audit, consents


BREAK_GLASS_TTL = dt.timedelta(minutes=15)
