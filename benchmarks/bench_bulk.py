"""Bulk jobs (issue 18), same run.

* tokenize card numbers through a job (``apply_batch``, format-preserving card tokens)
  against a loop over the FF3/FFX peers ``ff3`` and ``pyffx`` on the same numbers
  (target: ≥ 5× the fastest peer);
* mask/redact rows × 5 text columns of Parquet — discovery drafts the mask job, the
  local runner reads, masks and writes — against presidio-structured's analysis
  builder and data processor (target ≥ 50× rows/s with a column F1 no lower; the peer
  runs without a spaCy model, see ``benchmarks/_presidio_peer.py``);
* the local runner with 2 processes against 1 (target ≥ 1.7×), peak memory as rows
  grow 4× (target ≤ 1.2×), and Spark ``local[2]`` against ``local[1]`` (target ≥ 1.6×)
  when PySpark and Java are there.

Full size: 1,000,000 cards and rows (memory: 1M vs 4M); quick: 50,000.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from benchmarks._harness import Timer, heading


def _cards(n: int) -> list[str]:
    from finprivacy.faker import FinPrivacyProvider

    try:
        from faker import Faker
    except ImportError:
        rng = random.Random(1)
        return [f"622202{rng.randrange(10**13):013d}" for _ in range(n)]
    fake = Faker()
    fake.seed_instance(1)
    fake.add_provider(FinPrivacyProvider)
    pool = [fake.unionpay_card() for _ in range(5000)]
    rng = random.Random(1)
    return [rng.choice(pool) for _ in range(n)]


def main(*, quick: bool = False) -> None:
    import pyarrow as pa

    import finprivacy as fp
    from finprivacy.bulk import ColumnAction, apply_batch

    n = 50_000 if quick else 1_000_000
    heading(f"bulk: {n:,} rows")
    kr = fp.Keyring.generate()
    cards = _cards(n)
    batch = pa.RecordBatch.from_pydict({"card": cards})
    with Timer() as ours:
        apply_batch(batch, [ColumnAction("card", "tokenize", context="cards")], keyring=kr)
    print(f"{'tokenize through a job (apply_batch)':<52} {n / ours.seconds:12,.0f} /s")
    peers = []
    sample = cards[: max(1000, n // 20)]
    try:
        from ff3 import FF3Cipher

        c = FF3Cipher(os.urandom(32).hex(), os.urandom(7).hex())
        with Timer() as t:
            for v in sample:
                c.encrypt(v[6:-4].rjust(9, "0"))
        peers.append(("ff3 (FF3-1), middle digits", len(sample) / t.seconds))
    except ImportError:
        print("  (ff3 not installed: pip install -e '.[bench]')")
    try:
        import pyffx

        f = pyffx.String(os.urandom(32), alphabet="0123456789", length=9)
        with Timer() as t:
            for v in sample:
                f.encrypt(v[6:15])
        peers.append(("pyffx (FFX-A2), middle digits", len(sample) / t.seconds))
    except ImportError:
        print("  (pyffx not installed: pip install -e '.[bench]')")
    for name, rate in peers:
        print(f"{name:<52} {rate:12,.0f} /s")
    if peers:
        best = max(rate for _, rate in peers)
        ratio = (n / ours.seconds) / best
        print(f"{'  finprivacy over the fastest peer':<52} {ratio:12.2f}x  (target ≥ 5: "
              f"{'ok' if ratio >= 5 else 'MISSED'})")

    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        _mask_versus_presidio(Path(tmp), n, quick)
        from finprivacy.crypto import EnvironmentProvider

        os.environ.setdefault("FINPRIVACY_BENCH_KEK",
                              str(EnvironmentProvider.generate_kek()))
        provider = EnvironmentProvider("FINPRIVACY_BENCH_KEK")
        kr.save(Path(tmp) / "kr.json", provider=provider)
        repeat = 1 if quick else 3
        parts = _scaling(Path(tmp), n, Path(tmp) / "kr.json", provider, repeat=repeat)
        _memory(Path(tmp), n // 4 if quick else 1_000_000)
        _spark(parts, n, Path(tmp) / "kr.json", provider, repeat=repeat)
    del pq


def _text_table(n: int, seed: int = 2) -> object:
    """n rows × 5 text columns: ID, mobile, card, e-mail, and an order-number decoy."""
    import numpy as np
    import pyarrow as pa
    from faker import Faker

    from finprivacy.faker import FinPrivacyProvider

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    fake.add_provider(FinPrivacyProvider)
    pools = {"sfzh": [fake.cn_resident_id() for _ in range(4000)],
             "sjhm": [fake.cn_mobile() for _ in range(4000)],
             "yhkh": [fake.unionpay_card() for _ in range(4000)],
             "email": [fake.email() for _ in range(4000)],
             "ddh": [str(random.Random(seed + i).randint(10**17, 10**18 - 1))
                     for i in range(4000)]}
    rng = np.random.default_rng(seed)
    return pa.table({k: pa.array(v).take(pa.array(rng.integers(0, len(v), n)))
                     for k, v in pools.items()})


TEXT_TRUTH = {"sfzh": "cn_id", "sjhm": "cn_phone", "yhkh": "bank_card", "email": "email",
              "ddh": None}


def _mask_versus_presidio(tmp: Path, n: int, quick: bool) -> None:
    import pyarrow.parquet as pq

    import finprivacy as fp
    from benchmarks._presidio_peer import PRESIDIO_KINDS, peer, score
    from finprivacy.bulk import run_job, suggest_job

    heading(f"mask/redact {n:,} rows x 5 text columns of Parquet")
    path = tmp / "clients.parquet"
    pq.write_table(_text_table(n), path, row_group_size=65_536)  # type: ignore[arg-type]
    with Timer() as t:
        report = fp.discover(path, sample=1000)
        job = suggest_job(report.columns, table=path.name, name="mask", action="mask")
        run_job(job, [path], tmp / "masked")
    ours_rate = n / t.seconds
    truth = {("clients", c): k for c, k in TEXT_TRUTH.items()}
    ours = {("clients", a.column): a.kind or "personal" for a in job.actions}
    _, _, f1 = score(ours, truth, kinds=False)
    print(f"{'discover + suggested mask job, read/mask/write':<52} {ours_rate:12,.0f} rows/s  "
          f"column F1 {f1:.2f}")
    tools = peer()
    if tools is None:
        print("  (presidio-structured not installed: pip install -e '.[bench]')")
        return
    from presidio_anonymizer.entities import OperatorConfig

    builder, engine = tools
    rows = 500 if quick else 2000
    with Timer() as pt:
        df = pq.read_table(path).slice(0, rows).to_pandas()
        analysis = builder.generate_analysis(df)
        engine.anonymize(df, analysis, operators={
            "DEFAULT": OperatorConfig("replace", {"new_value": "<PII>"})})
    peer_rate = rows / pt.seconds
    found = {("clients", c): PRESIDIO_KINDS.get(e, e) for c, e in
             analysis.entity_mapping.items()}
    _, _, peer_f1 = score(found, truth, kinds=False)
    print(f"{'presidio-structured analysis + PandasDataProcessor':<52} {peer_rate:12,.0f} "
          f"rows/s  column F1 {peer_f1:.2f}  ({rows:,} rows)")
    ratio = ours_rate / peer_rate
    print(f"{'  finprivacy over presidio-structured, rows/s':<52} {ratio:12.1f}x  "
          f"(target ≥ 50 with F1 no lower: "
          f"{'ok' if ratio >= 50 and f1 >= peer_f1 else 'MISSED'})")


_SEAL = (("sfzh", "encrypt", "clients.sfzh"), ("sjhm", "mask", "cn_phone"),
         ("yhkh", "tokenize", "clients.yhkh"), ("email", "mask", "email"))


def _seal_job() -> object:
    from finprivacy.bulk import ColumnAction, Job

    return Job("seal", tuple(ColumnAction(c, a, kind=k) if a == "mask"
                             else ColumnAction(c, a, context=k) for c, a, k in _SEAL))


def _scaling(tmp: Path, n: int, keyfile: Path, provider: object, *,
             repeat: int) -> Path:
    import resource

    import pyarrow.parquet as pq

    from finprivacy.bulk import run_job

    heading(f"local runner: 2 processes vs 1, {n:,} rows in 16 partitions "
            f"(best of {repeat})")
    table = _text_table(n, seed=5)
    folder = tmp / "parts"
    folder.mkdir()
    parts = []
    per = n // 16
    for i in range(16):
        path = folder / f"part{i:02d}.parquet"
        pq.write_table(table.slice(i * per, per), path)  # type: ignore[attr-defined]
        parts.append(path)
    job = _seal_job()

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    times = {1: float("inf"), 2: float("inf")}
    cpus = {1: 0.0, 2: 0.0}
    for r in range(repeat):
        for workers in (1, 2):
            before = cpu()
            with Timer() as t:
                run_job(job, parts, tmp / f"out{workers}-{r}", keyring_file=keyfile,  # type: ignore[arg-type]
                        provider=provider, workers=workers)  # type: ignore[arg-type]
            if t.seconds < times[workers]:
                times[workers], cpus[workers] = t.seconds, cpu() - before
    for workers in (1, 2):
        print(f"{f'{workers} process(es)':<52} {n / times[workers]:12,.0f} rows/s  "
              f"({cpus[workers]:.2f} s CPU)")
    scale = times[1] / times[2]
    # The floor: the 2-process run's CPU time (the single run's work, a worker's start
    # and the cost of two busy cores) spread perfectly over two cores.
    ceiling = times[1] / (cpus[2] / 2)
    print(f"{'  2 processes over 1':<52} {scale:12.2f}x  "
          f"(target ≥ 1.7: {'ok' if scale >= 1.7 else 'MISSED'}; ceiling from CPU time "
          f"{ceiling:.2f}x)")
    return folder


# VmHWM (this process's peak RSS), not ru_maxrss, which Linux carries over from the
# parent across fork and exec.
_MEMORY_CHILD = """
import sys
from finprivacy.bulk import ColumnAction, Job, run_job
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
job = Job("mask", (ColumnAction("sfzh", "mask", kind="cn_id"),
                   ColumnAction("sjhm", "mask", kind="cn_phone"),
                   ColumnAction("yhkh", "tokenize", context="cards"),
                   ColumnAction("email", "redact")))
import finprivacy as fp
kr = fp.Keyring.generate()
base = hwm()
run_job(job, [sys.argv[1]], sys.argv[2], keyring=kr)
print(base, hwm())
"""


def _memory(tmp: Path, small: int) -> None:
    import subprocess
    import sys

    import pyarrow.parquet as pq

    heading(f"peak memory: {small:,} rows vs {4 * small:,} rows (one Parquet file)")
    peaks = {}
    for rows in (small, 4 * small):
        path = tmp / f"mem{rows}.parquet"
        pq.write_table(_text_table(rows, seed=9), path, row_group_size=65_536)  # type: ignore[arg-type]
        out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(path),
                              str(tmp / f"memout{rows}")], capture_output=True, text=True,
                             check=True).stdout.split()
        base, peak = int(out[0]) / 1024, int(out[1]) / 1024
        peaks[rows] = peak
        print(f"{f'{rows:,} rows':<52} {peak:9.1f} MiB peak ({base:.1f} MiB after imports)")
        path.unlink()
    ratio = peaks[4 * small] / peaks[small]
    print(f"{'  4x the rows over 1x':<52} {ratio:12.2f}x  "
          f"(target ≤ 1.2: {'ok' if ratio <= 1.2 else 'MISSED'})")


def _spark(folder: Path, rows: int, keyfile: Path, provider: object, *, repeat: int) -> None:
    import shutil

    try:
        from pyspark.sql import SparkSession
    except ImportError:
        print("  (pyspark not installed: Spark scaling not measured)")
        return
    if shutil.which("java") is None:
        print("  (no Java runtime: Spark scaling not measured)")
        return
    from finprivacy.spark import apply

    heading(f"Spark local[2] vs local[1]: the same job, {rows:,} rows of Parquet "
            f"(best of {repeat})")
    job = _seal_job()
    times = {}
    for cores in (1, 2):
        spark = (SparkSession.builder.master(f"local[{cores}]")
                 .config("spark.ui.enabled", "false")
                 .config("spark.ui.showConsoleProgress", "false")
                 .config("spark.sql.files.maxPartitionBytes", str(4 << 20))
                 .config("spark.executorEnv.FINPRIVACY_BENCH_KEK",
                         os.environ["FINPRIVACY_BENCH_KEK"]).getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        df = spark.read.parquet(str(folder))
        apply(df, job, keyring_file=str(keyfile), provider=provider).count()  # type: ignore[arg-type]  # warm
        best = float("inf")
        for _ in range(repeat):
            with Timer() as t:
                apply(df, job, keyring_file=str(keyfile), provider=provider).count()  # type: ignore[arg-type]
            best = min(best, t.seconds)
        times[cores] = best
        print(f"{f'local[{cores}]':<52} {rows / best:12,.0f} rows/s")
        spark.stop()
    scale = times[1] / times[2]
    print(f"{'  local[2] over local[1]':<52} {scale:12.2f}x  (target ≥ 1.6: "
          f"{'ok' if scale >= 1.6 else 'MISSED'})")
