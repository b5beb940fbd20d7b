"""Web stack overhead (issue 17): FastAPI principal binding and response shaping.

One request through httpx's ASGI transport to a minimal FastAPI endpoint, in one event
loop, best of several repeats:

* baseline: a plain app whose endpoint returns a dict of four fields;
* finprivacy: the same app with :func:`finprivacy.fastapi.install` (principal from a
  header, request id, problem+json handlers) and the endpoint under
  :func:`finprivacy.fastapi.shaped` (policy check, need-to-know masking of the card
  number, an audit record on an :class:`~finprivacy.access.AuditQueue`).

Target: ≤ 1.15× the baseline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

from benchmarks._harness import heading, report

CARD = "6222020200112233445"


def _apps() -> tuple[Any, Any, Any]:
    from fastapi import FastAPI, Request

    import finprivacy as fp
    from finprivacy.access import (
        AccessControl,
        AuditQueue,
        Permission,
        Policy,
        Principal,
        Purpose,
        Role,
    )
    from finprivacy.fastapi import install, shaped
    from finprivacy.inventory import DataField, DataInventory

    inventory = DataInventory([
        DataField("client_id", category="internal", sensitivity="C1"),
        DataField("name", category="identity", sensitivity="C2", mask="name"),
        DataField("card_no", category="account", sensitivity="C2", mask="bank_card"),
        DataField("balance", category="internal", sensitivity="C1"),
    ])
    policy = Policy(version="b", purposes=(Purpose("account_verification",
                                                   legal_basis="contract"),),
                    roles=(Role("intern"),),
                    permissions=(Permission("intern", "account_verification"),))
    queue = AuditQueue()
    control = AccessControl(policy, inventory, audit=queue,
                            clock=fp.FixedClock(dt.datetime(2026, 12, 1, tzinfo=dt.UTC)))
    ivan = Principal("ivan", roles={"intern"}, tenant="t")

    def row(client_id: str) -> dict[str, Any]:
        return {"client_id": client_id, "name": "张三", "card_no": CARD, "balance": "10.00"}

    plain = FastAPI()

    @plain.get("/clients/{client_id}")
    async def plain_get(client_id: str) -> dict[str, Any]:
        return row(client_id)

    guarded = FastAPI()

    @guarded.get("/clients/{client_id}")
    @shaped("account_verification", subject="client_id", control=control)
    async def guarded_get(client_id: str) -> dict[str, Any]:
        return row(client_id)

    def principal(request: Request) -> Principal | None:
        return ivan if request.headers.get("x-user") == "ivan" else None

    install(guarded, principal=principal)
    return plain, guarded, queue


async def _per_request(app: Any, number: int, repeat: int) -> float:
    import httpx

    transport = httpx.ASGITransport(app=app)
    best = float("inf")
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        headers = {"x-user": "ivan"}
        r = await client.get("/clients/c-1", headers=headers)
        assert r.status_code == 200, r.text
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(number):
                await client.get("/clients/c-1", headers=headers)
            best = min(best, (time.perf_counter() - start) / number)
    return best


def main(*, quick: bool = False) -> None:
    heading("web: FastAPI through the ASGI transport")
    plain, guarded, queue = _apps()
    number, repeat = (200, 3) if quick else (2000, 7)
    base = guarded_t = float("inf")
    for _ in range(2):  # alternate, so drift hits both alike
        base = min(base, asyncio.run(_per_request(plain, number, repeat)))
        guarded_t = min(guarded_t, asyncio.run(_per_request(guarded, number, repeat)))
        queue.drain()
    report("minimal endpoint, plain FastAPI", base)
    report("install() + @shaped (mask, audit record)", guarded_t, base,
           baseline_name="plain", target=1.15)
