"""Shared type aliases used across finprivacy's layers."""

from __future__ import annotations

import os
from typing import Literal, TypeAlias

__all__ = ["JSONValue", "PathLike", "Sensitivity", "StrOrBytes"]

StrOrBytes: TypeAlias = str | bytes
"""A value that can be encrypted: text or raw bytes."""

PathLike: TypeAlias = str | os.PathLike[str]
"""A filesystem path."""

Sensitivity: TypeAlias = Literal["C1", "C2", "C3"]
"""Data sensitivity levels in the sense of JR/T 0171-2020 (C3 is the most sensitive)."""

JSONValue: TypeAlias = (
    "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
)
"""A value that survives ``json.dumps``/``json.loads`` unchanged."""
