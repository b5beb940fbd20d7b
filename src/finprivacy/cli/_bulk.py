"""``finprivacy bulk run JOB.toml SOURCE…``: run a bulk job on files or on a SQL table."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..bulk import FORMATS, Progress, load_job, run_job, run_table
from ..crypto import EnvironmentProvider, Keyring
from ..errors import InvalidInputError
from ._common import add_format_option, add_passphrase_options, emit, read_passphrase


def register(sub: Any) -> None:
    """Add the ``bulk`` subcommand."""
    bulk = sub.add_parser("bulk", help="per-column jobs over Parquet/CSV files or SQL tables")
    bsub = bulk.add_subparsers(dest="bulk_command", metavar="ACTION", required=True)
    run = bsub.add_parser("run", help="run a job; resumes where a killed run stopped")
    run.add_argument("job", help="the job file (TOML)")
    run.add_argument("inputs", nargs="+",
                     help="partitions (.parquet, .csv or .jsonl files), or one database URL "
                     "with --table")
    run.add_argument("--out", help="output folder for partitions (manifests inside)")
    run.add_argument("--output-format", choices=FORMATS, default="same",
                     help="same as each input (default), parquet or csv")
    run.add_argument("--table", help="with a database URL: the table to run the job on")
    run.add_argument("--into", metavar="NEW_TABLE",
                     help="with --table: write a new table instead of updating in place")
    run.add_argument("--batch-size", type=int, default=10_000,
                     help="rows per transaction for tables (default 10000)")
    run.add_argument("--keyring", help="keyring file (for encrypt/decrypt/blind_index)")
    run.add_argument("--kek-env", metavar="VAR",
                     help="the keyring is sealed by the key in this environment variable "
                     "(what lets --workers > 1 open it in each worker)")
    run.add_argument("--workers", type=int, default=1)
    run.add_argument("--audit", metavar="URL",
                     help="audit log store (sqlite:///… or postgresql://…) that gets the "
                     "job's bulk.job summary")
    run.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    add_passphrase_options(run)
    add_format_option(run)
    run.set_defaults(handler=_run)


class _Bar:
    """A one-line progress bar on stderr (in place on a terminal, else every 10 s)."""

    def __init__(self, quiet: bool) -> None:
        self._quiet = quiet
        self._tty = sys.stderr.isatty()
        self._last = 0.0
        self._shown = False

    def __call__(self, p: Progress) -> None:
        if self._quiet:
            return
        now = time.monotonic()
        if now - self._last < (0.1 if self._tty else 10.0):
            return
        self._last = now
        self._shown = True
        if self._tty:
            sys.stderr.write(f"\rbulk: {p.line():<70}")
        else:
            sys.stderr.write(f"bulk: {p.line()}\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self._shown and self._tty:
            sys.stderr.write("\n")


def _run(args: argparse.Namespace) -> int:
    job = load_job(args.job)
    bar = _Bar(args.quiet)
    database = "://" in args.inputs[0]
    if database and (len(args.inputs) != 1 or not args.table):
        raise InvalidInputError("a database source is one URL with --table NAME")
    if not database and (args.table or args.into):
        raise InvalidInputError("--table and --into go with a database URL")
    if not database and not args.out:
        raise InvalidInputError("files need --out DIR for the output partitions")
    provider = EnvironmentProvider(args.kek_env) if args.kek_env else None
    keyring = None
    if args.keyring and (database or provider is None):
        keyring = (Keyring.load(args.keyring, provider=provider) if provider is not None
                   else Keyring.load(args.keyring, passphrase=read_passphrase(args)))
    audit = None
    if args.audit:
        from ..audit import AuditLog

        audit = AuditLog(args.audit)
    try:
        if database:
            res = run_table(job, args.inputs[0], args.table, into=args.into, keyring=keyring,
                            batch_size=args.batch_size, progress=bar, audit=audit,
                            actor="finprivacy bulk run")
            failed = sum(res.failures.values())
            state = "done by an earlier run" if res.skipped else f"{res.rows} rows"
            kept = " (kept as stored)" if failed and args.into is None else ""
            emit(args, {"job": job.name, "table": res.table, "target": res.target,
                        "rows": res.rows, "failures": failed, "resumed": res.resumed,
                        "skipped": res.skipped},
                 f"{job.name}: {res.table} -> {res.target}: {state}, {failed} values "
                 f"failed{kept}")
            return 0
        if provider is not None:
            results = run_job(job, args.inputs, args.out, keyring_file=args.keyring,
                              provider=provider, workers=args.workers, progress=bar,
                              audit=audit, actor="finprivacy bulk run",
                              output_format=args.output_format)
        else:
            results = run_job(job, args.inputs, args.out, keyring=keyring, progress=bar,
                              audit=audit, actor="finprivacy bulk run",
                              output_format=args.output_format)
    finally:
        bar.close()
        if audit is not None:
            audit.close()
    rows = sum(r.rows for r in results)
    failed = sum(sum(r.failures.values()) for r in results)
    skipped = sum(r.skipped for r in results)
    emit(args, {"job": job.name, "partitions": len(results), "rows": rows,
                "failures": failed, "skipped": skipped},
         f"{job.name}: {len(results)} partitions ({skipped} done before), {rows} rows, "
         f"{failed} values failed")
    return 0
