"""How typed values become the text an encrypted column seals, and back.

Shared by the SQLAlchemy and Django column types: a date, an amount, a count or a JSON
document is written as canonical text and sealed into an ``fp1`` token; loading parses
it back. ``check`` refuses what the type must not take (a float amount, a bool count, a
datetime for a date) with a message that names the column, never the value.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import json
from collections.abc import Callable
from typing import Any

from ..errors import InvalidInputError
from ..secret import Secret

__all__ = ["BYTES", "DATE", "DECIMAL", "INTEGER", "JSON", "TEXT", "ValueCodec"]


@dataclasses.dataclass(frozen=True, slots=True)
class ValueCodec:
    """One value type of an encrypted column: what it takes, and its text form."""

    name: str
    """What the column takes, for messages (``"a date"``)."""
    types: tuple[type, ...]
    """The Python types accepted."""
    encode: Callable[[Any], str | bytes]
    """Value to the text (or bytes) that is sealed."""
    decode: Callable[[str | bytes], Any]
    """Sealed text back to the value; raises ``ValueError`` on text of another type."""
    takes_bool: bool = False
    refuse: Callable[[Any], str] | None = None
    """Extra refusal: returns why a value of an accepted type is refused, or ``""``."""

    def check(self, value: Any, context: str) -> Any:
        """Return the plain value (a :class:`Secret` revealed) if the column takes it."""
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, self.types) or (isinstance(value, bool)
                                                  and not self.takes_bool):
            raise InvalidInputError(
                f"column with context {context!r} takes {self.name}, "
                f"not {type(value).__name__}")
        why = self.refuse(value) if self.refuse is not None else ""
        if why:
            raise InvalidInputError(f"column with context {context!r} takes {why}")
        return value

    def text(self, value: Any, context: str) -> str | bytes:
        """Check ``value`` and return the text to seal; errors name the column."""
        plain = self.check(value, context)
        try:
            return self.encode(plain)
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"column with context {context!r} takes {self.name} "
                f"({type(exc).__name__})") from None

    def seal(self, keyring: Any, value: Any, *, column: str, context: str) -> str:
        """Check ``value`` for the column named ``column`` and encrypt it under ``context``.

        ``column`` is the column's own context (for messages); ``context`` may add the
        row (:func:`~finprivacy.crypto.record_context`).
        """
        return str(keyring.encrypt(self.text(value, column), context=context))

    def open(self, keyring: Any, token: str, *, column: str, context: str) -> Secret[Any]:
        """Decrypt ``token`` (made by :meth:`seal`) into a :class:`Secret` of the value."""
        if self is BYTES:
            return Secret(keyring.decrypt_bytes(token, context=context))
        return Secret(self.parse(keyring.decrypt_str(token, context=context), column))

    def parse(self, text: str | bytes, context: str) -> Any:
        """Decode stored text, or raise :class:`InvalidInputError` naming the column."""
        try:
            return self.decode(text)
        except (ValueError, TypeError, decimal.InvalidOperation):
            raise InvalidInputError(
                f"column with context {context!r} holds a value that is not "
                f"{self.name}") from None


def _same(value: Any) -> Any:
    return value


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False)


def _as_text(data: str | bytes) -> str:
    return data if isinstance(data, str) else data.decode("utf-8")


TEXT = ValueCodec("str", (str,), _same, _same)
"""``str``, sealed as is."""
BYTES = ValueCodec("bytes", (bytes,), _same,
                   lambda d: d if isinstance(d, bytes) else d.encode("utf-8"))
"""``bytes``, sealed as is."""
DATE = ValueCodec(
    "a date (not a datetime)", (_dt.date,), lambda v: v.isoformat(),
    lambda t: _dt.date.fromisoformat(_as_text(t)),
    refuse=lambda v: "a date, not a datetime" if isinstance(v, _dt.datetime) else "")
"""``datetime.date`` as ISO 8601 (``datetime`` refused)."""
DECIMAL = ValueCodec(
    "a Decimal or an int", (decimal.Decimal, int), str,
    lambda t: decimal.Decimal(_as_text(t)),
    refuse=lambda v: "a finite amount" if isinstance(v, decimal.Decimal)
    and not v.is_finite() else "")
"""Exact amounts: ``Decimal`` (scale kept) or ``int``; no float, NaN or infinity."""
INTEGER = ValueCodec("an int", (int,), str, lambda t: int(_as_text(t)))
"""``int`` (``bool`` refused)."""
JSON = ValueCodec("a JSON value", (dict, list, str, int, float, bool), _json_text,
                  lambda t: json.loads(t), takes_bool=True)
"""A JSON document as canonical JSON (keys sorted, no NaN)."""
