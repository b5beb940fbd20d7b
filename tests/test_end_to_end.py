"""One client's story across every layer, on SQLite and on a real PostgreSQL server.

Encrypted fields, consent, access control with need-to-know masking, the audit log,
crypto-shredding, a data-subject erasure weighed against retention, and verification
of the audit trail at the end — the pieces must fit together, not just work alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pydantic
import pytest

import finprivacy as fp
from finprivacy.consent import Purpose as ConsentPurpose
from finprivacy.retention import RetentionRecord, assess_erasure
from finprivacy.retention.presets import china_enterprise
from finprivacy.rights import PIPL, RequestRegister, fulfil_erasure

CARD = "6222020200112233446"
ID_NO = "11010519491231002X"
T0 = dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)


class Client(pydantic.BaseModel):
    client_id: str
    name: str
    card_no: Annotated[fp.Secret[str], fp.Encrypted(context="clients.card_no")]
    id_number: Annotated[fp.Secret[str], fp.Encrypted(context="clients.id_number")]


class Books:
    def __init__(self) -> None:
        self.rows: dict[str, str] = {}
        self.restricted: dict[str, dt.date | None] = {}

    def erase(self, record_id: str) -> None:
        self.rows.pop(record_id, None)

    def erase_categories(self, record_id: str, categories: frozenset[str]) -> None:
        pass

    def restrict(self, record_id: str, *, until: dt.date | None) -> None:
        self.restricted[record_id] = until


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


def test_a_clients_story(url: str) -> None:
    clock = fp.FixedClock(T0)
    kr = fp.Keyring.generate(clock=clock)

    # 1. The record is stored with its card and ID numbers encrypted.
    with fp.use_keyring(kr):
        stored = Client(client_id="client-42", name="李雷", card_no=CARD,
                        id_number=ID_NO).model_dump(mode="json")
    assert CARD not in str(stored) and ID_NO not in str(stored)

    # 2. The client consents to newsletters (consent-based purpose).
    ledger = fp.ConsentLedger(url, clock=clock)
    ledger.define_purpose(ConsentPurpose(key="newsletter", description="Monthly tax tips"))
    ledger.grant("client-42", "newsletter")

    # 3. Staff reads go through access control, and every decision is audited.
    log = fp.AuditLog(url, signer=fp.Ed25519Signer.generate(), clock=clock)
    inventory = fp.DataInventory([
        fp.DataField("client_id", category="internal", sensitivity="C1"),
        fp.DataField("name", category="identity", sensitivity="C2", mask="name"),
        fp.DataField("card_no", category="account", sensitivity="C2", mask="bank_card"),
        fp.DataField("id_number", category="identity", sensitivity="C2", mask="cn_id"),
    ])
    policy = fp.Policy(
        version="lotus-1",
        purposes=(fp.Purpose("account_verification", legal_basis="contract",
                             needs={"client_id", "name", "card_no"}),
                  fp.Purpose("newsletter", legal_basis="consent", needs={"name"})),
        roles=(fp.Role("accountant"), fp.Role("marketing")),
        permissions=(fp.Permission("accountant", "account_verification", raw={"name"}),
                     fp.Permission("marketing", "newsletter", raw={"name"})),
    )
    control = fp.AccessControl(policy, inventory, consent=ledger, audit=log, clock=clock)

    @control.requires(purpose="account_verification", subject="client_id")
    def load_for_verification(client_id: str) -> dict[str, str]:
        with fp.use_keyring(kr):
            c = Client.model_validate(stored)
        return {"client_id": c.client_id, "name": c.name, "card_no": c.card_no.reveal(),
                "id_number": c.id_number.reveal()}

    @control.requires(purpose="newsletter", subject="client_id")
    def load_for_newsletter(client_id: str) -> dict[str, str]:
        return {"client_id": client_id, "name": "李雷"}

    alice = fp.Principal("alice", roles={"accountant"})
    bob = fp.Principal("bob", roles={"marketing"})
    with fp.acting_as(alice):
        seen = load_for_verification("client-42")
    assert seen["name"] == "李雷"
    assert seen["card_no"] != CARD and seen["card_no"].endswith(CARD[-4:])
    assert ID_NO not in str(seen)
    with fp.acting_as(bob):
        assert load_for_newsletter("client-42")["name"] == "李雷"
        with pytest.raises(fp.AccessDeniedError):
            load_for_verification("client-42")  # marketing has no such purpose
    ledger.withdraw("client-42", "newsletter")
    with fp.acting_as(bob), pytest.raises(PermissionError) as denied_info:
        load_for_newsletter("client-42")  # consent withdrawn
    assert isinstance(denied_info.value, fp.AccessDeniedError | fp.ConsentRequiredError)
    assert "consent" in str(denied_info.value).lower()

    # 4. The client's statements are encrypted under a per-subject key.
    keys = fp.SubjectKeys(kr, url)
    statement = keys.encrypt("client-42", "2025-06 statement: 12,800.00", context="statements")
    assert keys.decrypt(statement, context="statements").startswith("2025-06")

    # 5. Erasure request: marketing data may go, vouchers stay 30 years, so no shredding.
    register = RequestRegister(url, policy=PIPL, clock=clock, audit=log)
    req = register.receive("client-42", "erasure", actor="client-42")
    register.verify_identity(req.id, by="staff-7", method="ID card")
    records = [RetentionRecord(id="voucher-1", record_class="bookkeeping_voucher",
                               created=dt.date(2024, 3, 15), subject="client-42")]
    assessment = assess_erasure(records, clock.now(), schedule=china_enterprise(),
                                subject="client-42")
    books = Books()
    report = fulfil_erasure(assessment, books, actor="dpo", shredder=keys, audit=log,
                            request_id=req.id)
    register.complete(req.id, by="dpo", outcome=report.summary())
    assert books.restricted == {"voucher-1": dt.date(2054, 12, 31)}
    assert not report.shredded
    assert keys.decrypt(statement, context="statements")  # still readable: kept by law

    # 6. Later, once nothing must be kept, the subject key is shredded — backups too.
    keys.shred("client-42", reason="erasure after the retention period")
    with pytest.raises(fp.SubjectErasedError):
        keys.decrypt(statement, context="statements")

    # 7. The audit trail verifies and tells the story without a single value in it.
    log.checkpoint()
    log.verify()
    actions = [e.action for e in log.query(subject="client-42", limit=100)]
    assert actions.count("rights.erasure.fulfilled") == 1
    assert any(a.startswith("rights.erasure.") for a in actions)
    denied = [e for e in log.query(actor="bob", limit=100) if e.decision == "denied"]
    assert len(denied) == 2
    for entry in log.query(limit=1000):
        raw = entry.raw.decode("utf-8")
        assert CARD not in raw and ID_NO not in raw and "李雷" not in raw
