"""Discovery speed (issue 18): 50 tables × 100,000 rows in sample mode (target ≤ 10 s),
and full-mode throughput in cells per second, on SQLite. Quick: 10 tables × 10,000.

Baseline in the same run: reading the same sampled cells with plain SQL (no detection),
so the figure shows what detection adds. Peer: presidio-structured's column analysis
(``PandasAnalysisBuilder``) on a labelled legacy schema in the same SQLite database —
full mode cells/s (target ≥ 50×) and column precision/recall (ours ≥ 0.95); see
``benchmarks/_presidio_peer.py`` for how the peer runs without a spaCy model.
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
        _versus_presidio(Path(tmp), 500 if quick else 2000)


def _versus_presidio(tmp: Path, rows: int) -> None:
    import finprivacy as fp
    from benchmarks._presidio_peer import (
        PRESIDIO_KINDS,
        labelled_tables,
        names_and_regexes,
        peer,
        score,
    )

    tables, truth = labelled_tables(rows)
    db = tmp / "labelled.db"
    conn = sqlite3.connect(db)
    for name, cols in tables.items():
        names = list(cols)
        conn.execute(f'create table "{name}" ({", ".join(chr(34) + c + chr(34) for c in names)})')
        conn.executemany(f'insert into "{name}" values ({", ".join("?" * len(names))})',
                         list(zip(*cols.values(), strict=True)))
    conn.commit()
    conn.close()
    cells = sum(len(cols) * rows for cols in tables.values())
    heading(f"discovery vs presidio-structured: labelled schema, {cells:,} cells")
    with Timer() as ours_t:
        report = fp.discover(f"sqlite:///{db}", full=True)
    ours = {(c.table, c.column): c.kind for c in report.columns}
    p, r, _ = score(ours, truth)
    ours_rate = cells / ours_t.seconds
    print(f"{'fp.discover, full mode':<52} {ours_rate:12,.0f} cells/s  precision {p:.2f} "
          f"recall {r:.2f}  (target ≥ 0.95: {'ok' if min(p, r) >= 0.95 else 'MISSED'})")
    with Timer() as names_t:
        naive = names_and_regexes(tables, sample=rows)
    p3, r3, _ = score(naive, truth)
    print(f"{'piicatcher approach (names + regexes, no checksums)':<52} "
          f"{cells / names_t.seconds:12,.0f} cells/s  precision {p3:.2f} recall {r3:.2f}")
    tools = peer()
    if tools is None:
        print("  (presidio-structured not installed: pip install -e '.[bench]')")
        return
    import pandas as pd

    builder, _ = tools
    found: dict[tuple[str, str], str | None] = {}
    conn = sqlite3.connect(db)
    frames = {name: pd.read_sql_query(f'select * from "{name}"', conn) for name in tables}
    conn.close()
    with Timer() as peer_t:
        for name, df in frames.items():
            analysis = builder.generate_analysis(df)
            for column, entity in analysis.entity_mapping.items():
                found[(name, column)] = PRESIDIO_KINDS.get(entity, entity)
    p2, r2, _ = score(found, truth)
    pp, pr, _ = score(found, truth, kinds=False)
    peer_rate = cells / peer_t.seconds
    print(f"{'presidio-structured PandasAnalysisBuilder, all rows':<52} {peer_rate:12,.0f} "
          f"cells/s  precision {p2:.2f} recall {r2:.2f} (personal-or-not: {pp:.2f}/{pr:.2f})")
    print(f"{'  presidio-structured said':<52} "
          + ", ".join(f"{t}.{c}={k}" for (t, c), k in sorted(found.items())))
    ratio = ours_rate / peer_rate
    print(f"{'  finprivacy over presidio-structured, cells/s':<52} {ratio:12.1f}x  "
          f"(target ≥ 50: {'ok' if ratio >= 50 else 'MISSED'})")
