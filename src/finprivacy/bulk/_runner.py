"""Jobs (TOML) and the local runner: partitions in a process pool, manifests, resume.

A partition is one input file (Parquet, CSV read as text columns, or JSON Lines). Its
output (the same format by default) is written atomically, then its manifest (input fingerprint,
rows, failures per column); a partition whose manifest matches its input is not
processed again, so a killed run resumes where it stopped and never writes a partition
twice. Workers open the keyring
themselves from ``keyring_file`` and a key provider (environment, AWS KMS, PKCS#11):
no key material crosses the process boundary.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from ..audit.events import AuditEvent, AuditSink
from ..crypto import KeyProvider, Keyring, atomic_output
from ..errors import ConfigurationError, InvalidInputError, NotFoundError
from ..inventory import DataInventory
from ._actions import ColumnAction, apply_batch
from ._progress import Progress, ProgressCounter

__all__ = ["FORMATS", "Job", "PartitionResult", "load_job", "run_job", "suggest_job"]

_BATCH = 65_536


@dataclasses.dataclass(frozen=True, slots=True)
class Job:
    """A declarative bulk job: a name and one action per column."""

    name: str
    actions: tuple[ColumnAction, ...]

    def to_toml(self) -> str:
        """Return the job file :func:`load_job` reads back (to review and commit)."""
        lines = [f"name = {_toml_str(self.name)}"]
        for a in self.actions:
            lines += ["", "[[columns]]"]
            for f in dataclasses.fields(ColumnAction):
                value = getattr(a, f.name)
                if value:
                    lines.append(f"{f.name} = {_toml_str(value)}")
        return "\n".join(lines) + "\n"


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


class _Finding(Protocol):
    """What :func:`suggest_job` reads from a discovery finding (``ColumnFinding``)."""

    @property
    def table(self) -> str: ...
    @property
    def column(self) -> str: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def tokens(self) -> Mapping[str, int]: ...


def suggest_job(findings: Iterable[_Finding], *, table: str, name: str,
                action: str = "mask", inventory: DataInventory | None = None) -> Job:
    """Propose a job for ``table`` from discovery's findings (``report.columns``).

    Each column that holds a personal-data kind in plaintext gets ``action``: ``mask``
    (with its kind, or ``redact`` where no mask exists for the kind), ``encrypt`` or
    ``tokenize`` (bank cards only; others are encrypted), with the context
    ``<table>.<column>``. With ``inventory``, its word comes first: a column it
    classifies C2 or C3 is treated even where the sampled values did not say, and its
    ``mask`` kind is used. Columns already encrypted, and the rest, are left as they
    are. Review the result (:meth:`Job.to_toml`) before running it.
    """
    from ..masking import MASK_KINDS

    if action not in ("mask", "encrypt", "tokenize"):
        raise ConfigurationError("suggest_job's action is mask, encrypt or tokenize")
    actions = []
    for f in findings:
        if f.table != table or f.tokens:
            continue
        field = (inventory.get(f"{table}.{f.column}") or inventory.get(f.column)
                 if inventory is not None else None)
        declared = field is not None and field.sensitivity in ("C2", "C3")
        if f.kind is None and not declared:
            continue
        kind = field.mask if field is not None and field.mask else (f.kind or "")
        context = f"{table}.{f.column}"
        if action == "mask":
            actions.append(ColumnAction(f.column, "mask", kind=kind)
                           if kind in MASK_KINDS else ColumnAction(f.column, "redact"))
        elif action == "tokenize" and kind == "bank_card":
            actions.append(ColumnAction(f.column, "tokenize", context=context))
        else:
            actions.append(ColumnAction(f.column, "encrypt", context=context))
    if not actions:
        raise InvalidInputError(f"discovery found no plaintext personal data in {table!r}")
    return Job(name, tuple(actions))


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


def _read_batches(path: Path, failures: dict[str, int]) -> Any:
    """Yield ``path``'s batches; a CSV value that is not UTF-8 becomes null, counted."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if path.suffix.lower() == ".parquet":
        pf = pq.ParquetFile(path)
        if pf.metadata.num_rows == 0:  # still a schema for the output
            yield _empty(pf.schema_arrow)
            return
        yield from pf.iter_batches(batch_size=_BATCH)
        return
    if path.suffix.lower() == ".csv":
        import pyarrow as pa

        # Every column as bytes, so one bad byte sequence cannot stop the reader.
        with path.open(encoding="utf-8", errors="replace", newline="") as f:
            header = next(csv.reader(f), [])
        opts = pcsv.ConvertOptions(strings_can_be_null=True,
                                   column_types={n: pa.binary() for n in header})
        reader = pcsv.open_csv(path, convert_options=opts,
                               read_options=pcsv.ReadOptions(block_size=1 << 22))
        seen = False
        for batch in reader:
            seen = True
            yield pa.RecordBatch.from_arrays(
                [_utf8(c, n, failures) for c, n in zip(batch.columns, batch.schema.names,
                                                       strict=True)],
                names=batch.schema.names)
        if not seen:  # a header and no rows
            yield _empty(pa.schema([(n, pa.string()) for n in reader.schema.names]))
        return
    raise InvalidInputError(f"{path.name}: a partition is a .parquet, .csv or .jsonl file")


def _empty(schema: Any) -> Any:
    import pyarrow as pa

    return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema],
                                      schema=schema)


def _utf8(column: Any, name: str, failures: dict[str, int]) -> Any:
    import pyarrow as pa

    try:
        return column.cast(pa.string())
    except pa.ArrowInvalid:
        out = []
        for raw in column.to_pylist():
            try:
                out.append(None if raw is None else raw.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(None)
                failures[name] = failures.get(name, 0) + 1
        return pa.array(out, type=pa.string())


FORMATS = ("same", "parquet", "csv")
"""Output formats: ``same`` (a CSV partition gives CSV, Parquet gives Parquet), or one."""


def _target(source: Path, out_dir: Path, fmt: str) -> Path:
    suffix = source.suffix.lower() if fmt == "same" else f".{fmt}"
    return out_dir / (source.stem + suffix)


def _done(job: Job, source: Path, out_dir: Path, fmt: str) -> PartitionResult | None:
    """Return the earlier run's result if its manifest matches this input, else ``None``."""
    target = _target(source, out_dir, fmt)
    manifest = out_dir / "_manifests" / (source.name + ".json")
    if not manifest.exists():
        return None
    try:
        done = json.loads(manifest.read_text(encoding="utf-8"))
        if done.get("fingerprint") == _fingerprint(source) and done.get("job") == job.name and (
                target.exists()):
            return PartitionResult(str(source), str(target), int(done["rows"]),
                                   dict(done["failures"]), True)
    except (ValueError, KeyError, TypeError, AttributeError):
        pass  # a damaged manifest: the partition is done again, atomically
    return None


def _expected_rows(source: Path) -> int | None:
    if source.suffix.lower() != ".parquet":
        return None
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(source).metadata.num_rows)


def _writer(out: Any, schema: Any, target: Path) -> Any:
    import pyarrow as pa

    if target.suffix == ".csv":
        import pyarrow.csv as pcsv

        nested = [f.name for f in schema if pa.types.is_nested(f.type)]
        if nested:
            raise InvalidInputError(f"CSV cannot hold the nested columns {nested}: write "
                                    "Parquet, or name their fields as outer.inner")
        return pcsv.CSVWriter(out, schema)
    import pyarrow.parquet as pq

    return pq.ParquetWriter(out, schema)


def _process(job: Job, source: Path, out_dir: Path, keyring: Keyring | None,
             report: Callable[[int], None] | None = None, fmt: str = "same"
             ) -> PartitionResult:
    earlier = _done(job, source, out_dir, fmt)
    if earlier is not None:
        return earlier
    target = _target(source, out_dir, fmt)
    manifest = out_dir / "_manifests" / (source.name + ".json")
    fingerprint = _fingerprint(source)
    failures: dict[str, int] = {}
    if source.suffix.lower() in _JSON_LINES:
        if target.suffix.lower() not in _JSON_LINES:
            raise InvalidInputError(f"{source.name}: JSON Lines partitions are written as "
                                    "JSON Lines (output_format='same')")
        with atomic_output(target) as out:
            rows = _process_json_lines(job, source, out, keyring, report, failures)
    else:
        with atomic_output(target) as out:
            rows = _process_arrow(job, source, out, target, keyring, report, failures)
    manifest.parent.mkdir(exist_ok=True)
    with atomic_output(manifest) as f:
        f.write(json.dumps({"job": job.name, "input": source.name,
                            "fingerprint": fingerprint, "rows": rows,
                            "failures": failures}, sort_keys=True).encode())
    return PartitionResult(str(source), str(target), rows, failures, False)


_JSON_LINES = (".jsonl", ".ndjson")
_UNREADABLE = "(unreadable lines)"


def _process_arrow(job: Job, source: Path, out: Any, target: Path, keyring: Keyring | None,
                   report: Callable[[int], None] | None, failures: dict[str, int]) -> int:
    rows = 0
    writer = None
    try:
        for batch in _read_batches(source, failures):
            result = apply_batch(batch, job.actions, keyring=keyring)
            if writer is None:
                writer = _writer(out, result.batch.schema, target)
            writer.write_batch(result.batch)
            rows += result.batch.num_rows
            for k, v in result.failures.items():
                failures[k] = failures.get(k, 0) + v
            if report is not None:
                report(result.batch.num_rows)
    finally:
        if writer is not None:
            writer.close()
    return rows


def _process_json_lines(job: Job, source: Path, out: Any, keyring: Keyring | None,
                        report: Callable[[int], None] | None,
                        failures: dict[str, int]) -> int:
    """Run ``job`` over a JSON Lines partition into ``out``; return the lines written.

    Only the job's keys change; the rest (types, nested objects, keys some lines lack)
    passes through as it was. A line that is not a JSON object in UTF-8 cannot be
    treated, so it is left out and counted.
    """
    rows = 0
    seen: set[str] = set()
    chunk: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal rows
        if chunk:
            _json_chunk(job, chunk, keyring, failures, seen)
            out.write(b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n"
                               for r in chunk))
            rows += len(chunk)
            if report is not None:
                report(len(chunk))
            chunk.clear()

    with source.open("rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                obj = None
            if not isinstance(obj, dict):
                failures[_UNREADABLE] = failures.get(_UNREADABLE, 0) + 1
                continue
            chunk.append(obj)
            if len(chunk) >= _BATCH:
                flush()
    flush()
    missing = [a.column for a in job.actions if a.column not in seen]
    if missing and rows:
        raise InvalidInputError(f"the job names keys no line of {source.name} has: {missing}")
    return rows


def _json_chunk(job: Job, chunk: list[dict[str, Any]], keyring: Keyring | None,
                failures: dict[str, int], seen: set[str]) -> None:
    import pyarrow as pa

    for r in chunk:
        seen.update(r)
    acting = [a for a in job.actions if a.action not in ("keep", "drop")]
    columns: dict[str, list[str | None]] = {}
    for a in acting:
        values: list[str | None] = []
        for r in chunk:
            v = r.get(a.column)
            if isinstance(v, dict | list):  # not a scalar: cannot be treated value by value
                failures[a.column] = failures.get(a.column, 0) + 1
                values.append(None)
            else:
                values.append(None if v is None else str(v))
        columns[a.column] = values
    if acting:
        result = apply_batch(pa.RecordBatch.from_pydict(columns), acting, keyring=keyring)
        for k, n in result.failures.items():
            failures[k] = failures.get(k, 0) + n
        out = result.batch.to_pydict()
        for a in acting:
            for r, value in zip(chunk, out[a.target], strict=True):
                if a.column in r:
                    r[a.target] = value
    for a in job.actions:
        if a.action == "drop":
            for r in chunk:
                r.pop(a.column, None)


_QUEUE: Any = None  # in a pool worker: where batch sizes go for the progress bar


def _init_worker(queue: Any) -> None:
    global _QUEUE
    _QUEUE = queue


def _worker(job: Job, source: str, out_dir: str, keyring_file: str | None,
            provider: KeyProvider | None, fmt: str) -> PartitionResult:
    keyring = (Keyring.load(keyring_file, provider=provider)
               if keyring_file is not None else None)
    queue = _QUEUE
    return _process(job, Path(source), Path(out_dir), keyring,
                    queue.put if queue is not None else None, fmt)


def run_job(job: Job, inputs: Sequence[str | os.PathLike[str]],
            out_dir: str | os.PathLike[str], *, keyring: Keyring | None = None,
            keyring_file: str | os.PathLike[str] | None = None,
            provider: KeyProvider | None = None, workers: int = 1,
            audit: AuditSink | None = None, actor: str = "finprivacy.bulk",
            progress: Callable[[Progress], None] | None = None,
            output_format: str = "same") -> list[PartitionResult]:
    """Run ``job`` over the partitions ``inputs`` into ``out_dir``; return each result.

    With ``workers`` > 1 the partitions run in ``workers`` processes — this one and
    ``workers - 1`` spawned ones — and each spawned worker loads the keyring from
    ``keyring_file`` with ``provider`` (a ``keyring`` object is not sent to other
    processes). ``progress`` is called after each batch, in this process, with
    the rows done, the rate and the time left (:class:`Progress`). A summary entry
    (``bulk.job``) goes to ``audit``. ``output_format`` is one of :data:`FORMATS`: by
    default a CSV partition gives a CSV file and a Parquet one a Parquet file.
    """
    sources = [Path(p) for p in inputs]
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise NotFoundError(f"no partition at {missing[0]}")
    if workers < 1:
        raise InvalidInputError("workers must be at least 1")
    if output_format not in FORMATS:
        raise InvalidInputError(f"output_format is one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    counter: ProgressCounter | None = None
    if progress is not None:
        todo = [_expected_rows(s) for s in sources
                if _done(job, s, out, output_format) is None]
        counter = ProgressCounter(progress, None if None in todo else sum(
            n for n in todo if n is not None))
    results: list[PartitionResult] = []
    if workers > 1:
        if keyring is not None and keyring_file is None:
            raise ConfigurationError("workers > 1 open the keyring themselves: give "
                                     "keyring_file= and provider=, not keyring=")
        kr = (Keyring.load(keyring_file, provider=provider) if keyring_file is not None
              else None)
        results = _run_pool(job, sources, out, workers, keyring_file, provider, counter, kr,
                            output_format)
    else:
        kr = keyring if keyring is not None else (
            Keyring.load(keyring_file, provider=provider) if keyring_file is not None
            else None)
        for s in sources:
            results.append(_process(job, s, out, kr, counter.add if counter else None,
                                    output_format))
    if audit is not None:
        total = sum(r.rows for r in results)
        failed = sum(sum(r.failures.values()) for r in results)
        audit.record(AuditEvent(action="bulk.job", actor=actor, decision="info",
                                details={"job": job.name, "partitions": str(len(results)),
                                         "skipped": str(sum(r.skipped for r in results)),
                                         "rows": str(total), "failures": str(failed)}))
    return results




def _run_pool(job: Job, sources: Sequence[Path], out: Path, workers: int,
              keyring_file: str | os.PathLike[str] | None, provider: KeyProvider | None,
              counter: ProgressCounter | None, keyring: Keyring | None, fmt: str
              ) -> list[PartitionResult]:
    """``workers`` processes: this one and ``workers - 1`` spawned ones.

    The spawned workers take partitions from the front of the list — a feeder thread
    hands each the next one the moment it finishes — and this process takes them from
    the back, so no core waits while a worker starts (about half a second to import and
    open the keyring) and the two meet in the middle.
    """
    import collections
    import multiprocessing
    import queue as queue_module
    import threading
    from concurrent.futures import FIRST_COMPLETED, Future, wait

    ctx = multiprocessing.get_context("spawn")
    rows_queue = ctx.Queue() if counter is not None else None

    def drain() -> None:
        if rows_queue is None or counter is None:
            return
        while True:
            try:
                counter.add(rows_queue.get_nowait())
            except queue_module.Empty:
                return

    def report(rows: int) -> None:
        if counter is not None:
            counter.add(rows)
        drain()

    lock = threading.Lock()
    pending = collections.deque(enumerate(sources))
    finished: dict[int, Future[PartitionResult]] = {}
    mine: dict[int, PartitionResult] = {}
    in_flight: dict[Future[PartitionResult], int] = {}
    with ProcessPoolExecutor(max_workers=workers - 1, mp_context=ctx,
                             initializer=_init_worker, initargs=(rows_queue,)) as pool:

        def submit_next() -> None:  # with the lock held
            if pending:
                index, source = pending.popleft()
                fut = pool.submit(_worker, job, str(source), str(out),
                                  os.fspath(keyring_file) if keyring_file else None,
                                  provider, fmt)
                in_flight[fut] = index

        def feed() -> None:
            while True:
                with lock:
                    current = list(in_flight)
                if not current:
                    return
                ended, _ = wait(current, timeout=0.5, return_when=FIRST_COMPLETED)
                with lock:
                    for fut in ended:
                        finished[in_flight.pop(fut)] = fut
                        if fut.exception() is not None:
                            pending.clear()  # stop handing out work; raise below
                        submit_next()

        with lock:
            for _ in range(workers - 1):
                submit_next()
        feeder = threading.Thread(target=feed, name="finprivacy-bulk-feeder", daemon=True)
        feeder.start()
        try:
            while True:
                with lock:
                    if not pending:
                        break
                    index, source = pending.pop()
                mine[index] = _process(job, source, out, keyring, report, fmt)
        finally:
            with lock:
                pending.clear()  # on an error here, hand out nothing more
            while feeder.is_alive():
                feeder.join(0.25)
                drain()
    results = [mine[i] if i in mine else finished[i].result() for i in range(len(sources))]
    if rows_queue is not None:
        # Workers put before they return; a put can reach the pipe just after.
        while counter is not None and counter.rows < sum(r.rows for r in results
                                                         if not r.skipped):
            try:
                counter.add(rows_queue.get(timeout=1))
            except queue_module.Empty:
                break
        rows_queue.close()
    return results
