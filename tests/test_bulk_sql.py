"""Bulk jobs on SQL tables (issue 18): in place in batches with a checkpoint committed
with each batch, or into a new table; a killed run resumes and never transforms a row
twice; a table without a primary key is refused in place. On real SQLite and on the
suite's PostgreSQL server. Also the progress reports of file jobs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
sa = pytest.importorskip("sqlalchemy")

import finprivacy as fp  # noqa: E402
from finprivacy.bulk import (  # noqa: E402
    PROGRESS_TABLE,
    ColumnAction,
    Job,
    Progress,
    _sql,
    run_job,
    run_table,
)
from finprivacy.crypto import is_token  # noqa: E402

IDS = ["11010519491231002X", "440306199001011236", "not an id", None]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "books.db"
        sa.create_engine(f"sqlite:///{path}").dispose()
        path.touch()
        yield f"sqlite:///{path}"
    else:
        yield str(request.getfixturevalue("pg_url"))


def _engine(url: str) -> object:
    from finprivacy._stores import sql_engine

    return sql_engine(url, what="test")


def _clients(url: str, rows: int = 25, *, pk: bool = True) -> None:
    engine = _engine(url)
    meta = sa.MetaData()
    sa.Table("clients", meta,
             sa.Column("id", sa.Integer, primary_key=pk),
             sa.Column("sfzh", sa.String(200)),
             sa.Column("sfzh_bidx", sa.String(64)),
             sa.Column("sjhm", sa.Text),
             sa.Column("balance", sa.Numeric(12, 2)),
             sa.Column("opened", sa.Date))
    meta.create_all(engine)  # type: ignore[arg-type]
    import datetime
    import decimal

    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(meta.tables["clients"].insert(), [
            {"id": i, "sfzh": IDS[i % 4], "sjhm": f"138{i:08d}",
             "balance": decimal.Decimal(f"{i}.50"), "opened": datetime.date(2020, 1, 1 + i % 28)}
            for i in range(1, rows + 1)])
    engine.dispose()  # type: ignore[attr-defined]


def _rows(url: str, table: str = "clients") -> list[dict[str, object]]:
    engine = _engine(url)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        tbl = sa.Table(table, sa.MetaData(), autoload_with=conn)
        out = [dict(r._mapping) for r in conn.execute(sa.select(tbl).order_by(tbl.c.id))]
    engine.dispose()  # type: ignore[attr-defined]
    return out


SEAL = Job("seal-clients", (ColumnAction("sfzh", "blind_index", context="clients.sfzh"),
                            ColumnAction("sjhm", "mask", kind="cn_phone")))
ENCRYPT = Job("encrypt-clients", (ColumnAction("sfzh", "encrypt", context="clients.sfzh"),))


def test_in_place_in_batches_with_audit_and_progress(db_url: str) -> None:
    _clients(db_url)
    kr = fp.Keyring.generate()
    log = fp.AuditLog("memory:")
    seen: list[Progress] = []
    res = run_table(SEAL, db_url, "clients", keyring=kr, batch_size=7, audit=log,
                    progress=seen.append)
    assert (res.rows, res.target, res.resumed, res.skipped) == (25, "clients", False, False)
    rows = _rows(db_url)
    assert [r["sjhm"] for r in rows][:2] == ["138****0001", "138****0002"]
    assert rows[0]["sfzh"] == IDS[1]  # blind_index keeps the value column
    index = fp.BlindIndex(kr, "clients.sfzh", bits=32,
                          normalize=("nfkc", "strip_spaces", "upper"))
    assert rows[0]["sfzh_bidx"] == index.compute(IDS[1])
    assert [p.rows for p in seen] == [7, 14, 21, 25] and seen[-1].total == 25
    assert seen[-1].eta == 0.0 and "rows 25/25" in seen[-1].line()
    [event] = [e for e in log.query() if e.action == "bulk.job"]
    assert event.details["rows"] == "25" and event.details["table"] == "clients"
    again = run_table(SEAL, db_url, "clients", keyring=kr)
    assert again.skipped and again.rows == 0  # finished: never run twice
    assert _rows(db_url) == rows
    log.close()


def test_a_value_the_action_cannot_take_keeps_what_is_stored(db_url: str) -> None:
    _clients(db_url, rows=8)
    kr = fp.Keyring.generate()
    run_table(ENCRYPT, db_url, "clients", keyring=kr)
    other = fp.Keyring.generate()
    before = _rows(db_url)
    res = run_table(Job("decrypt", (ColumnAction("sfzh", "decrypt", context="clients.sfzh"),)),
                    db_url, "clients", keyring=other)
    assert res.failures == {"sfzh": 6}  # tokens under another keyring; None stays None
    assert _rows(db_url) == before  # nothing already stored is lost


def test_a_killed_run_resumes_and_never_transforms_a_row_twice(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _clients(db_url, rows=30)
    kr = fp.Keyring.generate()
    real = _sql.apply_batch
    calls = {"n": 0}

    def dies_on_the_third_batch(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process is killed mid-batch
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_sql, "apply_batch", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        run_table(ENCRYPT, db_url, "clients", keyring=kr, batch_size=10)
    half = _rows(db_url)
    assert sum(is_token(r["sfzh"]) for r in half[:20]) == 15  # two batches committed
    assert not any(is_token(r["sfzh"]) for r in half[20:])  # the third rolled back
    monkeypatch.setattr(_sql, "apply_batch", real)
    res = run_table(ENCRYPT, db_url, "clients", keyring=kr, batch_size=10)
    assert res.resumed and res.rows == 10
    for i, r in enumerate(_rows(db_url), start=1):
        expected = IDS[i % 4]
        if expected is None:
            assert r["sfzh"] is None
        else:  # exactly one layer of encryption on every row
            assert kr.decrypt(str(r["sfzh"]), context="clients.sfzh") == expected


def test_in_place_refusals_are_clear(db_url: str) -> None:
    _clients(db_url, rows=3, pk=False)
    with pytest.raises(fp.InvalidInputError, match="no primary key"):
        run_table(SEAL, db_url, "clients", keyring=fp.Keyring.generate())
    assert _rows(db_url)[0]["sjhm"] == "13800000001"  # nothing touched
    url2 = db_url
    engine = _engine(url2)
    meta = sa.MetaData()
    sa.Table("ledger", meta, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("amount", sa.Integer), sa.Column("card", sa.String(30)))
    meta.create_all(engine)  # type: ignore[arg-type]
    engine.dispose()  # type: ignore[attr-defined]
    kr = fp.Keyring.generate()
    with pytest.raises(fp.InvalidInputError, match="not text"):
        run_table(Job("a", (ColumnAction("amount", "encrypt", context="x"),)), url2, "ledger",
                  keyring=kr)
    with pytest.raises(fp.InvalidInputError, match="card_bidx"):
        run_table(Job("b", (ColumnAction("card", "blind_index", context="x"),)), url2,
                  "ledger", keyring=kr)
    with pytest.raises(fp.InvalidInputError, match="schema change"):
        run_table(Job("c", (ColumnAction("card", "drop"),)), url2, "ledger")
    with pytest.raises(fp.InvalidInputError, match="missing"):
        run_table(Job("d", (ColumnAction("missing", "redact"),)), url2, "ledger")
    with pytest.raises(fp.NotFoundError):
        run_table(Job("e", (ColumnAction("card", "redact"),)), url2, "nope")
    with pytest.raises(fp.NotFoundError):
        run_table(SEAL, "sqlite:////nonexistent/books.db", "clients")


def test_into_a_new_table_keeps_types_and_drops_columns(db_url: str) -> None:
    _clients(db_url, rows=12, pk=False)  # no key: one transaction, still fine
    kr = fp.Keyring.generate()
    job = Job("export", (ColumnAction("sfzh", "encrypt", context="clients.sfzh"),
                         ColumnAction("sjhm", "drop"), ColumnAction("sfzh_bidx", "drop")))
    res = run_table(job, db_url, "clients", into="clients_sealed", keyring=kr, batch_size=5)
    assert res.rows == 12 and res.target == "clients_sealed"
    rows = _rows(db_url, "clients_sealed")
    assert set(rows[0]) == {"id", "sfzh", "balance", "opened"}
    assert str(rows[0]["balance"]) == "1.50" and str(rows[0]["opened"]) == "2020-01-02"
    assert kr.decrypt(str(rows[0]["sfzh"]), context="clients.sfzh") == IDS[1]
    assert rows[2]["sfzh"] is None or is_token(str(rows[2]["sfzh"]))
    assert run_table(job, db_url, "clients", into="clients_sealed", keyring=kr).skipped
    with pytest.raises(fp.InvalidInputError, match="already exists"):
        run_table(Job("export2", job.actions), db_url, "clients", into="clients_sealed",
                  keyring=kr)


def test_into_a_new_table_killed_leaves_nothing_half_done(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _clients(db_url, rows=12, pk=False)
    real = _sql.apply_batch
    calls = {"n": 0}

    def dies(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_sql, "apply_batch", dies)
    with pytest.raises(KeyboardInterrupt):
        run_table(Job("x", (ColumnAction("sjhm", "redact"),)), db_url, "clients",
                  into="copy", batch_size=5)
    engine = _engine(db_url)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        assert not sa.inspect(conn).has_table("copy")  # the new table rolled back too
    engine.dispose()  # type: ignore[attr-defined]
    monkeypatch.setattr(_sql, "apply_batch", real)
    res = run_table(Job("x", (ColumnAction("sjhm", "redact"),)), db_url, "clients",
                    into="copy", batch_size=5)
    assert res.rows == 12 and not res.resumed


def test_composite_primary_keys_page_in_order(db_url: str) -> None:
    engine = _engine(db_url)
    meta = sa.MetaData()
    tbl = sa.Table("entries", meta, sa.Column("book", sa.String(10), primary_key=True),
                   sa.Column("line", sa.Integer, primary_key=True),
                   sa.Column("phone", sa.String(20)))
    meta.create_all(engine)  # type: ignore[arg-type]
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(tbl.insert(), [{"book": b, "line": n, "phone": f"139{n:08d}"}
                                    for b in ("a", "b", "c") for n in range(1, 6)])
    engine.dispose()  # type: ignore[attr-defined]
    res = run_table(Job("m", (ColumnAction("phone", "mask", kind="cn_phone"),)), db_url,
                    "entries", batch_size=4)
    assert res.rows == 15
    engine = _engine(db_url)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        phones = list(conn.execute(sa.select(tbl.c.phone)).scalars())
        state = conn.execute(sa.text(f"select position, done from {PROGRESS_TABLE}")).one()
    engine.dispose()  # type: ignore[attr-defined]
    assert all(p.startswith("139****") for p in phones) and len(phones) == 15
    assert json.loads(state[0]) == ["c", 5] and state[1]


def test_cli_on_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from finprivacy.cli import main

    path = tmp_path / "books.db"
    path.touch()
    url = f"sqlite:///{path}"
    _clients(url, rows=5)
    job = tmp_path / "job.toml"
    job.write_text('name = "mask"\n[[columns]]\ncolumn = "sjhm"\naction = "mask"\n'
                   'kind = "cn_phone"\n')
    assert main(["bulk", "run", str(job), url, "--table", "clients", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["rows"] == 5 and "rows 5/5" in err
    assert _rows(url)[0]["sjhm"] == "138****0001"
    assert main(["bulk", "run", str(job), url, "--table", "clients", "--into", "copy",
                 "--quiet"]) == 0
    assert "mask: clients -> copy: 5 rows" in capsys.readouterr().out
    # Discovery leaves finprivacy's own checkpoint table out, and a log gets no \r noise.
    assert main(["discover", url, "--format", "json", "--fail-on", "never"]) == 0
    out, err = capsys.readouterr()
    assert {c["table"] for c in json.loads(out)["columns"]} == {"clients", "copy"}
    assert "\r" not in err
    assert main(["bulk", "run", str(job), url]) == 3
    assert "one URL with --table" in capsys.readouterr().err
    assert main(["bulk", "run", str(job), str(path), "--table", "clients"]) == 3
    assert "go with a database URL" in capsys.readouterr().err
    assert main(["bulk", "run", str(job), str(path)]) == 3
    assert "--out" in capsys.readouterr().err


def test_file_jobs_report_progress_per_batch(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    parts = []
    for i in range(3):
        p = folder / f"p{i}.parquet"
        pq.write_table(pa.table({"sjhm": [f"137{n:08d}" for n in range(100)]}), p)
        parts.append(p)
    job = Job("m", (ColumnAction("sjhm", "mask", kind="cn_phone"),))
    seen: list[Progress] = []
    run_job(job, parts, tmp_path / "out", progress=seen.append)
    assert [p.rows for p in seen] == [100, 200, 300] and {p.total for p in seen} == {300}
    assert seen[-1].rate > 0
    seen.clear()
    run_job(job, parts, tmp_path / "out", progress=seen.append)
    assert seen == []  # all done before: nothing to report
    csv = folder / "c.csv"
    csv.write_text("sjhm\n13712345678\n")
    run_job(job, [csv], tmp_path / "out", progress=seen.append)
    assert seen[-1].total is None and seen[-1].eta is None and "ETA" not in seen[-1].line()
    with pytest.raises(fp.InvalidInputError):
        run_job(job, parts, tmp_path / "o2", workers=0)


def test_progress_line_format() -> None:
    p = Progress(rows=120_000, total=1_000_000, seconds=2.0)
    assert p.rate == 60_000
    assert p.line() == "rows 120,000/1,000,000  60,000 rows/s  ETA 0:00:15"
    assert Progress(0, 10, 0.0).eta is None and Progress(0, 10, 0.0).rate == 0.0


def test_mixed_types_in_a_sqlite_text_column(tmp_path: Path) -> None:
    # SQLite stores what it is given: a TEXT column can hold integers and blobs too.
    path = tmp_path / "legacy.db"
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("create table t (id integer primary key, sjhm)")  # no type: any value
    conn.executemany("insert into t values (?, ?)",
                     [(1, "13812345678"), (2, 13912345678), (3, None), (4, "n/a"),
                      (5, 13.5)])
    conn.commit()
    conn.close()
    res = run_table(Job("m", (ColumnAction("sjhm", "mask", kind="cn_phone"),)),
                    f"sqlite:///{path}", "t")
    conn = sqlite3.connect(path)
    values = [r[0] for r in conn.execute("select sjhm from t order by id")]
    conn.close()
    assert values == ["138****5678", "139****5678", None, "*/*", "**.*"]
    assert res.rows == 5 and res.failures == {}
