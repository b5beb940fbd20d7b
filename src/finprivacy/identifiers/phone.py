"""International telephone numbers in E.164 form (ITU-T Recommendation E.164).

A ``+`` (or the international prefix ``00``), a country calling code of 1–3 digits
from the ITU list, and a national number, 8 to 15 digits in all. Spaces, dashes,
dots and brackets between the digits are allowed. Numbers with country code 86 are
also mainland numbers: the scanner reports those as ``cn_phone``.

>>> validate("+44 20 7946 0958")
'+442079460958'
>>> country_code("+1 (415) 555-2671")
'1'
"""

from __future__ import annotations

from collections.abc import Iterator

from ._finding import Finding
from ._registry import Recognizer, scan_with
from ._util import clean, fail, validator

__all__ = ["KIND", "RECOGNIZER", "compact", "country_code", "find", "is_valid", "validate"]

#: The kind name used by scan, mask and redact.
KIND = "phone"

_ONE = frozenset("17")
_TWO = frozenset(str(c) for c in (
    20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54,
    55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98))
# Two-digit prefixes of the three-digit country codes (ITU-T E.164 assigned list).
_THREE = frozenset(str(c) for c in (
    21, 22, 23, 24, 25, 26, 29, 35, 37, 38, 42, 50, 59, 67, 68, 69, 80, 85, 87, 88, 96, 97, 99))


def compact(number: str) -> str:
    """Strip separators, fold widths and write the international prefix as ``+``."""
    value = clean(number, KIND, " -.()")
    if value.startswith("00"):
        value = "+" + value[2:]
    return value


def _cc(digits: str) -> str | None:
    if digits[:1] in _ONE:
        return digits[:1]
    if digits[:2] in _TWO:
        return digits[:2]
    if digits[:2] in _THREE:
        return digits[:3]
    return None


def _problem(value: str) -> tuple[str, str] | None:
    if not value.startswith("+"):
        return "format", "an E.164 number starts with + or 00"
    digits = value[1:]
    if not digits.isdigit() or not digits.isascii():
        return "format", "only digits and separators may follow the +"
    if not 8 <= len(digits) <= 15:
        return "length", "an E.164 number has 8 to 15 digits"
    if _cc(digits) is None:
        return "component", "the country calling code is not assigned"
    return None


def validate(number: str) -> str:
    """Return ``+`` and the digits if ``number`` is a valid E.164 number, else raise."""
    value = compact(number)
    problem = _problem(value)
    if problem is not None:
        fail(KIND, *problem)
    return value


def is_valid(number: str) -> bool:
    """Return whether ``number`` is a valid E.164 number."""
    try:
        validate(number)
    except ValueError:
        return False
    return True


def country_code(number: str) -> str:
    """Return the country calling code of a valid number, without the ``+``."""
    value = validate(number)
    code = _cc(value[1:])
    assert code is not None  # noqa: S101 - validate() checked it
    return code


def find(text: str) -> Iterator[Finding]:
    """Yield the international phone numbers in ``text`` (see :func:`finprivacy.scan`)."""
    yield from scan_with(text, (KIND,))


#: How the scanner finds this kind (see :class:`~finprivacy.identifiers.Recognizer`):
#: the candidate pattern, the validation, the context words that raise confidence and
#: the default masking preset. The built-in scanner finds all built-in kinds in one pass.
RECOGNIZER = Recognizer(
    KIND, r"\+\d(?:[ -]?\d){6,14}", validator(validate),
    context=("电话", "手机", "联系方式", "tel", "phone", "telephone", "mobile", "cell", "fax",
             "whatsapp", "call", "contact", "ph"),
    confidence=0.85, mask="cc_last4")
