"""Tests of the FastAPI example service (run in CI with the project's tests)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

_spec = importlib.util.spec_from_file_location("books_fastapi_app",
                                               Path(__file__).with_name("app.py"))
assert _spec is not None and _spec.loader is not None
books = importlib.util.module_from_spec(_spec)
sys.modules["books_fastapi_app"] = books
_spec.loader.exec_module(books)

ID_NO, CARD, PHONE = "11010519491231002X", "6222020200112233445", "13812345678"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[TestClient, str, Any]]:
    app = books.create_app(tmp_path, clock=books.fp.FixedClock(
        dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)))
    with TestClient(app) as client:
        made = client.post("/clients", headers=auth("t-amy"), json={
            "name": "林小梅", "id_no": ID_NO, "card_no": CARD, "phone": PHONE})
        assert made.status_code == 201
        yield client, made.json()["client_no"], app
    app.state.audit.close()


def test_need_to_know_masking_by_role(web: tuple[TestClient, str, Any]) -> None:
    client, no, _ = web
    amy = client.get(f"/clients/{no}", headers=auth("t-amy")).json()
    assert amy["id_no"] == ID_NO and amy["card_no"] == CARD
    ivan = client.get(f"/clients/{no}", headers=auth("t-ivan"))
    assert ID_NO not in ivan.text and CARD not in ivan.text and PHONE not in ivan.text
    assert ivan.json()["card_no"].endswith("3445") and "fp1." not in ivan.text


def test_lookup_by_id_number_and_bad_input(web: tuple[TestClient, str, Any]) -> None:
    client, no, _ = web
    found = client.get("/lookup", params={"id_no": "110105 19491231 002x"},
                       headers=auth("t-ivan")).json()
    assert [c["client_no"] for c in found] == [no]
    assert client.get("/lookup", params={"id_no": "440306199001011236"},
                      headers=auth("t-ivan")).json() == []
    bad = client.post("/clients", headers=auth("t-amy"),
                      json={"name": "x", "id_no": "110105194912310021"})
    assert bad.status_code == 422 and "110105194912310021" not in bad.text


def test_consent_gates_the_newsletter(web: tuple[TestClient, str, Any]) -> None:
    client, no, _ = web
    assert client.get(f"/clients/{no}/newsletter", headers=auth("t-max")).status_code == 403
    client.post(f"/clients/{no}/consents/newsletter", headers=auth("t-max"))
    seen = client.get(f"/clients/{no}/newsletter", headers=auth("t-max")).json()
    assert seen["phone"] == PHONE and "id_no" not in seen and "card_no" not in seen
    client.delete(f"/clients/{no}/consents/newsletter", headers=auth("t-max"))
    assert client.get(f"/clients/{no}/newsletter", headers=auth("t-max")).status_code == 403


def test_break_glass_is_for_supervisors_and_audited(web: tuple[TestClient, str, Any]) -> None:
    client, no, _ = web
    denied = client.post(f"/clients/{no}/emergency", headers=auth("t-ivan"),
                         json={"reason": "curious"})
    assert denied.status_code == 403
    glass = client.post(f"/clients/{no}/emergency", headers=auth("t-sue"),
                        json={"reason": "card stolen"}, )
    assert glass.status_code == 200 and glass.json()["card_no"] == CARD
    trail = client.get("/audit", params={"subject": no}, headers=auth("t-sue")).json()
    assert any(e["break_glass"] and e["actor"] == "sue" for e in trail)
    assert all(e["request_id"] for e in trail)
    assert client.get("/audit", params={"subject": no}, headers=auth("t-amy")).status_code == 403


def test_the_audit_log_verifies(web: tuple[TestClient, str, Any]) -> None:
    client, no, app = web
    client.get(f"/clients/{no}", headers=auth("t-ivan"))
    report = app.state.audit.verify()  # raises AuditIntegrityError when tampered
    assert report.checked_entries == report.size >= 2


def test_demo_runs(tmp_path: Path) -> None:
    lines = books.demo(tmp_path)
    assert any(line.startswith("break-glass:") for line in lines)
    assert not any(CARD in line for line in lines if line.startswith("intern"))
