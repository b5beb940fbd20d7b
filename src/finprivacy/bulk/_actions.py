"""Per-batch actions over ``pyarrow.RecordBatch`` columns, chosen by a declarative job.

Each action is a pure function of one column's values (and the job's keys): the same
batch always gives the same output for the deterministic ones (mask, redact, blind
index, tokenize), so a batch can run in any process, on any machine, in any order.
A value an action cannot take (a token under a destroyed key, a number where a card is
expected) is counted as a row failure and becomes null — the job never stops halfway.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..crypto import BlindIndex, CardTokenizer, Keyring
from ..errors import ConfigurationError, FinPrivacyError, InvalidInputError
from ..masking import mask, redact_text

__all__ = ["ACTIONS", "BatchResult", "ColumnAction", "apply_batch"]

ACTIONS = ("mask", "redact", "encrypt", "reencrypt", "decrypt", "blind_index", "tokenize",
           "keep", "drop")
"""What a job may do to a column."""


@dataclasses.dataclass(frozen=True, slots=True)
class ColumnAction:
    """One column's treatment: ``action`` and its options."""

    column: str
    action: str
    kind: str = ""
    """The masking kind (``mask``), e.g. ``cn_id``."""
    context: str = ""
    """The context (``encrypt``, ``reencrypt``, ``decrypt``, ``blind_index``, ``tokenize``:
    the card token key is derived from the keyring for it)."""
    output: str = ""
    """For ``blind_index``: the column to write the index into (default ``<column>_bidx``)."""

    @property
    def target(self) -> str:
        """The column the action writes (``<column>_bidx`` or ``output`` for blind_index)."""
        if self.action == "blind_index":
            return self.output or f"{self.column}_bidx"
        return self.column

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ConfigurationError(f"column {self.column!r}: unknown action "
                                     f"{self.action!r} (one of {', '.join(ACTIONS)})")
        if self.action == "mask" and not self.kind:
            raise ConfigurationError(f"column {self.column!r}: mask needs kind=")
        if self.action in ("encrypt", "reencrypt", "decrypt", "blind_index", "tokenize") and (
                not self.context):
            raise ConfigurationError(f"column {self.column!r}: {self.action} needs context=")


@dataclasses.dataclass(frozen=True, slots=True)
class BatchResult:
    """A transformed batch and how many values each column could not take."""

    batch: Any
    """The output ``pyarrow.RecordBatch``."""
    failures: Mapping[str, int]


def _need_keyring(action: ColumnAction, keyring: Keyring | None) -> Keyring:
    if keyring is None:
        raise ConfigurationError(f"column {action.column!r}: {action.action} needs a "
                                 "keyring")
    return keyring


def _card_tokenizer(action: ColumnAction, keyring: Keyring | None,
                    tokenizer: CardTokenizer | None) -> CardTokenizer:
    if tokenizer is not None:
        return tokenizer
    # A format-preserving card token key of its own, derived for this context.
    _, key = _need_keyring(action, keyring).derive_key(
        b"finprivacy/bulk/card-tokenizer/" + action.context.encode())
    return CardTokenizer(key)


def _mapper(action: ColumnAction, keyring: Keyring | None) -> Callable[[str], str | None]:
    def need_keyring() -> Keyring:
        return _need_keyring(action, keyring)

    if action.action == "mask":
        return lambda v: mask(v, kind=action.kind)
    if action.action == "redact":
        return redact_text
    if action.action == "encrypt":
        kr = need_keyring()
        return lambda v: kr.encrypt(v, context=action.context)
    if action.action == "reencrypt":
        kr = need_keyring()
        return lambda v: kr.reencrypt(v, context=action.context) if kr.needs_reencrypt(v) else v
    if action.action == "decrypt":
        kr = need_keyring()
        return lambda v: kr.decrypt_str(v, context=action.context)
    if action.action == "blind_index":
        index = BlindIndex(need_keyring(), action.context, bits=32,
                           normalize=("nfkc", "strip_spaces", "upper"))
        return index.compute
    raise ConfigurationError(f"no mapper for {action.action}")  # pragma: no cover


def _flatten(batch: Any) -> Any:
    import pyarrow as pa

    table = pa.Table.from_batches([batch])
    while any(pa.types.is_struct(t) for t in table.schema.types):
        table = table.flatten()
    return table.combine_chunks().to_batches()[0] if table.num_rows else (
        pa.RecordBatch.from_pylist([], schema=table.schema))


def apply_batch(batch: Any, actions: Sequence[ColumnAction], *,
                keyring: Keyring | None = None,
                tokenizer: CardTokenizer | None = None) -> BatchResult:
    """Apply ``actions`` to a ``pyarrow.RecordBatch``; other columns pass through.

    A job may name a struct's fields as ``outer.inner``: the batch's structs are then
    flattened into such columns in the output. Raises
    :class:`~finprivacy.errors.InvalidInputError` naming a column the batch does not
    have, or a list, map or struct column given an action other than ``keep`` or
    ``drop`` (before anything is computed).
    """
    import pyarrow as pa

    names = batch.schema.names
    if any(a.column not in names for a in actions) and any(
            pa.types.is_struct(t) for t in batch.schema.types):
        # The job reaches into a struct (``client.sfzh``): its fields become columns.
        batch = _flatten(batch)
        names = batch.schema.names
    missing = [a.column for a in actions if a.column not in names]
    if missing:
        raise InvalidInputError(f"the job names columns the data does not have: {missing}")
    for a in actions:
        kind = batch.schema.field(a.column).type
        if a.action not in ("keep", "drop") and pa.types.is_nested(kind):
            raise InvalidInputError(
                f"column {a.column!r} is {kind}, not a scalar: name a struct's fields as "
                f"{a.column}.<field>; lists and maps cannot be treated value by value")
    by_column = {a.column: a for a in actions}
    arrays: list[Any] = []
    fields: list[Any] = []
    failures: dict[str, int] = {}
    extra: list[tuple[str, Any]] = []
    for name, column in zip(names, batch.columns, strict=True):
        action = by_column.get(name)
        if action is None or action.action == "keep":
            arrays.append(column)
            fields.append(batch.schema.field(name))
            continue
        if action.action == "drop":
            continue
        out: list[str | None] = []
        bad = 0
        if action.action == "tokenize":
            # The whole column at once: each FF1 round runs over the batch.
            values = [v if v is None or isinstance(v, str) else str(v)
                      for v in column.to_pylist()]
            out = _card_tokenizer(action, keyring, tokenizer).tokenize_many(values)
            bad = sum(1 for v, t in zip(values, out, strict=True) if t is None and v is not None)
        else:
            fn = _mapper(action, keyring)
            for value in column.to_pylist():
                if value is None:
                    out.append(None)
                    continue
                try:
                    out.append(fn(value if isinstance(value, str) else str(value)))
                except (FinPrivacyError, ValueError, TypeError):
                    out.append(None)
                    bad += 1
        if bad:
            failures[name] = bad
        result = pa.array(out, type=pa.string())
        if action.action == "blind_index":
            arrays.append(column)
            fields.append(batch.schema.field(name))
            extra.append((action.target, result))
        else:
            arrays.append(result)
            fields.append(pa.field(name, pa.string()))
    for name, result in extra:
        arrays.append(result)
        fields.append(pa.field(name, pa.string()))
    return BatchResult(pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields)), failures)
