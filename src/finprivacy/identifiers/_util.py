"""Shared helpers for the identifier modules: width folding, cleaning, typed errors.

Full-width forms (``０``–``９``, ``Ａ``–``Ｚ``, ``－``, ``＋``, ``＠``, ``．``, brackets),
the ideographic space U+3000, the no-break space and the Unicode hyphens are folded
one character for one character, so an offset into the folded text is an offset into
the original.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NoReturn

from ..errors import (
    InvalidChecksumError,
    InvalidComponentError,
    InvalidFormatError,
    InvalidIdentifierError,
    InvalidLengthError,
)

__all__ = ["clean", "fail", "fold_width", "needs_folding", "validator"]

# Only the characters that can be part of an identifier are folded: full-width digits
# and letters, ＋ ＠ － ． （ ）, U+3000, NBSP and the Unicode hyphens. Full-width
# commas, colons and stops are left alone: they are punctuation around an identifier.
_FOLD: dict[int, int] = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)}  # ０-９
_FOLD.update({c: c - 0xFEE0 for c in range(0xFF21, 0xFF3B)})  # Ａ-Ｚ
_FOLD.update({c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)})  # ａ-ｚ
_FOLD.update({0xFF0B: 0x2B, 0xFF20: 0x40, 0xFF0D: 0x2D, 0xFF0E: 0x2E, 0xFF08: 0x28,
              0xFF09: 0x29, 0x3000: 0x20, 0x00A0: 0x20, 0x2010: 0x2D, 0x2011: 0x2D,
              0x2012: 0x2D, 0x2013: 0x2D, 0x2212: 0x2D})
_NEEDS_FOLD = re.compile("[\u00a0\u2010-\u2013\u2212\u3000\uff08\uff09\uff0b\uff0d\uff0e"
                         "\uff10-\uff19\uff20-\uff3a\uff41-\uff5a]")


def needs_folding(text: str) -> bool:
    """Return whether ``text`` holds a full-width or special-space character."""
    return _NEEDS_FOLD.search(text) is not None


def fold_width(text: str) -> str:
    """Fold full-width ASCII, U+3000, NBSP and Unicode hyphens to ASCII, length-preserving.

    >>> fold_width("卡号６２２２　０２０２")
    '卡号6222 0202'
    """
    if _NEEDS_FOLD.search(text) is None:
        return text
    return text.translate(_FOLD)


def clean(value: object, kind: str, strip: str = " -") -> str:
    """Fold widths, drop the ``strip`` characters and surrounding space; check the type."""
    if not isinstance(value, str):
        raise InvalidFormatError(
            f"{kind} must be given as str, not {type(value).__name__}", kind=kind)
    folded = fold_width(value)
    for ch in strip:
        folded = folded.replace(ch, "")
    return folded.strip()


_ERRORS: dict[str, type[InvalidIdentifierError]] = {
    "length": InvalidLengthError,
    "format": InvalidFormatError,
    "checksum": InvalidChecksumError,
    "component": InvalidComponentError,
}


def fail(kind: str, check: str, detail: str) -> NoReturn:
    """Raise the typed error for ``check`` ('length', 'format', 'checksum', 'component').

    The message names the identifier kind and the failed check, never the value.
    """
    raise _ERRORS[check](f"invalid {kind}: {detail}", kind=kind) from None


def validator(validate: Callable[[str], str]) -> Callable[[str], str | None]:
    """Turn a module's raising ``validate`` into a recognizer's (``None`` when invalid)."""
    def check(candidate: str) -> str | None:
        try:
            return validate(candidate)
        except InvalidIdentifierError:
            return None

    check.__doc__ = f"``{validate.__module__}.validate``, ``None`` when it raises."
    return check
