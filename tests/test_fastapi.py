"""finprivacy.fastapi against a real FastAPI application (issue 17, first part).

The principal is bound per request for async and plain endpoints and dependencies;
concurrent requests never see each other's principal; errors are problem+json without
personal data; every response carries a request id.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest

fastapi = pytest.importorskip("fastapi")

from fastapi import Depends, FastAPI, Request  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

import finprivacy as fp  # noqa: E402
from finprivacy.access import (  # noqa: E402
    AccessControl,
    Permission,
    Policy,
    Principal,
    Purpose,
    Role,
    current_principal,
)
from finprivacy.fastapi import install, request_id  # noqa: E402
from finprivacy.inventory import DataField, DataInventory  # noqa: E402

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
CARD = "6222020200112233445"
INVENTORY = DataInventory([
    DataField("client_id", category="internal", sensitivity="C1"),
    DataField("card_no", category="account", sensitivity="C2", mask="bank_card"),
])
POLICY = Policy(
    version="web-1",
    purposes=(Purpose("account_verification", legal_basis="contract",
                      needs=frozenset({"card_no"})),),
    roles=(Role("accountant"), Role("intern")),
    permissions=(Permission("accountant", "account_verification",
                            raw=frozenset({"account"})),
                 Permission("intern", "account_verification")),
)
USERS = {"alice": Principal("alice", roles={"accountant"}, tenant="lotus"),
         "ivan": Principal("ivan", roles={"intern"}, tenant="lotus")}


class Sink:
    def __init__(self) -> None:
        self.events: list[fp.AuditEvent] = []

    def record(self, event: fp.AuditEvent) -> object:
        self.events.append(event)
        return len(self.events)


def _principal(request: Request) -> Principal | None:
    user = request.headers.get("x-user", "")
    if user == "wrong-type":
        return "alice"  # type: ignore[return-value]
    return USERS.get(user)


@pytest.fixture
def app() -> tuple[FastAPI, Sink]:
    sink = Sink()
    control = AccessControl(POLICY, INVENTORY, audit=sink, clock=fp.FixedClock(NOW))
    app = FastAPI()

    @control.requires("account_verification", subject="client_id")
    def card(client_id: str) -> dict[str, Any]:
        return {"client_id": client_id, "card_no": CARD}

    @app.get("/sync/{client_id}")
    def sync_endpoint(client_id: str) -> dict[str, Any]:
        return card(client_id)

    @app.get("/async/{client_id}")
    async def async_endpoint(client_id: str) -> dict[str, Any]:
        await asyncio.sleep(0)
        return card(client_id)

    def who_sync() -> Iterator[str]:  # a plain dependency with yield: two thread calls
        yield current_principal().id if current_principal() else ""

    async def who_async() -> str:
        p = current_principal()
        return p.id if p else ""

    @app.get("/deps")
    def deps(a: str = Depends(who_sync), b: str = Depends(who_async)) -> dict[str, str]:
        p = current_principal()
        return {"sync_dep": a, "async_dep": b, "endpoint": p.id if p else "",
                "request_id": request_id()}

    @app.get("/broken")
    def broken() -> None:
        raise fp.ConfigurationError("secret detail: client 11010519491231002X")

    install(app, principal=_principal)
    return app, sink


def test_the_principal_reaches_sync_and_async_endpoints_and_dependencies(
        app: tuple[FastAPI, Sink]) -> None:
    web, sink = app
    with TestClient(web) as client:
        for _ in range(3):  # the second request used to fail with acting_as glue
            r = client.get("/deps", headers={"X-User": "alice"})
            assert r.status_code == 200
            assert r.json()["sync_dep"] == r.json()["async_dep"] == r.json()["endpoint"] \
                == "alice"
        for path in ("/sync/c-1", "/async/c-1"):
            assert client.get(path, headers={"X-User": "alice"}).json()["card_no"] == CARD
            masked = client.get(path, headers={"X-User": "ivan"}).json()["card_no"]
            assert masked != CARD and masked.endswith("3445")  # need-to-know masking
    assert [e.actor for e in sink.events] == ["alice", "ivan", "alice", "ivan"]


def test_no_principal_fails_closed_as_problem_json_without_personal_data(
        app: tuple[FastAPI, Sink]) -> None:
    web, _ = app
    with TestClient(web) as client:
        r = client.get("/sync/11010519491231002X")
        assert r.status_code == 403
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["status"] == 403 and body["reason"] == "no_principal"
        assert "11010519491231002X" not in r.text
        assert body["request_id"] == r.headers["x-request-id"]
        broken = client.get("/broken", headers={"X-User": "alice"})
        assert broken.status_code == 500
        assert broken.headers["content-type"].startswith("application/problem+json")
        assert "11010519491231002X" not in broken.text and "secret" not in broken.text
        wrong = client.get("/deps", headers={"X-User": "wrong-type"})
        assert wrong.status_code == 500 and "problem+json" in wrong.headers["content-type"]
        assert client.get("/deps").json()["endpoint"] == ""


def test_request_ids_are_taken_when_plausible_and_made_otherwise(
        app: tuple[FastAPI, Sink]) -> None:
    web, _ = app
    with TestClient(web) as client:
        r = client.get("/deps", headers={"X-User": "alice", "X-Request-ID": "req-42.a_b"})
        assert r.headers["x-request-id"] == "req-42.a_b" == r.json()["request_id"]
        for bad in ("", "x" * 65, "a b", "<script>", "id\u00e9"):
            r = client.get("/deps", headers={"X-Request-ID": bad.encode("utf-8")})
            rid = r.headers["x-request-id"]
            assert rid != bad and len(rid) == 32 and rid == r.json()["request_id"]
        assert request_id() == ""  # nothing leaks out of a request


def test_concurrent_requests_never_see_each_other(app: tuple[FastAPI, Sink]) -> None:
    web, _ = app
    errors: list[str] = []
    with TestClient(web) as client:
        def worker(user: str) -> None:
            for _ in range(25):
                got = client.get("/deps", headers={"X-User": user}).json()
                if {got["sync_dep"], got["async_dep"], got["endpoint"]} != {user}:
                    errors.append(f"{user} saw {got}")

        threads = [threading.Thread(target=worker, args=(u,)) for u in ("alice", "ivan") * 3]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


def test_install_checks_its_arguments() -> None:
    with pytest.raises(fp.ConfigurationError, match="callable"):
        install(FastAPI(), principal="alice")  # type: ignore[arg-type]
    with pytest.raises(fp.ConfigurationError, match="FastAPI or Starlette"):
        install(object(), principal=_principal)


def test_acting_as_in_a_yield_dependency_fails_with_advice_not_silently() -> None:
    """The glue the issue found broken still cannot work; it must say what to do."""
    app = FastAPI()
    seen: list[str] = []

    def bind() -> Iterator[None]:
        with fp.acting_as(USERS["alice"]):
            yield

    @app.get("/x")
    def x(_: None = Depends(bind)) -> dict[str, str]:
        p = current_principal()
        seen.append(p.id if p else "")
        return {}

    errors: list[str] = []
    with TestClient(app, raise_server_exceptions=True) as client:
        for _ in range(3):
            try:
                client.get("/x")
            except fp.ConfigurationError as exc:
                errors.append(str(exc))
    assert errors, "the broken glue must fail loudly"
    assert all("finprivacy.fastapi.install" in e for e in errors)


# -- response shaping (issue 17) ------------------------------------------------------------

from typing import Annotated  # noqa: E402

import pydantic  # noqa: E402

from finprivacy.fastapi import jsonable, respond, shaped  # noqa: E402

PHONE = "13812345678"
SHAPING_INVENTORY = DataInventory([
    DataField("client_id", category="internal", sensitivity="C1"),
    DataField("card_no", category="account", sensitivity="C2", mask="bank_card"),
    DataField("phone", category="contact", sensitivity="C2", mask="cn_phone"),
    DataField("opened", category="internal", sensitivity="C1"),
])
SHAPING_POLICY = Policy(
    version="web-2", purposes=POLICY.purposes, roles=POLICY.roles,
    permissions=(Permission("accountant", "account_verification",
                            raw=frozenset({"account", "contact"})),
                 Permission("intern", "account_verification")))


class Client(pydantic.BaseModel):
    client_id: str
    card_no: Annotated[fp.Secret[str], fp.Encrypted(context="clients.card_no")]
    phone: Annotated[fp.Secret[str], fp.Encrypted(context="clients.phone")]
    opened: dt.date


@pytest.fixture
def shaping_app() -> tuple[FastAPI, Sink, fp.Keyring, dict[str, str]]:
    sink = Sink()
    control = AccessControl(SHAPING_POLICY, SHAPING_INVENTORY, audit=sink, clock=fp.FixedClock(NOW))
    keyring = fp.Keyring.generate()
    with fp.use_keyring(keyring):
        stored = Client(client_id="c-1", card_no=CARD, phone=PHONE,  # type: ignore[arg-type]
                        opened=dt.date(2020, 1, 2)).model_dump(mode="json")
    assert stored["card_no"].startswith("fp1.")  # what the database holds
    app = FastAPI()

    def load(client_id: str) -> Client:
        return Client.model_validate({**stored, "client_id": client_id},
                                     context={"keyring": keyring})

    @app.get("/clients/{client_id}")
    @shaped("account_verification", subject="client_id", control=control)
    def get_client(client_id: str) -> Client:
        return load(client_id)

    @app.get("/aclients/{client_id}")
    @shaped("account_verification", subject="client_id", control=control)
    async def get_client_async(client_id: str, extra: str = "") -> Client:
        await asyncio.sleep(0)
        return load(client_id)

    @app.get("/listing")
    def listing() -> Any:
        rows = [load("c-1"), {"client_id": "c-2", "card_no": stored["card_no"]}]
        return respond(rows, "account_verification", control=control)

    @app.get("/unshaped/{client_id}")
    def unshaped(client_id: str) -> Client:  # what the issue saw: token or 500
        return load(client_id)

    install(app, principal=_principal)
    return app, sink, keyring, stored


def test_shaped_responses_mask_encrypted_fields_by_purpose_and_never_send_a_token(
        shaping_app: tuple[FastAPI, Sink, fp.Keyring, dict[str, str]]) -> None:
    web, sink, _keyring, stored = shaping_app
    with TestClient(web) as client:
        for path in ("/clients/c-1", "/aclients/c-1?extra=x"):
            raw = client.get(path, headers={"X-User": "alice"})
            assert raw.status_code == 200
            assert raw.json() == {"client_id": "c-1", "card_no": CARD, "phone": PHONE,
                                  "opened": "2020-01-02"}
            masked = client.get(path, headers={"X-User": "ivan"})
            assert masked.status_code == 200
            body = masked.json()
            assert body["card_no"] == fp.mask(CARD, kind="bank_card")
            assert body["phone"] == fp.mask(PHONE, kind="cn_phone")
            assert CARD not in masked.text and PHONE not in masked.text
            for r in (raw, masked):
                assert "fp1." not in r.text
            denied = client.get(path)
            assert denied.status_code == 403 and CARD not in denied.text
        # a raw token in a dict row (no model to decrypt it) never goes out either
        listing = client.get("/listing", headers={"X-User": "alice"})
        assert listing.status_code == 200
        assert listing.json()[1]["card_no"] == "****"
        assert stored["card_no"] not in listing.text
    # without shaping, FastAPI dumps the model in JSON mode: a 500 without a keyring
    with TestClient(web, raise_server_exceptions=False) as client:
        unshaped = client.get("/unshaped/c-1", headers={"X-User": "alice"})
        assert unshaped.status_code == 500 and "fp1." not in unshaped.text
    assert {e.fields_masked for e in sink.events if e.actor == "ivan"} == {
        ("card_no", "phone")}


def test_each_audit_entry_carries_the_request_id_given_or_made(
        shaping_app: tuple[FastAPI, Sink, fp.Keyring, dict[str, str]]) -> None:
    web, sink, _, _ = shaping_app
    with TestClient(web) as client:
        given = client.get("/clients/c-9", headers={"X-User": "ivan", "X-Request-ID": "rq-77"})
        made = client.get("/aclients/c-9", headers={"X-User": "alice"})
        refused = client.get("/clients/c-9", headers={"X-Request-ID": "rq-78"})
        bogus = client.get("/clients/c-9", headers={"X-User": "alice",
                                                    "X-Request-ID": "a b<script>"})
    assert given.headers["x-request-id"] == "rq-77"
    assert refused.status_code == 403 and refused.json()["request_id"] == "rq-78"
    assert bogus.headers["x-request-id"] != "a b<script>"
    ids = [(e.decision, e.request_id) for e in sink.events]
    assert ids == [("masked", "rq-77"), ("allowed", made.headers["x-request-id"]),
                   ("denied", "rq-78"), ("allowed", bogus.headers["x-request-id"])]
    assert len(made.headers["x-request-id"]) == 32
    assert fp.access.current_request_id() == ""  # nothing leaks out of a request


def test_jsonable_walks_without_serialisers_and_masks_what_it_cannot_vouch_for() -> None:
    import decimal
    import enum
    import uuid
    from typing import NamedTuple

    class Colour(enum.Enum):
        RED = "red"

    class Pair(NamedTuple):
        a: int
        b: fp.Secret[str]

    @dataclasses_dataclass
    class Row:
        amount: decimal.Decimal
        when: dt.datetime

    token = fp.Keyring.generate().encrypt("x", context="c")
    out = jsonable({"k": [Pair(1, fp.Secret("s")), Row(decimal.Decimal("1.10"),
                                                          dt.datetime(2026, 1, 1, tzinfo=dt.UTC))],
                    "t": token, "b": b"\x00\xff", "u": uuid.UUID(int=1), "e": Colour.RED,
                    "o": object(), "n": None, "f": 1.5, 3: {2}, "fpx": "fp is fine"})
    assert out == {"k": [{"a": 1, "b": "s"},
                         {"amount": "1.10", "when": "2026-01-01T00:00:00+00:00"}],
                   "t": "****", "b": "AP8=", "u": "00000000-0000-0000-0000-000000000001",
                   "e": "red", "o": "****", "n": None, "f": 1.5, "3": [2],
                   "fpx": "fp is fine"}


def test_in_request_rejects_bad_ids_and_misuse() -> None:
    with pytest.raises(fp.InvalidInputError):
        fp.access.in_request("")
    with pytest.raises(fp.InvalidInputError):
        fp.access.in_request("x" * 65)
    with pytest.raises(fp.InvalidInputError):
        fp.access.in_request("a\nb")
    block = fp.access.in_request("r-1")
    with block:
        assert fp.access.current_request_id() == "r-1"
        with pytest.raises(fp.ConfigurationError):
            block.__enter__()
    assert fp.access.current_request_id() == ""
    with pytest.raises(fp.ConfigurationError):
        block.__exit__(None, None, None)


from dataclasses import dataclass as dataclasses_dataclass  # noqa: E402
