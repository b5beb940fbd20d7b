"""``Secret[T]``: a value that refuses to show itself.

A :class:`Secret` wraps a sensitive value (a card number, an ID number, a key).
Its ``repr`` and ``str`` are masked, equality is constant-time, pickling and
copying to text are refused, and the value comes out only through the explicit,
greppable :meth:`Secret.reveal`.

>>> s = Secret("6222020200112233445")
>>> s
Secret('**********')
>>> s.reveal()
'6222020200112233445'
"""

from __future__ import annotations

import hmac
from typing import Any, Generic, NoReturn, TypeVar

from .errors import InvalidInputError

__all__ = ["Secret"]

T = TypeVar("T")

_MASK = "**********"


class Secret(Generic[T]):
    """A wrapper that hides its value from repr, str, logs and pickles."""

    __slots__ = ("__value",)

    def __init__(self, value: T) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        self.__value: T = value

    def reveal(self) -> T:
        """Return the wrapped value. Every call site is a place a secret leaves its wrapper."""
        return self.__value

    def __repr__(self) -> str:
        return f"Secret({_MASK!r})"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, format_spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return _ct_equal(self.__value, other.reveal())

    def __hash__(self) -> int:
        # Equal secrets must hash equally; hashing the type only keeps the value out.
        return hash(type(self.__value))

    def __bool__(self) -> bool:
        return bool(self.__value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("Secret values cannot be pickled; call .reveal() explicitly")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("Secret values cannot be pickled; call .reveal() explicitly")

    def __getstate__(self) -> NoReturn:
        raise TypeError("Secret values cannot be pickled; call .reveal() explicitly")

    def __copy__(self) -> Secret[T]:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret[T]:
        return self


def _ct_equal(a: object, b: object) -> bool:
    """Compare two values in constant time when they are text or bytes."""
    if isinstance(a, str) and isinstance(b, str):
        return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
    if isinstance(a, bytes | bytearray) and isinstance(b, bytes | bytearray):
        return hmac.compare_digest(bytes(a), bytes(b))
    if type(a) is not type(b):
        return False
    if isinstance(a, int | float | bool | type(None)):
        return a == b
    raise InvalidInputError(
        f"Secret equality is defined for str, bytes and numbers, not {type(a).__name__}"
    )
