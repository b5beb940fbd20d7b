"""Discovery (issue 18, first part): a labelled legacy schema with Chinese, English and
pinyin column names and decoys by name and by shape, on SQLite, PostgreSQL, CSV and
JSON Lines; precision and recall on it; tokens recognised; inventory gaps; reports;
the command's exit codes; bad files."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("faker")
pytest.importorskip("sqlalchemy")

from faker import Faker

import finprivacy as fp
from finprivacy.cli import main
from finprivacy.discovery import discover, name_hint
from finprivacy.faker import FinPrivacyProvider
from finprivacy.inventory import DataField, DataInventory

ROWS = 300


Truth = dict[tuple[str, str], str | None]


def _schema(seed: int = 7) -> tuple[dict[str, dict[str, list[object]]], Truth]:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    fake.add_provider(FinPrivacyProvider)
    rng = random.Random(seed)
    kr = fp.Keyring._from_material("d15c0001", bytes(32))
    tables: dict[str, dict[str, list[object]]] = {
        "khxx": {  # 客户信息, pinyin names
            "id": list(range(ROWS)),
            "sfzh": [fake.cn_resident_id() for _ in range(ROWS)],
            "sjhm": [fake.cn_mobile() for _ in range(ROWS)],
            "yhkh": [fake.unionpay_card() for _ in range(ROWS)],
            "xm": [fake.name() for _ in range(ROWS)],
            "ye": [f"{rng.randint(0, 10**6)}.{rng.randint(0, 99):02d}" for _ in range(ROWS)],
        },
        "customers": {  # English names, with decoys by name
            "id_no": list(range(1000, 1000 + ROWS)),               # a sequence, not IDs
            "card_no": [f"VIP{n:06d}" for n in range(ROWS)],        # a loyalty card
            "mobile": [fake.cn_mobile() for _ in range(ROWS)],
            "email": [fake.email() for _ in range(ROWS)],
            "credit_code": [fake.cn_uscc() for _ in range(ROWS)],
        },
        "订单": {  # Chinese names, decoys by shape
            "订单号": [f"{rng.randint(10**17, 10**18 - 1)}" for _ in range(ROWS)],
            "金额": [f"{rng.randint(1, 99999)}.00" for _ in range(ROWS)],
            "客服电话": ["400-820-8820"] * ROWS,
            "身份证号": [kr.encrypt(fake.cn_resident_id(), context="orders.id_no")
                      for _ in range(ROWS)],                       # already encrypted
            "账户": [fake.iban() for _ in range(ROWS)],
        },
    }
    truth: dict[tuple[str, str], str | None] = {
        ("khxx", "id"): None, ("khxx", "sfzh"): "cn_id", ("khxx", "sjhm"): "cn_phone",
        ("khxx", "yhkh"): "bank_card", ("khxx", "xm"): None, ("khxx", "ye"): None,
        ("customers", "id_no"): None, ("customers", "card_no"): None,
        ("customers", "mobile"): "cn_phone", ("customers", "email"): "email",
        ("customers", "credit_code"): "cn_uscc",
        ("订单", "订单号"): None, ("订单", "金额"): None, ("订单", "客服电话"): None,
        ("订单", "身份证号"): "encrypted", ("订单", "账户"): "iban",
    }
    return tables, truth


def _sqlite(path: Path) -> str:
    tables, _ = _schema()
    conn = sqlite3.connect(path)
    for name, cols in tables.items():
        names = list(cols)
        conn.execute(f'create table "{name}" ({", ".join(chr(34) + c + chr(34) for c in names)})')
        conn.executemany(f'insert into "{name}" values ({", ".join("?" * len(names))})',
                         list(zip(*cols.values(), strict=True)))
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def _score(report: fp.discovery.DiscoveryReport,  # type: ignore[name-defined]
           truth: dict[tuple[str, str], str | None], table_of: dict[str, str] | None = None
           ) -> tuple[float, float]:
    tp = fp_ = fn = 0
    for c in report.columns:
        key = ((table_of or {}).get(c.table, c.table), c.column)
        want = truth[key]
        got = c.kind or ("encrypted" if c.tokens else None)
        if got is not None and got == want:
            tp += 1
        elif got is not None:
            fp_ += 1
        if want is not None and got != want:
            fn += 1
    return tp / max(1, tp + fp_), tp / max(1, tp + fn)


def test_labelled_schema_on_sqlite(tmp_path: Path) -> None:
    url = _sqlite(tmp_path / "legacy.db")
    _, truth = _schema()
    report = discover(url, sample=200)
    precision, recall = _score(report, truth)
    assert precision >= 0.95 and recall >= 0.95, report.to_text()
    enc = next(c for c in report.columns if c.column == "身份证号")
    assert enc.kind is None and enc.tokens == {"d15c0001": 200}
    decoy = next(c for c in report.columns if c.table == "customers" and c.column == "id_no")
    assert decoy.name_hint == "cn_id" and decoy.kind is None  # named like IDs, is not
    text = report.to_text() + report.to_json() + report.to_html()
    tables, _ = _schema()
    for value in tables["khxx"]["sfzh"][:50] + tables["customers"]["mobile"][:50]:
        assert str(value) not in text  # only masked examples


@pytest.mark.postgres
def test_labelled_schema_on_postgresql(pg_url: str) -> None:
    import psycopg

    tables, truth = _schema()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for name, cols in tables.items():
            names = list(cols)
            quoted = ", ".join(f'"{c}" text' for c in names)
            conn.execute(f'create table "{name}" ({quoted})')
            with conn.cursor() as cur:
                marks = ", ".join(["%s"] * len(names))
                cur.executemany(f'insert into "{name}" values ({marks})',
                                [tuple(str(v) for v in row)
                                 for row in zip(*cols.values(), strict=True)])
    report = discover(pg_url, sample=150)
    precision, recall = _score(report, truth)
    assert precision >= 0.95 and recall >= 0.95, report.to_text()


def test_csv_and_jsonl_exports_and_bad_bytes(tmp_path: Path) -> None:
    tables, truth = _schema()
    folder = tmp_path / "exports"
    folder.mkdir()
    cols = tables["khxx"]
    with open(folder / "khxx.csv", "w", encoding="utf-8", newline="") as f:
        import csv

        w = csv.writer(f)
        w.writerow(cols)
        w.writerows(zip(*cols.values(), strict=True))
    with open(folder / "khxx.csv", "ab") as f:
        f.write(b"1,\xff\xfe broken,x,y,z,w\n")  # invalid UTF-8 in a CSV
    with open(folder / "customers.jsonl", "w", encoding="utf-8") as f:
        for row in zip(*tables["customers"].values(), strict=True):
            f.write(json.dumps(dict(zip(tables["customers"], row, strict=True)),
                               ensure_ascii=False) + "\n")
        f.write("not json\n")
    report = discover(folder, full=True)
    names = {"khxx.csv": "khxx", "customers.jsonl": "customers"}
    precision, recall = _score(report, truth, names)
    assert precision >= 0.95 and recall >= 0.95, report.to_text()
    assert any("not valid UTF-8" in p for p in report.problems)
    assert any("not JSON objects" in p for p in report.problems)


def test_inventory_gaps_and_the_command(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    url = _sqlite(tmp_path / "legacy.db")
    inventory = DataInventory([
        DataField("sfzh", category="identity", sensitivity="C2", purposes={"kyc"}),
        DataField("khxx.ye", category="financial", sensitivity="C2"),
    ])
    report = discover(url, inventory=inventory, sample=100)
    problems = {(g.table, g.column, g.problem) for g in report.gaps}
    assert ("khxx", "sfzh", "plaintext_sensitive") in problems
    assert ("khxx", "sjhm", "undeclared") in problems
    assert ("订单", "身份证号", "undeclared") in problems
    assert ("khxx", "ye", "no_purpose") in problems
    assert main(["discover", url, "--quiet", "--format", "json"]) == 1  # plaintext found
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == 1 and data["personal"] >= 8
    assert main(["discover", url, "--quiet", "--fail-on", "never", "--format", "html",
                 "-o", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")
    assert main(["discover", str(tmp_path / "missing.csv"), "--quiet"]) == 3
    assert main(["discover", url, "--quiet", "--fail-on", "never", "--state",
                 str(tmp_path / "st.json")]) == 0
    assert (tmp_path / "st.json").exists()


def test_name_hints() -> None:
    assert name_hint("cust_sfzh") == "cn_id" and name_hint("MobilePhone") == "cn_phone"
    assert name_hint("客户身份证号码") == "cn_id" and name_hint("yhkh") == "bank_card"
    assert name_hint("idx") is None and name_hint("phonetic") is None
    assert name_hint("order_no") is None


def test_parquet_with_a_nested_struct(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    tables, _ = _schema()
    k = tables["khxx"]
    table = pa.table({
        "id": k["id"],
        "holder": pa.array([{"sfzh": a, "sjhm": b} for a, b in zip(k["sfzh"], k["sjhm"],
                                                                       strict=True)]),
        "tags": pa.array([["vip"]] * ROWS),
        "yhkh": k["yhkh"],
    })
    pq.write_table(table, tmp_path / "clients.parquet")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    report = discover(tmp_path, sample=100)
    kinds = {c.column: c.kind for c in report.columns}
    assert kinds["holder.sfzh"] == "cn_id" and kinds["holder.sjhm"] == "cn_phone"
    assert kinds["yhkh"] == "bank_card" and kinds["id"] is None
    assert any("tags is a list" in p for p in report.problems)
    assert any("broken.parquet: not a readable Parquet file" in p for p in report.problems)


def test_incremental_runs_rescan_only_what_changed(tmp_path: Path) -> None:
    url = _sqlite(tmp_path / "legacy.db")
    state = tmp_path / "state.json"
    first = discover(url, sample=50, state=state)
    assert first.reused == 0 and state.exists()
    again = discover(url, sample=50, state=state)
    assert again.reused == 3
    assert [c.as_dict() for c in again.columns] == [c.as_dict() for c in first.columns]
    conn = sqlite3.connect(tmp_path / "legacy.db")
    conn.execute("insert into customers values (9999, 'x', '13812345678', 'a@b.cn', 'z')")
    conn.commit()
    conn.close()
    third = discover(url, sample=50, state=state)
    assert third.reused == 2  # only customers was read again
    assert discover(url, sample=60, state=state).reused == 0  # another sample size
    state.write_text("{broken")
    with pytest.raises(fp.InvalidInputError, match="state"):
        discover(url, state=state)
    export = tmp_path / "x.csv"
    export.write_text("phone\n13812345678\n")
    s2 = tmp_path / "s2.json"
    assert discover(export, state=s2).reused == 0 and discover(export, state=s2).reused == 1
