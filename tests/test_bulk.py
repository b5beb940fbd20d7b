"""Bulk jobs (issue 18, first part): per-batch actions on Arrow, the job file, and the
local runner over Parquet and CSV partitions — manifests, resume after a kill, a
process pool whose workers load the keyring through a provider, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

import finprivacy as fp  # noqa: E402
from finprivacy.bulk import ColumnAction, Progress, apply_batch, load_job, run_job  # noqa: E402
from finprivacy.crypto import EnvironmentProvider, is_token  # noqa: E402

IDS = ["11010519491231002X", "440306199001011236", None, "not an id"]
PHONES = ["13812345678", None, "13912345678", "13700000000"]


def _batch() -> object:
    return pa.RecordBatch.from_pydict({"id": [1, 2, 3, 4], "sfzh": IDS, "sjhm": PHONES,
                                       "memo": ["卡号6222020200112233446", "ok", None, "x"]})


def test_actions_on_a_batch() -> None:
    kr = fp.Keyring.generate()
    out = apply_batch(_batch(), [
        ColumnAction("sfzh", "encrypt", context="clients.sfzh"),
        ColumnAction("sjhm", "mask", kind="cn_phone"),
        ColumnAction("memo", "redact"),
    ], keyring=kr)
    cols = out.batch.to_pydict()
    assert cols["id"] == [1, 2, 3, 4]
    assert all(is_token(v) for v in cols["sfzh"] if v is not None) and cols["sfzh"][2] is None
    assert kr.decrypt(cols["sfzh"][0], context="clients.sfzh") == IDS[0]
    assert cols["sjhm"][0] == "138****5678"
    assert "6222020200112233446" not in (cols["memo"][0] or "")
    back = apply_batch(out.batch, [ColumnAction("sfzh", "decrypt", context="clients.sfzh"),
                                   ColumnAction("id", "keep")], keyring=kr)
    assert back.batch.to_pydict()["sfzh"] == IDS
    indexed = apply_batch(_batch(), [ColumnAction("sfzh", "blind_index",
                                                  context="clients.sfzh")], keyring=kr)
    assert indexed.batch.schema.names[-1] == "sfzh_bidx"
    assert indexed.batch.to_pydict()["sfzh"] == IDS  # the value column is kept


def test_row_failures_are_counted_not_fatal() -> None:
    kr = fp.Keyring.generate()
    other = fp.Keyring.generate()
    sealed = apply_batch(_batch(), [ColumnAction("sfzh", "encrypt", context="c")],
                         keyring=other).batch
    out = apply_batch(sealed, [ColumnAction("sfzh", "decrypt", context="c")], keyring=kr)
    assert out.failures == {"sfzh": 3} and out.batch.to_pydict()["sfzh"] == [None] * 4
    masked = apply_batch(_batch(), [ColumnAction("sfzh", "mask", kind="cn_id")])
    assert masked.failures.get("sfzh", 0) <= 1  # "not an id" cannot be masked as one
    with pytest.raises(fp.InvalidInputError, match="nope"):
        apply_batch(_batch(), [ColumnAction("nope", "mask", kind="cn_id")])
    with pytest.raises(fp.ConfigurationError):
        ColumnAction("x", "shred")
    with pytest.raises(fp.ConfigurationError):
        apply_batch(_batch(), [ColumnAction("sfzh", "encrypt", context="c")])  # no keyring


def _partitions(folder: Path, n: int) -> list[Path]:
    folder.mkdir()
    paths = []
    for i in range(n):
        table = pa.table({"id": list(range(i * 100, i * 100 + 100)),
                          "sfzh": [IDS[j % 2] for j in range(100)],
                          "sjhm": [PHONES[0]] * 100})
        path = folder / f"part-{i}.parquet"
        pq.write_table(table, path)
        paths.append(path)
    csv = folder / "part-csv.csv"
    csv.write_text("id,sfzh,sjhm\n1,11010519491231002X,13812345678\n2,,13912345678\n")
    return [*paths, csv]


def test_runner_manifests_resume_and_audit(tmp_path: Path) -> None:
    job_file = tmp_path / "job.toml"
    job_file.write_text('name = "seal"\n[[columns]]\ncolumn = "sfzh"\naction = "encrypt"\n'
                        'context = "clients.sfzh"\n[[columns]]\ncolumn = "sjhm"\n'
                        'action = "mask"\nkind = "cn_phone"\n')
    job = load_job(job_file)
    kr = fp.Keyring.generate()
    parts = _partitions(tmp_path / "in", 3)
    log = fp.AuditLog("memory:")
    first = run_job(job, parts, tmp_path / "out", keyring=kr, audit=log)
    assert [r.rows for r in first] == [100, 100, 100, 2] and not any(r.skipped for r in first)
    table = pq.read_table(tmp_path / "out" / "part-0.parquet").to_pydict()
    assert kr.decrypt(table["sfzh"][0], context="clients.sfzh") == IDS[0]
    assert set(table["sjhm"]) == {"138****5678"}
    again = run_job(job, parts, tmp_path / "out", keyring=kr, audit=log)
    assert all(r.skipped for r in again)  # resumed: nothing processed twice
    (tmp_path / "out" / "_manifests" / "part-1.parquet.json").unlink()  # killed mid-way
    third = run_job(job, parts, tmp_path / "out", keyring=kr)
    assert [r.skipped for r in third] == [True, False, True, True]
    events = [e for e in log.query() if e.action == "bulk.job"]
    assert [e.details["rows"] for e in events] == ["302", "302"]
    log.close()


def test_a_process_pool_loads_the_keyring_through_a_provider(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kek = EnvironmentProvider.generate_kek()
    monkeypatch.setenv("BULK_KEK", kek.reveal() if isinstance(kek, fp.Secret) else kek)
    kr = fp.Keyring.generate()
    kr.save(tmp_path / "kr.json", provider=EnvironmentProvider("BULK_KEK"))
    job = load_job_from_text(tmp_path, 'name = "seal"\n[[columns]]\ncolumn = "sfzh"\n'
                                       'action = "encrypt"\ncontext = "c"\n')
    parts = _partitions(tmp_path / "in", 2)
    seen: list[Progress] = []
    results = run_job(job, parts, tmp_path / "out", keyring_file=tmp_path / "kr.json",
                      provider=EnvironmentProvider("BULK_KEK"), workers=2,
                      progress=seen.append)
    assert sum(r.rows for r in results) == 202
    # Batch sizes come back from the workers; a CSV partition leaves the total open.
    assert seen[-1].rows == 202 and seen[-1].total is None
    token = pq.read_table(tmp_path / "out" / "part-1.parquet").to_pydict()["sfzh"][0]
    assert kr.decrypt(token, context="c") == IDS[0]
    with pytest.raises(fp.ConfigurationError):
        run_job(job, parts, tmp_path / "o2", keyring=kr, workers=2)
    # A partition that fails (here: it lacks the column) raises once the others are
    # done; theirs are written with manifests, so a rerun after the fix resumes.
    bad = tmp_path / "in" / "part-bad.parquet"
    pq.write_table(pa.table({"other": ["x"]}), bad)
    mixed = [parts[0], bad, parts[1], parts[2]]
    with pytest.raises(fp.InvalidInputError, match="sfzh"):
        run_job(job, mixed, tmp_path / "o3", keyring_file=tmp_path / "kr.json",
                provider=EnvironmentProvider("BULK_KEK"), workers=2)
    assert not (tmp_path / "o3" / "part-bad.parquet").exists()
    again = run_job(job, [p for p in mixed if p != bad], tmp_path / "o3",
                    keyring_file=tmp_path / "kr.json", provider=EnvironmentProvider("BULK_KEK"),
                    workers=2)
    assert sum(not r.skipped for r in again) <= 1  # at most one was cut off by the error


def load_job_from_text(tmp: Path, text: str) -> object:
    path = tmp / "j.toml"
    path.write_text(text)
    return load_job(path)


def test_bad_jobs_and_inputs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[columns]]\ncolumn = "a"\naction = "mask"\nkind = "cn_id"\n'
                   'colour = "red"\n')
    with pytest.raises(fp.ConfigurationError, match="takes only"):
        load_job(bad)
    bad.write_text("name = \n")
    with pytest.raises(fp.ConfigurationError):
        load_job(bad)
    with pytest.raises(fp.NotFoundError):
        load_job(tmp_path / "none.toml")
    job = load_job_from_text(tmp_path, 'name = "m"\n[[columns]]\ncolumn = "missing"\n'
                                       'action = "mask"\nkind = "cn_id"\n')
    parts = _partitions(tmp_path / "in", 1)
    with pytest.raises(fp.InvalidInputError, match="missing"):
        run_job(job, parts[:1], tmp_path / "out")  # type: ignore[arg-type]
    assert not (tmp_path / "out" / "part-0.parquet").exists()  # nothing half-written


def test_cli_bulk_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                      capsys: pytest.CaptureFixture[str]) -> None:
    from finprivacy.cli import main

    monkeypatch.setenv("KR_PASS", "correct horse battery staple 2026")
    keyfile = tmp_path / "kr.json"
    assert main(["keys", "generate", str(keyfile), "--passphrase-env", "KR_PASS"]) == 0
    job = tmp_path / "job.toml"
    job.write_text('name = "seal"\n[[columns]]\ncolumn = "sfzh"\naction = "encrypt"\n'
                   'context = "c"\n')
    parts = _partitions(tmp_path / "in", 2)
    capsys.readouterr()
    assert main(["bulk", "run", str(job), *map(str, parts), "--out", str(tmp_path / "out"),
                 "--keyring", str(keyfile), "--passphrase-env", "KR_PASS",
                 "--format", "json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["rows"] == 202
    assert main(["bulk", "run", str(tmp_path / "none.toml"), str(parts[0]), "--out",
                 str(tmp_path / "o")]) == 3


def test_tokenize_is_deterministic_per_context_and_keeps_the_format() -> None:
    kr = fp.Keyring.generate()
    batch = pa.RecordBatch.from_pydict({"card": ["6222020200112233446", None, "12"]})
    one = apply_batch(batch, [ColumnAction("card", "tokenize", context="cards")], keyring=kr)
    two = apply_batch(batch, [ColumnAction("card", "tokenize", context="cards")], keyring=kr)
    other = apply_batch(batch, [ColumnAction("card", "tokenize", context="cards2")],
                        keyring=kr)
    token = one.batch.to_pydict()["card"][0]
    assert token == two.batch.to_pydict()["card"][0] != "6222020200112233446"
    assert token != other.batch.to_pydict()["card"][0]
    assert token[:6] == "622202" and token[-4:] == "3446" and len(token) == 19
    assert one.failures == {"card": 1}  # "12" is no card number
    with pytest.raises(fp.ConfigurationError):
        ColumnAction("card", "tokenize")


def test_suggest_job_from_discovery_round_trips_through_toml(tmp_path: Path) -> None:
    from finprivacy.bulk import Job, suggest_job
    from finprivacy.discovery import ColumnFinding

    def finding(column: str, kind: str | None, tokens: dict[str, int] | None = None,
                table: str = "khxx") -> ColumnFinding:
        return ColumnFinding(table, column, kind, 1.0, 10, 10, None, tokens or {})

    findings = [finding("sfzh", "cn_id"), finding("yhkh", "bank_card"),
                finding("备注", "cn_passport"), finding("ye", None),
                finding("enc", None, {"k1": 10}), finding("sfzh", "cn_id", table="other")]
    masked = suggest_job(findings, table="khxx", name="mask-khxx")
    assert [(a.column, a.action, a.kind) for a in masked.actions] == [
        ("sfzh", "mask", "cn_id"), ("yhkh", "mask", "bank_card"),
        ("备注", "mask", "cn_passport")]
    tokenized = suggest_job(findings, table="khxx", name="t", action="tokenize")
    assert [(a.column, a.action, a.context) for a in tokenized.actions] == [
        ("sfzh", "encrypt", "khxx.sfzh"), ("yhkh", "tokenize", "khxx.yhkh"),
        ("备注", "encrypt", "khxx.备注")]
    for job in (masked, tokenized, Job('quote "me"', tokenized.actions)):
        path = tmp_path / "job.toml"
        path.write_text(job.to_toml(), encoding="utf-8")
        assert load_job(path) == job
    from finprivacy.inventory import DataField, DataInventory

    inventory = DataInventory([
        DataField("khxx.ye", category="financial", sensitivity="C2"),  # values said nothing
        DataField("sfzh", category="identity", sensitivity="C2", mask="name"),
        DataField("khxx.enc", category="identity", sensitivity="C2")])  # already encrypted
    by_inventory = suggest_job(findings, table="khxx", name="i", inventory=inventory)
    assert [(a.column, a.action, a.kind) for a in by_inventory.actions] == [
        ("sfzh", "mask", "name"), ("yhkh", "mask", "bank_card"),
        ("备注", "mask", "cn_passport"), ("ye", "redact", "")]
    with pytest.raises(fp.InvalidInputError, match="no plaintext"):
        suggest_job(findings, table="nothing", name="x")
    with pytest.raises(fp.ConfigurationError):
        suggest_job(findings, table="khxx", name="x", action="drop")


def test_cli_discover_suggests_jobs_that_bulk_runs(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from finprivacy.cli import main

    data = tmp_path / "exports"
    data.mkdir()
    pq.write_table(pa.table({"sfzh": [IDS[0], IDS[1]] * 5, "n": list(range(10))}),
                   data / "clients.parquet")
    assert main(["discover", str(data), "--quiet", "--suggest-jobs", str(tmp_path / "jobs"),
                 "--suggest-action", "mask", "--fail-on", "never"]) == 0
    job = load_job(tmp_path / "jobs" / "clients.parquet.toml")
    assert [(a.column, a.action, a.kind) for a in job.actions] == [("sfzh", "mask", "cn_id")]
    capsys.readouterr()
    audit_url = f"sqlite:///{tmp_path / 'audit.db'}"
    assert main(["bulk", "run", str(tmp_path / "jobs" / "clients.parquet.toml"),
                 str(data / "clients.parquet"), "--out", str(tmp_path / "out"),
                 "--quiet", "--audit", audit_url]) == 0
    out = pq.read_table(tmp_path / "out" / "clients.parquet").to_pydict()
    assert IDS[0] not in out["sfzh"] and out["n"] == list(range(10))
    log = fp.AuditLog(audit_url)
    [event] = [e for e in log.query() if e.action == "bulk.job"]
    assert event.actor == "finprivacy bulk run" and event.details["rows"] == "10"
    log.close()


def test_invalid_utf8_in_csv_is_counted_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"sjhm,memo\n13812345678,ok\n13912345678,\xff\xfe bad\n,fine\n")
    job = load_job_from_text(tmp_path, 'name = "m"\n[[columns]]\ncolumn = "sjhm"\n'
                                       'action = "mask"\nkind = "cn_phone"\n')
    [result] = run_job(job, [path], tmp_path / "out")  # type: ignore[arg-type]
    assert result.rows == 3 and result.failures == {"memo": 1}
    assert (tmp_path / "out" / "bad.csv").read_text() == (
        '"sjhm","memo"\n"138****5678","ok"\n"139****5678",\n,"fine"\n')  # CSV in, CSV out
    run_job(job, [path], tmp_path / "pq", output_format="parquet")  # type: ignore[arg-type]
    out = pq.read_table(tmp_path / "pq" / "bad.parquet").to_pydict()
    assert out == {"sjhm": ["138****5678", "139****5678", None], "memo": ["ok", None, "fine"]}


def test_empty_partitions_give_valid_empty_outputs(tmp_path: Path) -> None:
    header_only = tmp_path / "h.csv"
    header_only.write_text("sjhm,memo\n")
    empty = tmp_path / "e.parquet"
    pq.write_table(pa.table({"sjhm": pa.array([], type=pa.string()), "n": pa.array(
        [], type=pa.int64())}), empty)
    job = load_job_from_text(tmp_path, 'name = "m"\n[[columns]]\ncolumn = "sjhm"\n'
                                       'action = "mask"\nkind = "cn_phone"\n')
    results = run_job(job, [header_only, empty], tmp_path / "out")  # type: ignore[arg-type]
    assert [r.rows for r in results] == [0, 0]
    assert (tmp_path / "out" / "h.csv").read_text() == '"sjhm","memo"\n'
    assert pq.read_table(tmp_path / "out" / "e.parquet").schema.names == ["sjhm", "n"]
    nested = tmp_path / "s.parquet"
    pq.write_table(pa.table({"client": [{"sfzh": IDS[0]}]}), nested)
    with pytest.raises(fp.InvalidInputError, match="nested"):
        run_job(load_job_from_text(tmp_path, 'name = "k"\n[[columns]]\ncolumn = "client"\n'
                                             'action = "keep"\n'),  # type: ignore[arg-type]
                [nested], tmp_path / "csv", output_format="csv")
    assert not (tmp_path / "csv" / "s.csv").exists()
    with pytest.raises(fp.InvalidInputError, match="output_format"):
        run_job(job, [empty], tmp_path / "x", output_format="xlsx")  # type: ignore[arg-type]


def test_struct_fields_by_path_and_nested_columns_refused() -> None:
    batch = pa.RecordBatch.from_pydict({
        "client": [{"sfzh": IDS[0], "contact": {"sjhm": PHONES[0]}}, None],
        "tags": [["a"], []], "n": [1, 2]})
    out = apply_batch(batch, [ColumnAction("client.sfzh", "mask", kind="cn_id"),
                              ColumnAction("client.contact.sjhm", "mask", kind="cn_phone")])
    cols = out.batch.to_pydict()
    assert cols["client.sfzh"] == [fp.mask(IDS[0], kind="cn_id"), None]
    assert cols["client.contact.sjhm"] == ["138****5678", None]
    assert cols["n"] == [1, 2] and cols["tags"] == [["a"], []]
    for column in ("client", "tags"):
        with pytest.raises(fp.InvalidInputError, match="not a scalar"):
            apply_batch(batch, [ColumnAction(column, "mask", kind="cn_id")])
    kept = apply_batch(batch, [ColumnAction("tags", "drop"), ColumnAction("client", "keep")])
    assert kept.batch.schema.names == ["client", "n"]


def test_json_lines_in_json_lines_out(tmp_path: Path) -> None:
    import json

    path = tmp_path / "clients.jsonl"
    lines = [{"id": 1, "sfzh": IDS[0], "sjhm": PHONES[0], "meta": {"tier": 2}, "memo": "x"},
             {"id": 2, "sjhm": 13912345678, "memo": None},        # no sfzh; a number
             {"id": 3, "sfzh": IDS[1], "sjhm": {"home": "x"}}]     # a nested value
    path.write_bytes(b"\n".join(json.dumps(x, ensure_ascii=False).encode() for x in lines)
                     + b"\n[1, 2]\n\xff\xfe not utf-8\n\n")
    kr = fp.Keyring.generate()
    job = load_job_from_text(tmp_path, 'name = "seal"\n'
                             '[[columns]]\ncolumn = "sfzh"\naction = "encrypt"\ncontext = "c"\n'
                             '[[columns]]\ncolumn = "sjhm"\naction = "mask"\nkind = "cn_phone"\n'
                             '[[columns]]\ncolumn = "memo"\naction = "drop"\n')
    [result] = run_job(job, [path], tmp_path / "out", keyring=kr)  # type: ignore[arg-type]
    assert result.rows == 3 and result.output.endswith("clients.jsonl")
    assert result.failures == {"(unreadable lines)": 2, "sjhm": 1}
    out = [json.loads(x) for x in (tmp_path / "out" / "clients.jsonl").read_text().splitlines()]
    assert kr.decrypt(out[0]["sfzh"], context="c") == IDS[0]
    assert out[0]["sjhm"] == "138****5678" and out[0]["meta"] == {"tier": 2}
    assert "memo" not in out[0] and "sfzh" not in out[1]  # absent keys stay absent
    assert out[1] == {"id": 2, "sjhm": "139****5678"}
    assert out[2]["sjhm"] is None  # a nested value is not treated as text: null, counted
    again = run_job(job, [path], tmp_path / "out", keyring=kr)  # type: ignore[arg-type]
    assert again[0].skipped
    with pytest.raises(fp.InvalidInputError, match="JSON Lines"):
        run_job(job, [path], tmp_path / "pq", keyring=kr,  # type: ignore[arg-type]
                output_format="parquet")
    typo = load_job_from_text(tmp_path, 'name = "t"\n[[columns]]\ncolumn = "sfz"\n'
                                        'action = "redact"\n')
    with pytest.raises(fp.InvalidInputError, match="sfz"):
        run_job(typo, [path], tmp_path / "typo")  # type: ignore[arg-type]
    assert not (tmp_path / "typo" / "clients.jsonl").exists()  # nothing half-written
