"""A small bookkeeping service on FastAPI with finprivacy: ``python examples/fastapi_app/app.py``.

Clients are stored with SQLAlchemy on SQLite: the resident ID number encrypted with a
blind index (look clients up by ID number), the card number encrypted and bound to its
row, the phone encrypted. Staff authenticate with a bearer token (a stand-in for your
identity provider); ``finprivacy.fastapi.install`` makes them the acting principal.
Views are purpose-checked and answer masked fields by need-to-know (``@shaped``);
the newsletter needs the client's consent (a ``ConsentLedger``); a supervisor may
break the glass in an emergency; every decision lands in a tamper-evident audit log.

Run as a script, it drives the service through its test client and prints what each
staff member saw. ``uvicorn`` can serve ``create_app(Path("data"))`` for real.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Body, FastAPI, HTTPException, Request
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import finprivacy as fp
from finprivacy.fastapi import install, respond, shaped
from finprivacy.sqlalchemy import EncryptedString, blind_indexed

POLICY_TOML = """
version = "books-2026.1"

[purposes.account_verification]
description = "Verify the client's bank account before the first payment run"
legal_basis = "contract"

[purposes.onboarding]
description = "Open a client file"
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
role = "accountant"
purpose = "onboarding"

[[permissions]]
role = "intern"
purpose = "account_verification"

[[permissions]]
role = "marketing"
purpose = "newsletter"
raw = ["name", "contact"]
hidden = ["identity", "account"]
"""

INVENTORY = fp.access.DataInventory([
    fp.DataField("client_no", category="internal", sensitivity="C1"),
    fp.DataField("name", category="name", sensitivity="C2", mask="name"),
    fp.DataField("id_no", category="identity", sensitivity="C2", mask="cn_id"),
    fp.DataField("card_no", category="account", sensitivity="C2", mask="bank_card"),
    fp.DataField("phone", category="contact", sensitivity="C2", mask="cn_phone"),
])

STAFF = {  # bearer token -> principal (your identity provider's job)
    "t-amy": fp.Principal("amy", roles={"accountant"}, tenant="books"),
    "t-ivan": fp.Principal("ivan", roles={"intern"}, tenant="books"),
    "t-max": fp.Principal("max", roles={"marketing"}, tenant="books"),
    "t-sue": fp.Principal("sue", roles={"supervisor"}, tenant="books"),
}


def client_model(index: fp.BlindIndex) -> tuple[Any, type[Any]]:
    """The metadata and Client table, with its blind index bound to the service's keyring."""

    class Base(DeclarativeBase):
        pass

    class Client(Base):
        __tablename__ = "clients"
        id: Mapped[int] = mapped_column(primary_key=True)
        client_no: Mapped[str] = mapped_column(sa.String(36), unique=True)
        name: Mapped[str] = mapped_column(sa.String(60))
        id_no_token: Mapped[fp.Secret[str]] = mapped_column(
            "id_no", EncryptedString("clients.id_no"))
        id_no_bidx: Mapped[str] = mapped_column(sa.String(64), index=True)
        id_no = blind_indexed("id_no_token", "id_no_bidx", index)
        card_no: Mapped[fp.Secret[str] | None] = mapped_column(
            EncryptedString("clients.card_no", row_key="client_no"))
        phone: Mapped[fp.Secret[str] | None] = mapped_column(EncryptedString("clients.phone"))

        def row(self) -> dict[str, Any]:
            return {"client_no": self.client_no, "name": self.name, "id_no": self.id_no,
                    "card_no": self.card_no, "phone": self.phone}

    return Base.metadata, Client


def create_app(workdir: Path, *, clock: fp.Clock | None = None) -> FastAPI:
    """Build the service over the stores in ``workdir`` (made on first use)."""
    clock = clock or fp.SystemClock()
    keyring = fp.Keyring.generate()  # a real service loads its keyring file
    index = fp.BlindIndex(keyring, "clients.id_no", bits=32,
                          normalize=("nfkc", "strip_spaces", "upper"))
    metadata, Client = client_model(index)
    engine = sa.create_engine(f"sqlite:///{workdir}/clients.db", hide_parameters=True)
    metadata.create_all(engine)
    audit = fp.AuditLog(f"sqlite:///{workdir}/audit.db", clock=clock)
    consents = fp.ConsentLedger(f"sqlite:///{workdir}/consent.db", clock=clock)
    consents.define_purpose(fp.consent.Purpose(key="newsletter", description="Tax tips"))
    policy_file = workdir / "policy.toml"
    policy_file.write_text(POLICY_TOML, encoding="utf-8")
    control = fp.AccessControl(fp.load_policy(policy_file), INVENTORY, audit=audit,
                               consent=consents, clock=clock)

    app = FastAPI(title="books")
    app.state.audit, app.state.control = audit, control

    def principal(request: Request) -> fp.Principal | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return STAFF.get(token) if scheme.lower() == "bearer" else None

    install(app, principal=principal)

    def load(client_no: str) -> Any:
        with fp.use_keyring(keyring), Session(engine) as s:
            found = s.scalars(sa.select(Client).where(Client.client_no == client_no)).first()
            if found is None:
                raise HTTPException(404, "no such client")
            return found.row()

    @app.post("/clients", status_code=201)
    def open_client(body: Annotated[dict[str, str], Body()]) -> Any:
        client_no = str(uuid.uuid4())
        control.protect({"client_no": client_no}, "onboarding", client_no, action="create")
        try:
            fp.identifiers.cn_id.validate(body.get("id_no", ""))
        except fp.InvalidIdentifierError as exc:
            raise HTTPException(422, f"id_no: {type(exc).__name__}") from None
        with fp.use_keyring(keyring), Session(engine) as s:
            s.add(Client(client_no=client_no, name=body["name"], id_no=body["id_no"],
                         card_no=body.get("card_no"), phone=body.get("phone")))
            s.commit()
        return {"client_no": client_no}

    @app.get("/clients/{client_no}")
    @shaped("account_verification", subject="client_no", control=control)
    def get_client(client_no: str) -> Any:
        return load(client_no)

    @app.get("/lookup")
    def lookup(id_no: str) -> Any:
        with fp.use_keyring(keyring), Session(engine) as s:
            found = [c.row() for c in s.scalars(sa.select(Client).where(Client.id_no == id_no))
                     if c.id_no.reveal() == fp.identifiers.cn_id.compact(id_no)]
        return respond(found, "account_verification", control=control)

    @app.post("/clients/{client_no}/consents/newsletter")
    def grant(client_no: str) -> Any:
        consents.grant(client_no, "newsletter", evidence=fp.consent.Evidence(channel="web"))
        return {"granted": True}

    @app.delete("/clients/{client_no}/consents/newsletter")
    def withdraw(client_no: str) -> Any:
        consents.withdraw(client_no, "newsletter")
        return {"withdrawn": True}

    @app.get("/clients/{client_no}/newsletter")
    @shaped("newsletter", subject="client_no", control=control)
    def newsletter(client_no: str) -> Any:
        return load(client_no)

    @app.post("/clients/{client_no}/emergency")
    def emergency(client_no: str, reason: Annotated[str, Body(embed=True)]) -> Any:
        with control.break_glass(reason=reason, ttl=dt.timedelta(minutes=15)):
            return respond(load(client_no), "account_verification", client_no,
                           control=control)

    @app.get("/audit")
    def audit_trail(subject: str, request: Request) -> Any:
        who = fp.current_principal()
        if who is None or "supervisor" not in who.roles:
            raise fp.AccessDeniedError("supervisors only", reason="no_permission")
        return [{"actor": e.actor, "purpose": e.purpose, "decision": e.decision,
                 "reason": e.reason, "request_id": e.request_id,
                 "fields_masked": list(e.fields_masked), "break_glass": e.break_glass}
                for e in audit.query(subject=subject)]

    return app


def demo(workdir: Path) -> list[str]:
    """Drive the service as staff would; return what was shown."""
    from fastapi.testclient import TestClient

    lines: list[str] = []
    app = create_app(workdir, clock=fp.FixedClock(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)))

    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    with TestClient(app) as web:
        made = web.post("/clients", headers=auth("t-amy"), json={
            "name": "林小梅", "id_no": "11010519491231002X", "card_no": "6222020200112233445",
            "phone": "13812345678"}).json()
        no = made["client_no"]
        for who, token in (("accountant", "t-amy"), ("intern", "t-ivan")):
            seen = web.get(f"/clients/{no}", headers=auth(token)).json()
            lines.append(f"{who + ' sees:':<19}{seen}")
        found = web.get("/lookup", params={"id_no": "110105 19491231 002x"},
                        headers=auth("t-ivan")).json()
        lines.append(f"lookup by ID no.:  {[c['client_no'] == no for c in found]}")
        refused = web.get(f"/clients/{no}/newsletter", headers=auth("t-max"))
        lines.append(f"marketing, no consent: {refused.status_code} {refused.json()['reason']}")
        web.post(f"/clients/{no}/consents/newsletter", headers=auth("t-max"))
        lines.append("marketing, consent:    "
                     f"{web.get(f'/clients/{no}/newsletter', headers=auth('t-max')).json()}")
        glass = web.post(f"/clients/{no}/emergency", headers=auth("t-sue"),
                         json={"reason": "client reports card stolen"}).json()
        lines.append(f"break-glass:       card {glass['card_no']}")
        anon = web.get(f"/clients/{no}")
        lines.append(f"no credentials:    {anon.status_code} {anon.json()['reason']}")
        for e in web.get("/audit", params={"subject": no}, headers=auth("t-sue")).json():
            lines.append(f"  audit: {e['actor']:5} {e['purpose']:21} {e['decision']:7} "
                         f"masked={e['fields_masked']} break_glass={e['break_glass']}")
    app.state.audit.close()
    return lines


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        for line in demo(Path(tmp)):
            print(line)
    sys.exit(0)
