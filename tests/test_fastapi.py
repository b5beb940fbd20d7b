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
