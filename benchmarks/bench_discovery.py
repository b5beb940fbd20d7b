"""Discovery speed (issue 18): 50 tables × 100,000 rows in sample mode (target ≤ 10 s),
and full-mode throughput in cells per second, on SQLite. Quick: 10 tables × 10,000.

Baseline in the same run: reading the same sampled cells with plain SQL (no detection),
so the figure shows what detection adds. The comparison with presidio-structured named
in the issue is not measured yet.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
from pathlib import Path

from benchmarks._harness import Timer, heading


def main(*, quick: bool = False) -> None:
    import finprivacy as fp
    from finprivacy.faker import FinPrivacyProvider

    try:
        from faker import Faker
    except ImportError:
        print("  (faker not installed: pip install -e '.[dev]')")
        return
    tables, rows = (10, 10_000) if quick else (50, 100_000)
    heading(f"discovery: {tables} tables x {rows:,} rows (SQLite)")
    fake = Faker("zh_CN")
    fake.seed_instance(3)
    fake.add_provider(FinPrivacyProvider)
    pool_ids = [fake.cn_resident_id() for _ in range(2000)]
    pool_phones = [fake.cn_mobile() for _ in range(2000)]
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "legacy.db"
        conn = sqlite3.connect(db)
        for t in range(tables):
            conn.execute(f"create table t{t} (id integer primary key, sfzh text, sjhm text, "
                         "amount text, memo text)")
            conn.executemany(f"insert into t{t} values (?, ?, ?, ?, ?)",
                             ((i, rng.choice(pool_ids), rng.choice(pool_phones),
                               f"{rng.randint(1, 99999)}.00", "paid") for i in range(rows)))
        conn.commit()
        cols = 5
        with Timer() as base:
            for t in range(tables):
                for c in ("id", "sfzh", "sjhm", "amount", "memo"):
                    conn.execute(f"select {c} from t{t} where {c} is not null limit 1000"
                                 ).fetchall()
        conn.close()
        with Timer() as sample_t:
            report = fp.discover(f"sqlite:///{db}", sample=1000)
        assert len(report.personal) == 2 * tables
        print(f"{'plain SQL read of the same samples':<52} {base.seconds:9.2f} s")
        print(f"{'fp.discover, sample mode (1,000 rows per column)':<52} "
              f"{sample_t.seconds:9.2f} s  (target ≤ 10 s: "
              f"{'ok' if sample_t.seconds <= 10 else 'MISSED'})")
        full_tables = 2 if not quick else 1
        small = Path(tmp) / "two.db"
        src, dst = sqlite3.connect(db), sqlite3.connect(small)
        for t in range(full_tables):
            dst.execute(f"create table t{t} (id integer primary key, sfzh text, sjhm text, "
                        "amount text, memo text)")
            dst.executemany(f"insert into t{t} values (?, ?, ?, ?, ?)",
                            src.execute(f"select * from t{t}"))
        dst.commit()
        src.close()
        dst.close()
        with Timer() as full_t:
            fp.discover(f"sqlite:///{small}", full=True)
        cells = full_tables * rows * cols
        print(f"{'fp.discover, full mode':<52} {cells / full_t.seconds:9,.0f} cells/s")
