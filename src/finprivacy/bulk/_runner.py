"""Jobs (TOML) and the local runner: partitions in a process pool, manifests, resume.

A partition is one input file (Parquet, or CSV read as text columns). Its output is
written atomically, then its manifest (input fingerprint, rows, failures per column);
a partition whose manifest matches its input is not processed again, so a killed run
resumes where it stopped and never writes a partition twice. Workers open the keyring
themselves from ``keyring_file`` and a key provider (environment, AWS KMS, PKCS#11):
no key material crosses the process boundary.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ..audit.events import AuditEvent, AuditSink
from ..crypto import KeyProvider, Keyring, atomic_output
from ..errors import ConfigurationError, InvalidInputError, NotFoundError
from ._actions import ColumnAction, apply_batch

__all__ = ["Job", "PartitionResult", "load_job", "run_job"]

_BATCH = 65_536


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """A declarative bulk job: a name and one action per column."""

    name: str
    actions: tuple[ColumnAction, ...]


def load_job(path: str | os.PathLike[str]) -> Job:
    """Read a job file (TOML).

    Example::

        name = "encrypt-2019-exports"

        [[columns]]
        column = "sfzh"
        action = "encrypt"
        context = "clients.sfzh"
    """
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(f"no job file at {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML ({exc})") from None
    name = data.get("name")
    columns = data.get("columns")
    if not isinstance(name, str) or not name or not isinstance(columns, list) or not columns:
        raise ConfigurationError(f"{path}: a job needs name = \"…\" and [[columns]]")
    allowed = {f.name for f in dataclasses.fields(ColumnAction)}
    actions = []
    for entry in columns:
        if not isinstance(entry, dict) or set(entry) - allowed:
            raise ConfigurationError(f"{path}: a [[columns]] entry takes only "
                                     f"{sorted(allowed)}")
        actions.append(ColumnAction(**entry))
    return Job(name, tuple(actions))


@dataclasses.dataclass(frozen=True, slots=True)
class PartitionResult:
    """What one partition did (or that it was already done)."""

    input: str
    output: str
    rows: int
    failures: dict[str, int]
    skipped: bool
    """Its manifest matched: done by an earlier run."""


def _fingerprint(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _read_batches(path: Path) -> Any:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if path.suffix.lower() == ".parquet":
        yield from pq.ParquetFile(path).iter_batches(batch_size=_BATCH)
        return
    if path.suffix.lower() == ".csv":
        import pyarrow as pa

        opts = pcsv.ConvertOptions(strings_can_be_null=True)
        reader = pcsv.open_csv(path, convert_options=opts,
                               read_options=pcsv.ReadOptions(block_size=1 << 22))
        for batch in reader:
            yield pa.RecordBatch.from_arrays(
                [c.cast(pa.string()) for c in batch.columns], names=batch.schema.names)
        return
    raise InvalidInputError(f"{path.name}: a partition is a .parquet or .csv file")


def _process(job: Job, source: Path, out_dir: Path, keyring: Keyring | None) -> PartitionResult:
    import pyarrow.parquet as pq

    target = out_dir / (source.stem + ".parquet")
    manifest = out_dir / "_manifests" / (source.name + ".json")
    fingerprint = _fingerprint(source)
    if manifest.exists():
        done = json.loads(manifest.read_text(encoding="utf-8"))
        if done.get("fingerprint") == fingerprint and done.get("job") == job.name and (
                target.exists()):
            return PartitionResult(str(source), str(target), int(done["rows"]),
                                   dict(done["failures"]), True)
    rows = 0
    failures: dict[str, int] = {}
    writer = None
    with atomic_output(target) as out:
        try:
            for batch in _read_batches(source):
                result = apply_batch(batch, job.actions, keyring=keyring)
                if writer is None:
                    writer = pq.ParquetWriter(out, result.batch.schema)
                writer.write_batch(result.batch)
                rows += result.batch.num_rows
                for k, v in result.failures.items():
                    failures[k] = failures.get(k, 0) + v
        finally:
            if writer is not None:
                writer.close()
    manifest.parent.mkdir(exist_ok=True)
    with atomic_output(manifest) as f:
        f.write(json.dumps({"job": job.name, "input": source.name,
                            "fingerprint": fingerprint, "rows": rows,
                            "failures": failures}, sort_keys=True).encode())
    return PartitionResult(str(source), str(target), rows, failures, False)


def _worker(job: Job, source: str, out_dir: str, keyring_file: str | None,
            provider: KeyProvider | None) -> PartitionResult:
    keyring = (Keyring.load(keyring_file, provider=provider)
               if keyring_file is not None else None)
    return _process(job, Path(source), Path(out_dir), keyring)


def run_job(job: Job, inputs: Sequence[str | os.PathLike[str]],
            out_dir: str | os.PathLike[str], *, keyring: Keyring | None = None,
            keyring_file: str | os.PathLike[str] | None = None,
            provider: KeyProvider | None = None, workers: int = 1,
            audit: AuditSink | None = None, actor: str = "finprivacy.bulk",
            progress: Callable[[PartitionResult], None] | None = None
            ) -> list[PartitionResult]:
    """Run ``job`` over the partitions ``inputs`` into ``out_dir``; return each result.

    With ``workers`` > 1 the partitions run in a process pool, and each worker loads the
    keyring from ``keyring_file`` with ``provider`` (a ``keyring`` object is not sent
    to other processes). A summary entry (``bulk.job``) goes to ``audit``.
    """
    sources = [Path(p) for p in inputs]
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise NotFoundError(f"no partition at {missing[0]}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: list[PartitionResult] = []
    if workers > 1:
        if keyring is not None and keyring_file is None:
            raise ConfigurationError("workers > 1 open the keyring themselves: give "
                                     "keyring_file= and provider=, not keyring=")
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(_worker, job, str(s), str(out),
                                   os.fspath(keyring_file) if keyring_file else None,
                                   provider) for s in sources]
            for fut in futures:
                res = fut.result()
                results.append(res)
                if progress is not None:
                    progress(res)
    else:
        kr = keyring if keyring is not None else (
            Keyring.load(keyring_file, provider=provider) if keyring_file is not None
            else None)
        for s in sources:
            res = _process(job, s, out, kr)
            results.append(res)
            if progress is not None:
                progress(res)
    if audit is not None:
        total = sum(r.rows for r in results)
        failed = sum(sum(r.failures.values()) for r in results)
        audit.record(AuditEvent(action="bulk.job", actor=actor, decision="info",
                                details={"job": job.name, "partitions": str(len(results)),
                                         "skipped": str(sum(r.skipped for r in results)),
                                         "rows": str(total), "failures": str(failed)}))
    return results


