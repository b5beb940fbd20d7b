"""Discovery counts records past retention (issue 18): per table, the rows whose period
under the firm's schedule has run, from a named date column, on SQLite, PostgreSQL and
export files; the exact boundary of a 10-year rule counted from the fiscal year end."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

sa = pytest.importorskip("sqlalchemy")

import finprivacy as fp  # noqa: E402
from finprivacy.discovery import PastRetention, RecordDates  # noqa: E402
from finprivacy.inventory import DataField, DataInventory  # noqa: E402
from finprivacy.retention.presets import china_enterprise  # noqa: E402

NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
# Bank statements: 10 years from the end of the fiscal year (会计档案管理办法 Annex 1).
# At NOW, fiscal 2015 (kept through 2025-12-31) is past; fiscal 2016 (through
# 2026-12-31) is not.
DATES = ([dt.date(2012, 3, 1)] * 3 + [dt.date(2015, 12, 31)] * 2 + [dt.date(2016, 1, 1)] * 4
         + [dt.date(2024, 6, 30)] * 5)
INVENTORY = DataInventory([DataField("statements.account_no", category="account",
                                     sensitivity="C2", retention="bank_statement",
                                     purposes=frozenset({"bookkeeping"}))])


def _statements(url: str, *, as_text: bool = False) -> None:
    from finprivacy._stores import sql_engine

    engine = sql_engine(url, what="test")
    meta = sa.MetaData()
    tbl = sa.Table("statements", meta, sa.Column("id", sa.Integer, primary_key=True),
                   sa.Column("account_no", sa.String(40)),
                   sa.Column("booked_on", sa.String(30) if as_text else sa.Date))
    meta.create_all(engine)
    rows = [{"id": i, "account_no": "6222020200112233446",
             "booked_on": d.isoformat() if as_text else d} for i, d in enumerate(DATES)]
    rows.append({"id": 100, "account_no": None, "booked_on": None})
    if as_text:
        rows.append({"id": 101, "account_no": None, "booked_on": "not a date"})
        rows.append({"id": 102, "account_no": None, "booked_on": "2013-05-05 10:00:00"})
    with engine.begin() as conn:
        conn.execute(tbl.insert(), rows)
    engine.dispose()


@pytest.mark.parametrize("as_text", [False, True])
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql",
                                                            marks=pytest.mark.postgres)])
def test_rows_past_retention_in_a_database(backend: str, as_text: bool, tmp_path: Path,
                                           request: pytest.FixtureRequest) -> None:
    if backend == "sqlite":
        path = tmp_path / "books.db"
        path.touch()
        url = f"sqlite:///{path}"
    else:
        url = str(request.getfixturevalue("pg_url"))
    _statements(url, as_text=as_text)
    report = fp.discover(url, inventory=INVENTORY, retention=china_enterprise(),
                         records=[RecordDates("statements", "booked_on")], now=NOW)
    [past] = report.past_retention
    extra_text = 1 if as_text else 0  # "2013-05-05 10:00:00" is a 2013 record
    assert past == PastRetention(table="statements", record_class="bank_statement",
                                 rows=5 + extra_text, checked=14 + extra_text,
                                 undated=1 + extra_text, oldest="2012-03-01",
                                 rule="cn.kjda2015.bank_statement")
    [gap] = [g for g in report.gaps if g.problem == "past_retention"]
    assert (gap.table, gap.column) == ("statements", "booked_on")
    assert f"{5 + extra_text} rows past retention" in gap.detail
    assert report.as_dict()["past_retention"][0]["rows"] == 5 + extra_text
    assert "RETENTION statements" in report.to_text()
    assert "Records past retention" in report.to_html()
    # A day later in the calendar nothing changes; a year later fiscal 2016 is past too.
    later = fp.discover(url, inventory=INVENTORY, retention=china_enterprise(),
                        records=[RecordDates("statements", "booked_on")],
                        now=dt.datetime(2027, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    assert later.past_retention[0].rows == 9 + extra_text


def test_the_exact_boundary_in_the_firms_zone(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    path.touch()
    url = f"sqlite:///{path}"
    _statements(url)
    spec = [RecordDates("statements", "booked_on", "bank_statement")]
    shanghai = dt.timezone(dt.timedelta(hours=8))
    # Fiscal 2016 is kept through 2026-12-31 (Asia/Shanghai): due at 2027-01-01 00:00 +08.
    before = dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=shanghai)
    at = dt.datetime(2027, 1, 1, 0, 0, tzinfo=shanghai)
    rows = [fp.discover(url, retention=china_enterprise(), records=spec, now=n)
            .past_retention[0].rows for n in (before, at)]
    assert rows == [5, 9]


def test_files_and_bad_requests(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    lines = ["id,booked_on"] + [f"{i},{d.isoformat()}" for i, d in enumerate(DATES)] + ["99,"]
    (folder / "statements.csv").write_text("\n".join(lines) + "\n")
    (folder / "statements.jsonl").write_text("\n".join(
        json.dumps({"booked_on": d.isoformat()}) for d in DATES) + "\nnot json\n")
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"booked_on": DATES}), folder / "statements.parquet")
    schedule = china_enterprise()
    for name, undated in (("statements.csv", 1), ("statements.jsonl", 1),
                          ("statements.parquet", 0)):
        report = fp.discover(folder, retention=schedule, now=NOW,
                             records=[RecordDates(name, "booked_on", "bank_statement")])
        assert (report.past_retention[0].rows, report.past_retention[0].undated) == (
            5, undated), name
    with pytest.raises(fp.InvalidInputError, match="both"):
        fp.discover(folder, records=[RecordDates("statements.csv", "booked_on")])
    with pytest.raises(fp.InvalidInputError, match="record_class"):
        fp.discover(folder, retention=schedule, records=[
            RecordDates("statements.csv", "booked_on")], now=NOW)
    with pytest.raises(fp.InvalidInputError, match="no column"):
        fp.discover(folder, retention=schedule, records=[
            RecordDates("statements.csv", "nope", "bank_statement")], now=NOW)
    with pytest.raises(fp.NotFoundError):
        fp.discover(folder, retention=schedule, records=[
            RecordDates("missing.csv", "booked_on", "bank_statement")], now=NOW)
    with pytest.raises(fp.RetentionError, match="no retention rule"):
        fp.discover(folder, retention=schedule, records=[
            RecordDates("statements.csv", "booked_on", "no_such_class")], now=NOW)


def test_cli_records_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from finprivacy.cli import main

    path = tmp_path / "books.db"
    path.touch()
    url = f"sqlite:///{path}"
    _statements(url)
    args = ["discover", url, "--quiet", "--now", "2026-12-07T12:00:00+00:00", "--format",
            "json"]
    assert main([*args, "--records", "statements:booked_on:bank_statement"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["past_retention"][0]["rows"] == 5
    assert main([*args, "--records", "statements:booked_on:bank_statement",
                 "--now", "2015-01-01T00:00:00+08:00"]) == 0  # nothing past
    out = json.loads(capsys.readouterr().out)
    assert out["past_retention"][0]["rows"] == 0
    assert not [g for g in out["gaps"] if g["problem"] == "past_retention"]
    assert main([*args, "--records", "statements"]) == 3
    assert "TABLE:COLUMN" in capsys.readouterr().err
