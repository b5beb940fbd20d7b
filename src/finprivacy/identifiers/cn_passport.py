"""People's Republic of China passport numbers (ordinary, diplomatic, service).

Ordinary passports: ``E`` + 8 digits, ``E`` + a letter (not I or O) + 7 digits
(e-passports since 2012) or the older ``G`` + 8 digits; diplomatic, service and
public-affairs e-passports: ``DE``, ``SE`` or ``PE`` + 7 digits. The number has no
check digit (the MRZ check digits of ICAO Doc 9303 cover the printed page, not the
number alone), so the scanner gives bare matches a lower confidence than matches
after a context word (护照, passport).

>>> validate("e12345678")
'E12345678'
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._finding import Finding
from ._registry import Recognizer, scan_with
from ._util import clean, fail, validator

__all__ = ["KIND", "RECOGNIZER", "compact", "find", "is_valid", "validate"]

#: The kind name used by scan, mask and redact.
KIND = "cn_passport"

_PATTERN = re.compile(r"[EG]\d{8}|E[A-HJ-NP-Z]\d{7}|[DSP]E\d{7}", re.ASCII)


def compact(number: str) -> str:
    """Strip spaces and dashes, fold widths and upper-case."""
    return clean(number, KIND).upper()


def validate(number: str) -> str:
    """Return the compact number if it has a valid passport number shape, else raise."""
    value = compact(number)
    if len(value) != 9:
        fail(KIND, "length", "must have 9 characters")
    if not value.isascii() or _PATTERN.fullmatch(value) is None:
        fail(KIND, "format", "must be E/G + 8 digits, E + letter + 7 digits or DE/SE/PE + 7")
    return value


def is_valid(number: str) -> bool:
    """Return whether ``number`` has the shape of a PRC passport number."""
    try:
        validate(number)
    except ValueError:
        return False
    return True


def find(text: str) -> Iterator[Finding]:
    """Yield the passport numbers in ``text`` (see :func:`finprivacy.scan`)."""
    yield from scan_with(text, (KIND,))


#: How the scanner finds this kind (see :class:`~finprivacy.identifiers.Recognizer`):
#: the candidate pattern, the validation, the context words that raise confidence and
#: the default masking preset. The built-in scanner finds all built-in kinds in one pass.
RECOGNIZER = Recognizer(
    KIND, _PATTERN, validator(validate),
    context=("护照号码", "护照号", "护照", "passport"),
    confidence=0.6, mask="first1_last3")
