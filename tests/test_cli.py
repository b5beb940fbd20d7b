from __future__ import annotations

import io
import json
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import pytest

import finprivacy as fp
from finprivacy.cli import EXIT_CHECK_FAILED, EXIT_ERROR, EXIT_OK, EXIT_USAGE, main

PASS = "correct horse battery staple"
CARD = "6222020200112233446"


@pytest.fixture
def env_pass(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("FP_TEST_PASS", PASS)
    return ["--passphrase-env", "FP_TEST_PASS"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_generate_list_rotate(tmp_path: Path, env_pass: list[str],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "keys.json")
    code, out, _ = _run(capsys, "keys", "generate", path, *env_pass, "--format", "json")
    assert code == EXIT_OK
    first = json.loads(out)["primary"]
    assert PASS not in Path(path).read_text()
    code, out, _ = _run(capsys, "keys", "rotate", path, *env_pass, "--format", "json")
    second = json.loads(out)["primary"]
    assert code == EXIT_OK and second != first
    code, out, _ = _run(capsys, "keys", "list", path, *env_pass, "--format", "json")
    listing = json.loads(out)
    assert listing["primary"] == second
    assert {k["id"]: k["status"] for k in listing["keys"]}[first] != "primary"
    # Refuses to overwrite an existing keyring.
    code, _, err = _run(capsys, "keys", "generate", path, *env_pass)
    assert code == EXIT_ERROR and "refusing to overwrite" in err


def test_wrong_passphrase_is_a_clean_error(tmp_path: Path, env_pass: list[str],
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "keys.json")
    assert _run(capsys, "keys", "generate", path, *env_pass)[0] == EXIT_OK
    monkeypatch.setenv("FP_TEST_PASS", "Tr0ub4dor&3-not-it")
    code, _, err = _run(capsys, "keys", "list", path, *env_pass)
    assert code == EXIT_ERROR
    assert "Tr0ub4dor" not in err and "finprivacy: error" in err
    monkeypatch.delenv("FP_TEST_PASS")
    code, _, err = _run(capsys, "keys", "list", path, *env_pass)
    assert code == EXIT_ERROR and "FP_TEST_PASS" in err


def test_passphrase_from_stdin(tmp_path: Path, env_pass: list[str],
                               monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "keys.json")
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASS + "\n"))
    assert _run(capsys, "keys", "generate", path, "--passphrase-stdin")[0] == EXIT_OK
    assert _run(capsys, "keys", "list", path, *env_pass)[0] == EXIT_OK
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = _run(capsys, "keys", "list", path)
    assert code == EXIT_ERROR and "--passphrase-env" in err


def test_reencrypt_column(tmp_path: Path, env_pass: list[str],
                          capsys: pytest.CaptureFixture[str]) -> None:
    keys = str(tmp_path / "keys.json")
    assert _run(capsys, "keys", "generate", keys, *env_pass)[0] == EXIT_OK
    kr = fp.Keyring.load(keys, passphrase=PASS)
    db = tmp_path / "books.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("CREATE TABLE clients (id INTEGER PRIMARY KEY, card_no TEXT)")
        conn.executemany("INSERT INTO clients VALUES (?, ?)",
                         [(i, kr.encrypt(f"{CARD}{i}", context="clients.card_no"))
                          for i in range(1, 8)] + [(8, None)])
    assert _run(capsys, "keys", "rotate", keys, *env_pass)[0] == EXIT_OK
    argv = ["reencrypt", "--keyring", keys, "--db", f"sqlite:///{db}", "--table", "clients",
            "--column", "card_no", "--context", "clients.card_no", "--batch", "3",
            *env_pass, "--format", "json"]
    code, out, _ = _run(capsys, *argv)
    assert code == EXIT_OK
    assert json.loads(out)["reencrypted"] == 7 and json.loads(out)["scanned"] == 8
    kr2 = fp.Keyring.load(keys, passphrase=PASS)
    with closing(sqlite3.connect(db)) as conn, conn:
        rows = conn.execute("SELECT id, card_no FROM clients WHERE card_no IS NOT NULL").fetchall()
    for rid, token in rows:
        assert not kr2.needs_reencrypt(token)
        assert kr2.decrypt(token, context="clients.card_no") == f"{CARD}{rid}"
    code, out, _ = _run(capsys, *argv)  # idempotent: nothing left to do
    assert json.loads(out)["reencrypted"] == 0
    bad = [*argv]
    bad[bad.index("clients")] = "clients; DROP TABLE clients"
    assert _run(capsys, *bad)[0] == EXIT_ERROR


def test_scan_and_redact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    note = tmp_path / "chat.txt"
    note.write_text(f"客户卡号{CARD}，手机13812345678\n发票号 INV-2024-0001\n", encoding="utf-8")
    code, out, _ = _run(capsys, "scan", str(note), "--format", "json")
    assert code == EXIT_CHECK_FAILED
    kinds = sorted(r["kind"] for r in json.loads(out))
    assert kinds == ["bank_card", "cn_phone"]
    assert CARD not in out
    code, out, _ = _run(capsys, "redact", str(note))
    assert code == EXIT_OK and CARD not in out and "13812345678" not in out
    assert "INV-2024-0001" in out
    clean = tmp_path / "clean.txt"
    clean.write_text("nothing to see\n")
    assert _run(capsys, "scan", str(clean))[0] == EXIT_OK


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys)[0] == EXIT_USAGE
    assert _run(capsys, "keys")[0] == EXIT_USAGE
    assert _run(capsys, "--version")[1].strip() == fp.__version__


def test_retention_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(
        '{"id": "v-2014-001", "record_class": "bookkeeping_voucher", "created": "2014-03-15"}\n'
        '{"id": "st-2014-06", "record_class": "bank_statement", "created": "2014-06-30"}\n'
        "\n"
        '{"id": "ar-2014", "record_class": "annual_financial_report", "created": "2015-03-31"}\n',
        encoding="utf-8")
    code, out, err = _run(capsys, "retention", "plan", str(records), "--now",
                          "2026-01-01T00:00:00+08:00", "--format", "json")
    assert code == EXIT_OK
    rows = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert rows["st-2014-06"]["status"] == "due"
    assert rows["v-2014-001"]["status"] == "kept"
    assert rows["v-2014-001"]["kept_through"] == "2044-12-31"
    assert rows["ar-2014"]["permanent"] is True
    assert "3 records: 1 due, 2 kept (1 permanent), 0 held" in err
    code, out, _ = _run(capsys, "retention", "plan", str(records), "--now",
                        "2026-01-01T00:00:00+08:00", "--only", "due")
    assert code == EXIT_OK and out.split()[0] == "st-2014-06" and len(out.splitlines()) == 1
    bad = tmp_path / "bad.jsonl"
    for line, expected in [('{"id": "x", "record_class": "nope", "created": "2014-03-15"}',
                            "no retention rule"),
                           ('{"id": "x", "record_class": "bank_statement", '
                            '"created": "2014-03-15T00:00"}', "UTC offset"),
                           ("not json", "line 1: not valid JSON")]:
        bad.write_text(line + "\n", encoding="utf-8")
        code, _, err = _run(capsys, "retention", "plan", str(bad))
        assert code == EXIT_ERROR and expected in err
