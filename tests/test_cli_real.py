"""The command line as a user runs it: real processes, exit codes, never a traceback (issue 16).

Exit codes (docs/reference/cli.md): 0 clean / verified, 1 a check failed (PII found,
verification failed), 2 usage, 3 bad input (missing file, wrong table, no store).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

import finprivacy as fp
from finprivacy.crypto import record_context

ROOT = Path(__file__).resolve().parent.parent
PASS = "correct horse battery staple"
CSV = "name,id_no,card\n张伟,440306199001011236,6217001234567890122\n"


def run(*argv: str, stdin: str = "", env: dict[str, str] | None = None,
        cwd: Path | None = None) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "finprivacy", *argv], input=stdin, capture_output=True,
        text=True, timeout=120, cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout
    return proc.returncode, proc.stdout, proc.stderr


# ---------------------------------------------------------------- scan and redact

def test_scan_a_csv_of_ids_is_not_clean(tmp_path: Path) -> None:
    export = tmp_path / "clients.csv"
    export.write_text(CSV, encoding="utf-8")
    code, out, err = run("scan", str(export))
    assert code == 1
    assert [line.split(": ")[1].split()[0] for line in out.splitlines()] == ["cn_id", "bank_card"]
    assert "2 findings in 1 file" in err


@pytest.mark.parametrize("target", ["missing.csv", "no/such/folder/x.csv"])
def test_scan_a_missing_file_is_exit_3_not_clean_or_a_leak(tmp_path: Path, target: str) -> None:
    code, out, err = run("scan", str(tmp_path / target))
    assert code == 3
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "no file or folder at" in err


def test_scan_a_folder_recursively_with_globs(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "clients.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "a" / "notes.txt").write_text("call 13812345678\n", encoding="utf-8")
    (tmp_path / "skip").mkdir()
    (tmp_path / "skip" / "old.csv").write_text(CSV, encoding="utf-8")
    code, out, _ = run("scan", str(tmp_path), "--include", "*.csv", "--exclude", "skip",
                       "--format", "json")
    assert code == 1
    rows = json.loads(out)
    assert {Path(r["file"]).name for r in rows} == {"clients.csv"}
    assert [r["kind"] for r in rows] == ["cn_id", "bank_card"]
    code, out, _ = run("scan", str(tmp_path / "a"), "--exclude", "*.csv", "--format", "json")
    assert code == 1 and [r["kind"] for r in json.loads(out)] == ["cn_phone"]


def test_scan_clean_input_is_exit_0(tmp_path: Path) -> None:
    clean = tmp_path / "clean.csv"
    clean.write_text("invoice,amount\nINV-2024-0001,\"1,280.00\"\n", encoding="utf-8")
    assert run("scan", str(clean))[0] == 0
    assert run("scan", "--format", "json", stdin="nothing here\n")[:2] == (0, "[]\n")


def test_scan_invalid_utf8_does_not_crash(tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    raw.write_bytes(b"\xff\xfe,440306199001011236\n")
    assert run("scan", str(raw))[0] == 1


def test_redact_to_a_file_and_in_place(tmp_path: Path) -> None:
    export = tmp_path / "clients.csv"
    export.write_text(CSV, encoding="utf-8")
    out_file = tmp_path / "masked.csv"
    code, out, _ = run("redact", str(export), "-o", str(out_file))
    assert code == 0 and out == ""
    masked = out_file.read_text(encoding="utf-8")
    assert "440306199001011236" not in masked and masked.startswith("name,id_no,card\n")
    assert export.read_text(encoding="utf-8") == CSV  # the source is untouched
    code, _, _ = run("redact", "--in-place", str(export))
    assert code == 0 and export.read_text(encoding="utf-8") == masked
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_redact_into_a_missing_folder_or_from_a_folder_is_exit_3(tmp_path: Path) -> None:
    export = tmp_path / "clients.csv"
    export.write_text(CSV, encoding="utf-8")
    code, _, err = run("redact", str(export), "-o", str(tmp_path / "nope" / "out.csv"))
    assert code == 3 and "no folder" in err
    code, _, err = run("redact", str(tmp_path / "missing.csv"))
    assert code == 3 and "no file or folder" in err


# ---------------------------------------------------------------- audit check

def _audit_db(tmp_path: Path, *, checkpoint: bool = True, n: int = 3) -> tuple[str, Path]:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    signer = fp.Ed25519Signer.generate()
    log = fp.AuditLog(url, signer=signer, origin="lotus/audit")
    for i in range(n):
        log.append("read", actor="amy", subject=f"c{i}")
    if checkpoint:
        log.checkpoint()
    log.append("read", actor="amy", subject="after")
    log.close()
    key = tmp_path / "audit.pub"
    key.write_bytes(signer.public_key_bytes())
    return url, key


def test_audit_check_of_a_mistyped_url_creates_nothing(tmp_path: Path) -> None:
    for target in ("audti.db", "missing/folder/audit.db"):
        url = f"sqlite:///{tmp_path / target}"
        key = tmp_path / "k.pub"
        key.write_bytes(fp.Ed25519Signer.generate().public_key_bytes())
        code, out, err = run("audit", "check", "--db", url, "--public-key", str(key))
        assert code == 3 and out == ""
        assert "no audit log at" in err
        assert not (tmp_path / target).exists()
        assert not (tmp_path / "missing").exists()


def test_audit_check_on_a_database_without_a_log(tmp_path: Path) -> None:
    other = tmp_path / "app.db"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE t (x)")
    key = tmp_path / "k.pub"
    key.write_bytes(fp.Ed25519Signer.generate().public_key_bytes())
    code, _, err = run("audit", "check", "--db", f"sqlite:///{other}", "--public-key", str(key))
    assert code == 3 and "no audit log at" in err
    with closing(sqlite3.connect(other)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"t"}


def test_audit_check_json_and_freshness(tmp_path: Path) -> None:
    url, key = _audit_db(tmp_path)
    base = ("audit", "check", "--db", url, "--public-key", str(key), "--origin", "lotus/audit")
    code, out, _ = run(*base)
    assert code == 0 and "OK lotus/audit: 4 entries (0 pruned), 1 checkpoint," in out
    code, out, _ = run(*base, "--max-unsigned", "0", "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False and report["position"] == 3
    assert "past the newest signed checkpoint" in report["reason"]
    assert run(*base, "--max-unsigned", "1")[0] == 0
    assert run(*base, "--max-age", "1h")[0] == 0
    assert run(*base, "--max-age", "soon")[0] == 2  # a usage error


def test_audit_check_suggests_the_stored_origin(tmp_path: Path) -> None:
    url, key = _audit_db(tmp_path)
    code, out, err = run("audit", "check", "--db", url, "--public-key", str(key),
                         "--format", "json")
    assert code == 1
    assert "pass --origin lotus/audit" in err
    assert json.loads(out)["origin"] == "lotus/audit"


# ---------------------------------------------------------------- reencrypt

def _table(tmp_path: Path, *, bound: bool = False) -> tuple[str, Path, fp.Keyring]:
    from finprivacy.crypto import ARGON2_TESTING_ONLY, PassphraseProvider

    kr = fp.Keyring.generate()
    path = tmp_path / "keyring.json"
    db = tmp_path / "app.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE clients (id INTEGER PRIMARY KEY, card_no TEXT)")
        for i in range(1, 6):
            context = record_context("clients.card_no", i) if bound else "clients.card_no"
            conn.execute("INSERT INTO clients VALUES (?, ?)",
                         (i, kr.encrypt("6222020200112233446", context=context)))
        conn.commit()
    kr.rotate()
    kr.save(path, provider=PassphraseProvider(PASS, profile=ARGON2_TESTING_ONLY))
    return f"sqlite:///{db}", path, kr


def _reencrypt(url: str, keyring: Path, *extra: str) -> tuple[int, str, str]:
    return run("reencrypt", "--keyring", str(keyring), "--db", url, "--context",
               "clients.card_no", "--passphrase-env", "FP_PASS", "--format", "json", *extra,
               env={"FP_PASS": PASS})


def test_reencrypt_names_a_wrong_table_or_column(tmp_path: Path) -> None:
    url, keyring, _ = _table(tmp_path)
    code, _, err = _reencrypt(url, keyring, "--table", "client", "--column", "card_no")
    assert code == 3 and "no table 'client'" in err and "did you mean 'clients'" in err
    code, _, err = _reencrypt(url, keyring, "--table", "clients", "--column", "card")
    assert code == 3 and "has no column 'card'" in err and "'card_no'" in err


def test_reencrypt_on_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    _, keyring, _ = _table(tmp_path)
    missing = tmp_path / "nope.db"
    code, _, err = _reencrypt(f"sqlite:///{missing}", keyring, "--table", "clients",
                              "--column", "card_no")
    assert code == 3 and "no database at" in err and not missing.exists()


def test_reencrypt_row_bound_tokens_and_report_failures(tmp_path: Path) -> None:
    url, keyring, kr = _table(tmp_path, bound=True)
    code, out, err = _reencrypt(url, keyring, "--table", "clients", "--column", "card_no")
    assert code == 3
    assert json.loads(out)["failed"] == 5
    assert "row id=1" in err and "--bind-row" in err
    assert "6222020200112233446" not in err + out
    code, out, _ = _reencrypt(url, keyring, "--table", "clients", "--column", "card_no",
                              "--bind-row")
    assert code == 0 and json.loads(out)["reencrypted"] == 5
    with closing(sqlite3.connect(url[len("sqlite:///"):])) as conn:
        token = conn.execute("SELECT card_no FROM clients WHERE id = 3").fetchone()[0]
    assert not kr.needs_reencrypt(token)
    assert kr.decrypt(token, context=record_context("clients.card_no", 3)) == \
        "6222020200112233446"


# ---------------------------------------------------------------- retention plan

def test_retention_plan_bad_paths_and_every_unknown_class(tmp_path: Path) -> None:
    assert run("retention", "plan", str(tmp_path / "missing.jsonl"))[0] == 3
    assert run("retention", "plan", str(tmp_path))[0] == 3
    records = tmp_path / "r.jsonl"
    records.write_text(
        '{"id": "a", "record_class": "nope", "created": "2014-03-15"}\n'
        '{"id": "b", "record_class": "bank_statement", "created": "2014-03-15"}\n'
        '{"id": "c", "record_class": "also_nope", "created": "2014-03-15"}\n', encoding="utf-8")
    code, out, err = run("retention", "plan", str(records))
    assert code == 3 and out == ""
    assert "'also_nope'" in err and "'nope'" in err and "2 record classes" in err


def test_retention_plan_permanent_and_holds(tmp_path: Path) -> None:
    records = tmp_path / "r.jsonl"
    records.write_text(
        '{"id": "ar-2014", "record_class": "annual_financial_report", "created": "2015-03-31"}\n'
        '{"id": "st-1", "record_class": "bank_statement", "created": "2014-06-30", '
        '"subject": "client-9"}\n', encoding="utf-8")
    code, out, err = run("retention", "plan", str(records), "--now", "2026-01-01T00:00:00+08:00")
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("ar-2014"))
    assert "kept permanently" in line and "delete" not in line
    assert "2 records:" in err
    holds = f"sqlite:///{tmp_path / 'holds.db'}"
    fp.retention.LegalHolds(holds).place(matter="tax_audit", reason="tax audit 2026",
                                         placed_by="legal", subjects={"client-9"})
    code, out, err = run("retention", "plan", str(records), "--now",
                         "2026-01-01T00:00:00+08:00", "--holds", holds, "--format", "json")
    assert code == 0
    rows = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert rows["st-1"]["status"] == "held" and rows["ar-2014"]["action"] == "keep"
    assert run("retention", "plan", "--help")[1].count("record_class") >= 1


# ---------------------------------------------------------------- rotation keeps lookups

def test_rotate_reencrypt_reindex_retire_keeps_blind_index_lookups(tmp_path: Path) -> None:
    from finprivacy.crypto import ARGON2_TESTING_ONLY, PassphraseProvider

    provider = PassphraseProvider(PASS, profile=ARGON2_TESTING_ONLY)
    keyring = tmp_path / "keyring.json"
    kr = fp.Keyring.generate()
    kr.save(keyring, provider=provider)
    db = tmp_path / "app.db"
    url = f"sqlite:///{db}"
    index = fp.BlindIndex(kr, "clients.id_no", bits=16, normalize=["nfkc"])
    ids = ["440306199001011236", "11010519491231002X", "440305199003152916"]
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE clients (id INTEGER PRIMARY KEY, id_no TEXT, id_bidx TEXT)")
        for i, value in enumerate(ids, 1):
            conn.execute("INSERT INTO clients VALUES (?, ?, ?)",
                         (i, kr.encrypt(value, context="clients.id_no"), index.compute(value)))
        conn.commit()
    env = {"FP_PASS": PASS}
    common = ("--passphrase-env", "FP_PASS")
    code, out, _ = run("keys", "rotate", str(keyring), *common, env=env)
    assert code == 0 and "finprivacy reindex" in out and "keys retire" in out
    old = kr.primary_id
    tables = ("--db", url, "--column", "clients.id_no", "--column", "clients.id_bidx")
    code, _, err = run("keys", "retire", str(keyring), old, *tables, *common, env=env)
    assert code == 3 and "refusing to retire" in err and "clients.id_bidx: 3" in err
    code, _, _ = run("reencrypt", "--keyring", str(keyring), "--db", url, "--table", "clients",
                     "--column", "id_no", "--context", "clients.id_no", *common, env=env)
    assert code == 0
    code, _, err = run("keys", "retire", str(keyring), old, *tables, *common, env=env)
    assert code == 3 and "clients.id_bidx: 3" in err and "clients.id_no" not in err
    code, out, _ = run("reindex", "--keyring", str(keyring), "--db", url, "--table", "clients",
                       "--column", "id_no", "--index-column", "id_bidx", "--index",
                       "clients.id_no", "--bits", "16", "--normalize", "nfkc",
                       "--context", "clients.id_no", "--format", "json", *common, env=env)
    assert code == 0 and json.loads(out)["reindexed"] == 3
    code, _, _ = run("keys", "retire", str(keyring), old, *tables, *common, env=env)
    assert code == 0
    after = fp.Keyring.load(keyring, provider=provider)
    fresh = fp.BlindIndex(after, "clients.id_no", bits=16, normalize=["nfkc"])
    with closing(sqlite3.connect(db)) as conn:
        for i, value in enumerate(ids, 1):
            marks = ", ".join("?" * len(fresh.lookup_values(value)))
            found = [r[0] for r in conn.execute(
                f"SELECT id FROM clients WHERE id_bidx IN ({marks})",
                fresh.lookup_values(value))]
            assert i in found
    # Running reindex again changes nothing (resumable, idempotent).
    code, out, _ = run("reindex", "--keyring", str(keyring), "--db", url, "--table", "clients",
                       "--column", "id_no", "--index-column", "id_bidx", "--index",
                       "clients.id_no", "--bits", "16", "--normalize", "nfkc",
                       "--context", "clients.id_no", "--format", "json", *common, env=env)
    assert code == 0 and json.loads(out)["reindexed"] == 0


def test_a_database_password_never_appears_in_messages(tmp_path: Path) -> None:
    url = "postgresql://bob:s3cret-pw@127.0.0.1:1/nope"
    key = tmp_path / "k.pub"
    key.write_bytes(fp.Ed25519Signer.generate().public_key_bytes())
    code, out, err = run("audit", "check", "--db", url, "--public-key", str(key))
    assert code == 3 and "s3cret-pw" not in err + out
    assert fp._stores.redact_url(url) == "postgresql://bob:***@127.0.0.1:1/nope"
