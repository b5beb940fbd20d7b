"""JSON-ready values from a shaped result, without calling any serialiser.

Web integrations (FastAPI, Django) answer shaped results with :func:`jsonable`: it
walks models, dataclasses and containers itself, so a pydantic ``fp.Encrypted`` field
is never dumped into its token, and anything that still looks like a token is masked.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import decimal
import enum
import uuid
from collections.abc import Mapping
from typing import Any

from ..crypto import is_token
from ..secret import Secret

__all__ = ["jsonable"]

_FULL_MASK = "****"
_SCALARS = (bool, int, float, type(None))


def _json_scalar(value: object) -> object:
    if isinstance(value, str):
        # A token would tell the client which key sealed what, and it is not the
        # client's to hold: never send one.
        return _FULL_MASK if value[:2] == "fp" and is_token(value) else value
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Secret):
        return _json_scalar(value.reveal())
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, enum.Enum):
        return _json_scalar(value.value)
    return _FULL_MASK  # something this walk cannot vouch for is not sent


def jsonable(value: Any) -> Any:
    """Turn a shaped result into JSON-ready values without calling any serialiser.

    Pydantic models (by field name), dataclasses, named tuples and mappings become
    dicts; lists, tuples and sets lists; a :class:`~finprivacy.secret.Secret` its
    value (shaping has already masked what must be masked); dates ISO 8601,
    decimals and UUIDs strings, bytes base64. A string shaped like a finprivacy
    token, and any value of a type not listed, becomes ``"****"``.
    """
    tp = type(value)
    if tp is str:
        return _FULL_MASK if value[:2] == "fp" and is_token(value) else value
    if tp is dict:  # the common case: a row
        return {k if type(k) is str else str(k): jsonable(v) for k, v in value.items()}
    if tp is int or tp is float or tp is bool or value is None:
        return value
    if tp is list:
        return [jsonable(item) for item in value]
    fields = getattr(tp, "model_fields", None)
    if isinstance(fields, Mapping) and hasattr(value, "model_copy"):
        return {name: jsonable(getattr(value, name, None)) for name in fields}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {name: jsonable(item) for name, item in zip(value._fields, value, strict=True)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return _json_scalar(value)


