"""Encrypted backups (issue 19): SQLite and PostgreSQL, signed manifests, verify,
restore with checks, crashes that leave no backup, pruning recorded in the audit log."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

import finprivacy as fp
from finprivacy.backup import (
    create_backup,
    list_backups,
    prune_backups,
    restore_backup,
    verify_backup,
)
from finprivacy.cli import main

T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def _books(path: Path, rows: int = 500) -> str:
    conn = sqlite3.connect(path)
    conn.execute("create table ledger (id integer primary key, client text, amount text)")
    conn.executemany("insert into ledger values (?, ?, ?)",
                     [(i, f"client-{i % 40}", f"{i}.50") for i in range(rows)])
    conn.execute("create table clients (id integer primary key, id_no text)")
    conn.execute("insert into clients values (1, '11010519491231002X')")
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def test_sqlite_backup_verify_restore(tmp_path: Path) -> None:
    kr = fp.Keyring.generate()
    src = _books(tmp_path / "books.db")
    folder = tmp_path / "backups"
    m = create_backup(src, folder, keyring=kr, clock=fp.FixedClock(T0))
    assert m.tables == {"clients": 1, "ledger": 500} and m.kind == "sqlite"
    snapshot = folder / m.file
    assert b"11010519491231002X" not in snapshot.read_bytes()  # encrypted at rest
    assert not list(folder.glob("*.part"))
    assert [b.file for b in list_backups(folder)] == [m.file]
    assert verify_backup(snapshot, keyring=kr) == m
    report = restore_backup(folder / m.file, f"sqlite:///{tmp_path / 'restored.db'}",
                            keyring=kr)
    assert report.integrity == "ok" and report.tables == m.tables
    conn = sqlite3.connect(tmp_path / "restored.db")
    assert conn.execute("select id_no from clients").fetchone()[0] == "11010519491231002X"
    conn.close()
    with pytest.raises(fp.InvalidInputError):  # never over an existing database
        restore_backup(snapshot, f"sqlite:///{tmp_path / 'restored.db'}", keyring=kr)


def test_tampering_is_caught_without_restoring(tmp_path: Path) -> None:
    kr = fp.Keyring.generate()
    folder = tmp_path / "b"
    m = create_backup(_books(tmp_path / "books.db"), folder, keyring=kr)
    manifest = folder / m.file.replace(".fpbk", ".manifest.json")
    data = json.loads(manifest.read_text())
    data["tables"]["ledger"] = 499
    manifest.write_text(json.dumps(data))
    with pytest.raises(fp.VerificationError, match="signature"):
        verify_backup(manifest, keyring=kr)
    m2 = create_backup(_books(tmp_path / "books2.db"), folder, keyring=kr, name="other")
    blob = bytearray((folder / m2.file).read_bytes())
    blob[-40] ^= 1
    (folder / m2.file).write_bytes(bytes(blob))
    with pytest.raises(fp.DecryptionError):
        verify_backup(folder / m2.file, keyring=kr)
    m3 = create_backup(_books(tmp_path / "books3.db"), folder, keyring=kr, name="third")
    with pytest.raises(fp.VerificationError):  # another firm's keyring: not our signature
        verify_backup(folder / m3.file, keyring=fp.Keyring.generate())
    assert main(["backup", "list", str(folder)]) == 0


def test_a_crash_leaves_nothing_that_looks_like_a_backup(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from finprivacy.backup import _backup

    real = _backup._snapshot

    def dies(kind: str, source: str):  # type: ignore[no-untyped-def]
        it = real(kind, source)
        yield next(it)
        raise OSError("power cut")

    monkeypatch.setattr(_backup, "_snapshot", dies)
    folder = tmp_path / "b"
    with pytest.raises(OSError, match="power cut"):
        create_backup(_books(tmp_path / "books.db", rows=60_000), folder,
                      keyring=fp.Keyring.generate())
    assert list(folder.iterdir()) == [] and list_backups(folder) == []


def test_prune_keeps_by_rule_and_records_each_disposal(tmp_path: Path) -> None:
    kr = fp.Keyring.generate()
    src = _books(tmp_path / "books.db", rows=10)
    folder = tmp_path / "b"
    for day in range(5):
        create_backup(src, folder, keyring=kr, clock=fp.FixedClock(T0 + dt.timedelta(days=day)))
    log = fp.AuditLog("memory:", clock=fp.FixedClock(T0 + dt.timedelta(days=10)))
    assert len(prune_backups(folder, keep_last=2, dry_run=True)) == 3
    assert len(list_backups(folder)) == 5
    gone = prune_backups(folder, keep_last=2, audit=log,
                         clock=fp.FixedClock(T0 + dt.timedelta(days=10)))
    assert [g.created.day for g in gone] == [1, 2, 3]
    assert [b.created.day for b in list_backups(folder)] == [4, 5]
    events = list(log.query(action="backup.dispose"))
    assert [e.details["file"] for e in events] == [g.file for g in gone]
    assert len(list(folder.iterdir())) == 4
    with pytest.raises(fp.InvalidInputError):
        prune_backups(folder, keep_last=0)
    kept = prune_backups(folder, keep_last=1, keep_days=30,
                         clock=fp.FixedClock(T0 + dt.timedelta(days=10)))
    assert kept == []  # younger than 30 days: kept
    log.close()


@pytest.mark.postgres
def test_postgresql_backup_and_restore(pg_url: str, pg_server_dsn: str, tmp_path: Path) -> None:
    import uuid

    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("create table ledger (id int primary key, client text)")
        conn.execute("insert into ledger select g, 'client-' || g from generate_series(1, 300) g")
    kr = fp.Keyring.generate()
    m = create_backup(pg_url, tmp_path, keyring=kr, name="pg")
    assert m.kind == "postgresql" and m.tables == {"public.ledger": 300}
    assert verify_backup(tmp_path / m.file, keyring=kr) == m
    name = "r_" + uuid.uuid4().hex[:12]
    with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, query = pg_server_dsn.partition("?")
    target = base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
    try:
        report = restore_backup(tmp_path / m.file, target, keyring=kr)
        assert report.tables == {"public.ledger": 300}
    finally:
        with psycopg.connect(pg_server_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_cli_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KR_PASS", "correct horse battery staple 2026")
    keyfile = tmp_path / "kr.json"
    assert main(["keys", "generate", str(keyfile), "--passphrase-env", "KR_PASS"]) == 0
    kr = ["--keyring", str(keyfile), "--passphrase-env", "KR_PASS"]
    src = _books(tmp_path / "books.db", rows=20)
    folder = tmp_path / "b"
    assert main(["backup", "create", src, str(folder), *kr, "--format", "json"]) == 0
    file = json.loads(capsys.readouterr().out.splitlines()[-1])["file"]
    assert main(["backup", "verify", str(folder / file), *kr]) == 0
    assert main(["backup", "restore", str(folder / file),
                 f"sqlite:///{tmp_path / 'r.db'}", *kr]) == 0
    (folder / file).write_bytes((folder / file).read_bytes()[:-5])
    assert main(["backup", "verify", str(folder / file), *kr]) == 1
    assert main(["backup", "verify", str(folder / "missing.fpbk"), *kr]) == 3
    assert main(["backup", "prune", str(folder), "--keep-last", "1"]) == 0


def test_an_age_copy_opens_with_the_recipients_identity(tmp_path: Path) -> None:
    pyrage = pytest.importorskip("pyrage")
    ident = pyrage.x25519.Identity.generate()
    kr = fp.Keyring.generate()
    src = _books(tmp_path / "books.db", rows=30)
    m = create_backup(src, tmp_path / "b", keyring=kr, name="offsite",
                      age_recipients=[str(ident.to_public())])
    assert m.age_file.endswith(".age")
    plain = pyrage.decrypt((tmp_path / "b" / m.age_file).read_bytes(), [ident])
    assert plain[:16] == b"SQLite format 3\x00"
    import hashlib

    assert hashlib.sha256(plain).hexdigest() == m.plaintext_sha256
    assert verify_backup(tmp_path / "b" / m.file, keyring=kr).age_file == m.age_file
    with pytest.raises(fp.InvalidInputError):
        create_backup(src, tmp_path / "b", keyring=kr, name="bad", age_recipients=["nope"])
    assert not list((tmp_path / "b").glob("*.part"))
    assert not list((tmp_path / "b").glob("bad-*"))


def test_listing_a_missing_folder_is_an_error_not_an_empty_list(tmp_path: Path) -> None:
    with pytest.raises(fp.NotFoundError):
        list_backups(tmp_path / "nofolder")
    assert main(["backup", "list", str(tmp_path / "nofolder")]) == 3
    assert not (tmp_path / "nofolder").exists()
