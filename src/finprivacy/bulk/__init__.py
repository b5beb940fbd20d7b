"""Bulk jobs over Arrow batches (issue 18, first part): ``finprivacy.bulk``.

Per-batch, per-column actions — mask, redact free text, encrypt, re-encrypt under the
primary key, decrypt for an authorised export, blind-index, tokenize cards, keep, drop
— chosen by a declarative job file, and a local runner over Parquet/CSV partitions with
a process pool, manifests and resume (extra ``parquet``), and over SQL tables — in
place in checkpointed batches, or into a new table (:func:`run_table`)::

    job = load_job("encrypt-exports.toml")
    run_job(job, sorted(Path("exports").glob("*.parquet")), "encrypted/",
            keyring_file="keyring.json", provider=EnvironmentProvider(), workers=2)
"""

from __future__ import annotations

from ._actions import ACTIONS as ACTIONS
from ._actions import BatchResult as BatchResult
from ._actions import ColumnAction as ColumnAction
from ._actions import apply_batch as apply_batch
from ._progress import Progress as Progress
from ._runner import FORMATS as FORMATS
from ._runner import Job as Job
from ._runner import PartitionResult as PartitionResult
from ._runner import load_job as load_job
from ._runner import run_job as run_job
from ._runner import suggest_job as suggest_job
from ._sql import PROGRESS_TABLE as PROGRESS_TABLE
from ._sql import TableResult as TableResult
from ._sql import run_table as run_table

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "ACTIONS",
    "BatchResult",
    "ColumnAction",
    "FORMATS",
    "Job",
    "PROGRESS_TABLE",
    "PartitionResult",
    "Progress",
    "TableResult",
    "apply_batch",
    "load_job",
    "run_job",
    "run_table",
    "suggest_job",
]
