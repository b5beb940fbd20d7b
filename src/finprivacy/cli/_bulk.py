"""``finprivacy bulk run JOB.toml PARTITION… --out DIR``: run a bulk job locally."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..bulk import PartitionResult, load_job, run_job
from ..crypto import EnvironmentProvider, Keyring
from ._common import add_format_option, add_passphrase_options, emit, read_passphrase


def register(sub: Any) -> None:
    """Add the ``bulk`` subcommand."""
    bulk = sub.add_parser("bulk", help="per-column jobs over Parquet/CSV partitions")
    bsub = bulk.add_subparsers(dest="bulk_command", metavar="ACTION", required=True)
    run = bsub.add_parser("run", help="run a job; resumes where a killed run stopped")
    run.add_argument("job", help="the job file (TOML)")
    run.add_argument("inputs", nargs="+", help="partitions: .parquet or .csv files")
    run.add_argument("--out", required=True, help="output folder (manifests inside)")
    run.add_argument("--keyring", help="keyring file (for encrypt/decrypt/blind_index)")
    run.add_argument("--kek-env", metavar="VAR",
                     help="the keyring is sealed by the key in this environment variable "
                     "(what lets --workers > 1 open it in each worker)")
    run.add_argument("--workers", type=int, default=1)
    add_passphrase_options(run)
    add_format_option(run)
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    job = load_job(args.job)

    def progress(r: PartitionResult) -> None:
        state = "done before" if r.skipped else f"{r.rows} rows"
        sys.stderr.write(f"bulk: {r.input}: {state}\n")

    if args.kek_env:
        provider = EnvironmentProvider(args.kek_env)
        results = run_job(job, args.inputs, args.out, keyring_file=args.keyring,
                          provider=provider, workers=args.workers, progress=progress)
    else:
        keyring = (Keyring.load(args.keyring, passphrase=read_passphrase(args))
                   if args.keyring else None)
        results = run_job(job, args.inputs, args.out, keyring=keyring, progress=progress)
    rows = sum(r.rows for r in results)
    failed = sum(sum(r.failures.values()) for r in results)
    emit(args, {"job": job.name, "partitions": len(results), "rows": rows,
                "failures": failed, "skipped": sum(r.skipped for r in results)},
         f"{job.name}: {len(results)} partitions, {rows} rows, {failed} values failed")
    return 0
