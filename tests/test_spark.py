"""finprivacy.spark (issue 18): the bulk job's per-batch function on real PySpark in
local mode gives the same output as the local runner; keys reach the executors by
provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pa = pytest.importorskip("pyarrow")
pytest.importorskip("pyspark")

import finprivacy as fp  # noqa: E402
from finprivacy.bulk import ColumnAction, Job, apply_batch  # noqa: E402
from finprivacy.crypto import EnvironmentProvider  # noqa: E402

from .conftest import SPARK_KEK_VAR  # noqa: E402

ROWS = [(i, ["11010519491231002X", "440306199001011236", None][i % 3],
         "13812345678" if i % 2 else "13912345678", f"卡号6222020200112233446 #{i}")
        for i in range(60)]


def _keyfile(tmp_path: Path) -> tuple[fp.Keyring, str]:
    kr = fp.Keyring.generate()
    path = tmp_path / "kr.json"
    kr.save(path, provider=EnvironmentProvider(SPARK_KEK_VAR))
    return kr, str(path)


def test_same_output_as_the_local_runner(spark: Any, tmp_path: Path) -> None:
    from finprivacy.spark import apply

    kr, keyfile = _keyfile(tmp_path)
    job = Job("mix", (ColumnAction("sfzh", "blind_index", context="clients.sfzh"),
                      ColumnAction("sjhm", "mask", kind="cn_phone"),
                      ColumnAction("memo", "redact"),
                      ColumnAction("id", "keep")))
    df = spark.createDataFrame(ROWS, "id long, sfzh string, sjhm string, memo string"
                               ).repartition(3)
    out = apply(df, job, keyring_file=keyfile, provider=EnvironmentProvider(SPARK_KEK_VAR))
    got = sorted((r.asDict() for r in out.collect()), key=lambda r: r["id"])
    local = apply_batch(pa.RecordBatch.from_pylist(
        [dict(zip(("id", "sfzh", "sjhm", "memo"), row, strict=True)) for row in ROWS]),
        job.actions, keyring=kr).batch.to_pylist()
    assert got == local
    assert out.columns == ["id", "sfzh", "sjhm", "memo", "sfzh_bidx"]


def test_encryption_on_executors_decrypts_locally(spark: Any, tmp_path: Path) -> None:
    from finprivacy.spark import apply

    kr, keyfile = _keyfile(tmp_path)
    job = Job("seal", (ColumnAction("sfzh", "encrypt", context="clients.sfzh"),
                       ColumnAction("memo", "drop")))
    df = spark.createDataFrame(ROWS, "id long, sfzh string, sjhm string, memo string")
    rows = apply(df, job, keyring_file=keyfile,
                 provider=EnvironmentProvider(SPARK_KEK_VAR)).collect()
    assert len(rows) == 60 and "memo" not in rows[0].asDict()
    first = next(r for r in rows if r.id == 0)
    assert kr.decrypt(first.sfzh, context="clients.sfzh") == ROWS[0][1]
    with pytest.raises(fp.InvalidInputError, match="nope"):
        apply(df, Job("x", (ColumnAction("nope", "mask", kind="cn_id"),)))
    with pytest.raises(fp.ConfigurationError):
        apply(df, job)  # keys needed, no keyring file


def test_nested_columns_are_refused_before_any_executor_runs() -> None:
    from pyspark.sql.types import ArrayType, StringType, StructField, StructType

    from finprivacy.spark import output_schema

    schema = StructType([StructField("client", StructType([StructField("sfzh", StringType())])),
                         StructField("tags", ArrayType(StringType())),
                         StructField("n", StringType())])
    for column in ("client", "tags"):
        with pytest.raises(fp.InvalidInputError, match="not a scalar"):
            output_schema(schema, Job("x", (ColumnAction(column, "mask", kind="cn_id"),)))
    kept = output_schema(schema, Job("x", (ColumnAction("tags", "drop"),
                                           ColumnAction("n", "mask", kind="cn_id"))))
    assert kept.fieldNames() == ["client", "n"]
