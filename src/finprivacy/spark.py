"""The bulk jobs on Apache Spark (extra ``spark``): ``apply(df, job, ...)``.

The same per-batch function as the local runner (:func:`finprivacy.bulk.apply_batch`)
runs inside ``DataFrame.mapInArrow`` on the executors, so deterministic actions (mask,
redact, blind index, tokenize, decrypt) give the same output as locally. Keys reach the
executors by provider: each Python worker opens ``keyring_file`` with ``provider`` (an
environment variable set on the executors, AWS KMS, PKCS#11) once, and keeps it for its
batches; no key material is shipped in the task closure::

    out = finprivacy.spark.apply(df, load_job("seal.toml"),
                                 keyring_file="/etc/books/keyring.json",
                                 provider=EnvironmentProvider("FINPRIVACY_KEK"))
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .bulk import Job, apply_batch
from .crypto import KeyProvider, Keyring
from .errors import ConfigurationError, InvalidInputError

__all__ = ["apply", "output_schema"]

_STRING_ACTIONS = frozenset({"mask", "redact", "encrypt", "reencrypt", "decrypt", "tokenize"})
_keyrings: dict[tuple[str, str], Keyring] = {}


def output_schema(schema: Any, job: Job) -> Any:
    """Return the Spark schema ``job`` makes from ``schema`` (a ``StructType``)."""
    from pyspark.sql.types import StringType, StructField, StructType

    by_column = {a.column: a for a in job.actions}
    missing = [c for c in by_column if c not in schema.fieldNames()]
    if missing:
        raise InvalidInputError(f"the job names columns the data does not have: {missing}")
    from pyspark.sql.types import ArrayType, MapType

    fields = []
    extra = []
    for f in schema.fields:
        action = by_column.get(f.name)
        if action is not None and action.action not in ("keep", "drop") and isinstance(
                f.dataType, StructType | ArrayType | MapType):
            raise InvalidInputError(
                f"column {f.name!r} is {f.dataType.simpleString()}, not a scalar: select "
                "a struct's fields as columns first (df.select('outer.inner'))")
        if action is None or action.action == "keep":
            fields.append(f)
        elif action.action == "drop":
            continue
        elif action.action == "blind_index":
            fields.append(f)
            extra.append(StructField(action.target, StringType(), True))
        elif action.action in _STRING_ACTIONS:
            fields.append(StructField(f.name, StringType(), True))
    return StructType(fields + extra)


def _keyring(keyring_file: str | None, provider: KeyProvider | None) -> Keyring | None:
    if keyring_file is None:
        return None
    key = (keyring_file, type(provider).__name__ + repr(getattr(provider, "var_name", "")))
    found = _keyrings.get(key)
    if found is None:
        found = _keyrings[key] = Keyring.load(keyring_file, provider=provider)
    return found


def apply(df: Any, job: Job, *, keyring_file: str | None = None,
          provider: KeyProvider | None = None) -> Any:
    """Run ``job`` over a Spark ``DataFrame``; return the transformed ``DataFrame``.

    Row failures become nulls (as in the local runner); a column the data lacks raises
    :class:`~finprivacy.errors.InvalidInputError` before any task runs.
    """
    needs_key = any(a.action in ("encrypt", "reencrypt", "decrypt", "blind_index")
                    for a in job.actions)
    if needs_key and keyring_file is None:
        raise ConfigurationError("this job needs keys: give keyring_file= and provider= "
                                 "(each executor opens the keyring itself)")
    schema = output_schema(df.schema, job)
    actions = job.actions

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        kr = _keyring(keyring_file, provider)
        for batch in batches:
            yield apply_batch(batch, actions, keyring=kr).batch

    return df.mapInArrow(run, schema)
