"""Access control in a bookkeeping back office: purposes, need-to-know, delegation, audit.

Run with ``python examples/access_control.py``. A policy file (TOML) says which staff
role may use which purpose and what each sees; a data inventory classifies the
client record's fields (JR/T 0171-2020 C1/C2/C3); ``@fp.requires`` guards the
functions that load client data. Every decision lands in an audit log. Uses a fixed
clock and a temporary folder, so the output is the same on every run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path

import finprivacy as fp

POLICY_TOML = """
version = "lotus-2025.1"

[purposes.account_verification]
description = "Verify the client's bank account before the first payment run"
legal_basis = "contract"
needs = ["client_id", "name", "card_no"]

[purposes.bookkeeping]
description = "Keep the client's books (Accounting Law Art. 23: 30-year ledgers)"
legal_basis = "legal_obligation"

[purposes.newsletter]
description = "Monthly tax tips"
legal_basis = "consent"
needs = ["name", "email"]

[roles.accountant]
[roles.marketing]
[roles.supervisor]
inherits = ["accountant"]
break_glass = true

[[permissions]]
role = "accountant"
purpose = "account_verification"
raw = ["name"]

[[permissions]]
role = "accountant"
purpose = "bookkeeping"
raw = ["identity", "financial"]

[[permissions]]
role = "marketing"
purpose = "newsletter"
raw = ["name", "email"]
hidden = ["account", "financial", "identity"]

[[attestations]]
kind = "privacy_training"
within_months = 12
"""


@dataclasses.dataclass(frozen=True)
class Account:
    card_no: str
    balance: Decimal


@dataclasses.dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    id_number: str
    email: str
    account: Account
    cvv: str | None = None


CLIENTS = {
    "client-42": Client("client-42", "林小梅", "11010519491231002X", "lin@example.com",
                        Account("6222020200112233445", Decimal("8240.00")), cvv="737"),
}


class Consents:
    """A stand-in for fp.ConsentLedger: anything with check(subject, purpose, at)."""

    def __init__(self) -> None:
        self.given = {("client-42", "newsletter")}

    def check(self, subject: str, purpose: str, at: dt.datetime | None = None) -> bool:
        return (subject, purpose) in self.given


def main() -> None:
    clock = fp.FixedClock(dt.datetime(2025, 3, 10, 2, 0, tzinfo=dt.UTC))
    with tempfile.TemporaryDirectory() as tmp:
        policy_path = Path(tmp) / "policy.toml"
        policy_path.write_text(POLICY_TOML, encoding="utf-8")
        policy = fp.load_policy(policy_path)            # validated; nothing is evaluated
        log = fp.AuditLog(f"sqlite:///{tmp}/audit.db", clock=clock)
        consents = Consents()
        control = fp.configure_access(
            policy, fp.access.DataInventory([
                fp.DataField("client_id", category="internal", sensitivity="C1"),
                fp.DataField("name", category="identity", sensitivity="C2", mask="name"),
                fp.DataField("id_number", category="identity", sensitivity="C2", mask="cn_id"),
                fp.DataField("email", category="contact", sensitivity="C2", mask="email"),
                fp.DataField("card_no", category="account", sensitivity="C2",
                             mask="bank_card"),
                fp.DataField("balance", category="financial", sensitivity="C2"),
                fp.DataField("cvv", category="authentication", sensitivity="C3"),
            ]),
            audit=log, consent=consents, clock=clock, grants=fp.MemoryGrantStore())
        try:
            run(control, consents, clock, log)
        finally:
            fp.set_access_control(None)
            log.close()


@fp.requires(purpose="account_verification", subject="client_id")
def load_client(client_id: str) -> Client:
    return CLIENTS[client_id]


@fp.requires(purpose="newsletter", subject="client_id")
def newsletter_row(client_id: str) -> dict[str, str]:
    c = CLIENTS[client_id]
    return {"client_id": c.client_id, "name": c.name, "email": c.email,
            "id_number": c.id_number}


def run(control: fp.AccessControl, consents: Consents, clock: fp.FixedClock,
        log: fp.AuditLog) -> None:
    trained = [fp.Attestation("privacy_training", dt.datetime(2024, 9, 1, tzinfo=dt.UTC))]
    amy = fp.Principal("amy", roles={"accountant"}, tenant="lotus", attestations=trained)
    max_ = fp.Principal("max", roles={"marketing"}, tenant="lotus", attestations=trained)
    new_hire = fp.Principal("nina", roles={"accountant"}, tenant="lotus")

    with fp.acting_as(amy):
        client = load_client("client-42")
    print("accountant, account_verification:", client.name, client.account.card_no,
          client.id_number, "cvv:", client.cvv)

    with fp.acting_as(max_):
        print("marketing, newsletter:", newsletter_row("client-42"))
        consents.given.clear()                             # the client withdraws
        try:
            newsletter_row("client-42")
        except fp.AccessDeniedError as exc:
            print("marketing after withdrawal: refused,", exc.reason)

    with fp.acting_as(new_hire):
        try:
            load_client("client-42")
        except fp.AccessDeniedError as exc:
            print("new hire without privacy training: refused,", exc.reason)

    record = {"client_id": "client-42", "name": "林小梅", "card_no": "6222020200112233445",
              "email": "lin@example.com", "hobby": "golf"}
    print("minimised for account_verification:", fp.minimize(record, "account_verification"))

    assert control.delegations is not None
    grant = control.delegations.grant("client-42", "lawyer-7", scopes={"view"},
                                      fields={"client_id", "name", "account"},
                                      valid_until=clock.now() + dt.timedelta(days=7),
                                      relationship="lawyer")
    with fp.acting_as(fp.Principal("lawyer-7")):
        seen = load_client("client-42")
        print(f"lawyer under {grant.id}:", seen.name, seen.account.card_no, seen.id_number)

    print("audit trail:")
    for e in log.query(subject="client-42"):
        print(f"  {e.actor:9} {e.purpose:21} {e.decision:7} {e.reason:20} "
              f"masked={list(e.fields_masked)}")


if __name__ == "__main__":
    main()
