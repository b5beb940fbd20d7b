"""United States Social Security number (SSA, 20 CFR §422.103; SSA POMS RM 10201).

Nine digits, written ``AAA-GG-SSSS``: the area is never 000, 666 or 900–999, the
group never 00 and the serial never 0000. Numbers the SSA voided after they were
published (078-05-1120, 219-09-9999, 457-55-5462) do not validate.

>>> validate("536-90-4399")
'536904399'
>>> is_valid("666-12-3456")
False
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._finding import Finding
from ._registry import Recognizer, scan_with
from ._util import clean, fail, fold_width, validator

__all__ = ["KIND", "RECOGNIZER", "compact", "find", "is_valid", "validate"]

#: The kind name used by scan, mask and redact.
KIND = "us_ssn"

_VOID = frozenset(("078051120", "219099999", "457555462"))


# Nine digits, or AAA-GG-SSSS with one dash or space in both places (after folding).
_WRITTEN = re.compile(r"[0-9]{9}|[0-9]{3}([- ])[0-9]{2}\1[0-9]{4}")


def compact(number: str) -> str:
    """Strip spaces and dashes and fold full-width digits.

    Separators are accepted only where the SSA writes them (``AAA-GG-SSSS``);
    ``1112-23333`` is refused by :func:`validate`.
    """
    return clean(number, KIND)


def _problem(value: str) -> tuple[str, str] | None:
    if not value.isdigit() or not value.isascii():
        return "format", "only digits, spaces and dashes are allowed"
    if len(value) != 9:
        return "length", "must have 9 digits"
    area, group, serial = value[:3], value[3:5], value[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return "component", "the area, group or serial number is never issued"
    if value in _VOID:
        return "component", "the number was voided by the SSA"
    return None


def validate(number: str) -> str:
    """Return the nine digits if ``number`` is a valid SSN, else raise."""
    value = compact(number)
    written = fold_width(number).strip()
    if len(value) == 9 and value.isdigit() and _WRITTEN.fullmatch(written) is None:
        fail(KIND, "format", "separators belong only between area, group and serial "
             "(AAA-GG-SSSS)")
    problem = _problem(value)
    if problem is not None:
        fail(KIND, *problem)
    return value


def is_valid(number: str) -> bool:
    """Return whether ``number`` is a valid Social Security number."""
    try:
        validate(number)
    except ValueError:
        return False
    return True


def find(text: str) -> Iterator[Finding]:
    """Yield the Social Security numbers in ``text`` (see :func:`finprivacy.scan`)."""
    yield from scan_with(text, (KIND,))


#: How the scanner finds this kind (see :class:`~finprivacy.identifiers.Recognizer`):
#: the candidate pattern, the validation, the context words that raise confidence and
#: the default masking preset. The built-in scanner finds all built-in kinds in one pass.
RECOGNIZER = Recognizer(
    KIND, r"\d{3}-\d{2}-\d{4}|\d{9}", validator(validate),
    context=("ssn", "social security", "social security number"),
    confidence=0.8, mask="last4")
