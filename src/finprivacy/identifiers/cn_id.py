"""Chinese resident identity card number (居民身份证号码), GB 11643-1999.

The 18-character number is a 6-digit address code (province, city, county), an
8-digit birth date, a 3-digit sequence number (odd for men, even for women) and an
ISO 7064 MOD 11-2 check character (``0``–``9`` or ``X``). The legacy 15-digit form
(issued before 1999) has a 2-digit year and no check character.

Validation checks the length, the characters, the province (the first two digits:
11–15, 21–23, 31–37, 41–46, 50–54, 61–65, 71, 81–83), the birth date (a real day,
not before 1890, not after today according to the injected clock) and the check
character. Errors never echo the number.

>>> validate("11010519491231002X")
'11010519491231002X'
>>> is_valid("11010519491231002X")
True
>>> upgrade("110105491231002")
'11010519491231002X'
"""

from __future__ import annotations

import calendar
import datetime as _dt
from collections.abc import Iterator

from ..clock import Clock, SystemClock
from ._checksums import gb11643_check
from ._finding import Finding
from ._registry import Recognizer, scan_with
from ._util import clean, fail, validator

__all__ = [
    "KIND",
    "PROVINCES",
    "RECOGNIZER",
    "birth_date",
    "compact",
    "find",
    "is_valid",
    "upgrade",
    "validate",
]

#: The kind name used by scan, mask and redact.
KIND = "cn_id"

#: Province-level administrative division codes (GB/T 2260): the first two digits.
PROVINCES = frozenset(
    [str(c) for c in range(11, 16)] + [str(c) for c in range(21, 24)]
    + [str(c) for c in range(31, 38)] + [str(c) for c in range(41, 47)]
    + [str(c) for c in range(50, 55)] + [str(c) for c in range(61, 66)]
    + ["71", "81", "82", "83"]
)

_EARLIEST = "18900101"
# Every month-day of a leap year as "MMDD"; 0229 is checked against the year.
_MONTH_DAYS = frozenset(f"{m:02d}{d:02d}" for m, days in enumerate(
    (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), 1) for d in range(1, days + 1))


def compact(number: str) -> str:
    """Strip spaces and dashes, fold full-width digits and upper-case the ``X``."""
    return clean(number, KIND).upper()


def _date(number: str) -> _dt.date | None:
    text = number[6:14] if len(number) == 18 else "19" + number[6:12]
    try:
        return _dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _day_key(day: _dt.date) -> str:
    """``YYYYMMDD``: dates compare as these strings do."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def _shape_problem(number: str, today: str) -> tuple[str, str] | None:
    """Check the province and birth date of ASCII digits (``today`` as ``YYYYMMDD``).

    The birth date is compared as a ``YYYYMMDD`` string, without building a date.
    """
    if number[:2] not in PROVINCES:
        return "component", "the region code is not a province"
    born = "19" + number[6:12] if len(number) == 15 else number[6:14]
    month_day = born[4:]
    if month_day not in _MONTH_DAYS or born[:4] == "0000" or (
            month_day == "0229" and not calendar.isleap(int(born[:4]))):
        return "component", "the birth date is not a real date"
    if born < _EARLIEST or born > today:
        return "component", "the birth date is out of range"
    return None


def _problem(number: str, today: str) -> tuple[str, str] | None:
    """Return (check, detail) for the first failed check of a compact number, or None.

    ``today`` is the current date as ``YYYYMMDD``.
    """
    n = len(number)
    if n == 18:
        if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
            return "format", "only digits and a final X are allowed"
    elif n == 15:
        if not number.isdigit():
            return "format", "the 15-digit form has digits only"
    else:
        return "length", "must have 18 characters (or 15 for the legacy form)"
    if not number.isascii():
        return "format", "only digits and a final X are allowed"
    problem = _shape_problem(number, today)
    if problem is not None:
        return problem
    if n == 18 and gb11643_check(number[:17]) != number[17]:
        return "checksum", "the GB 11643 check character does not match"
    return None


def _today(clock: Clock | None) -> str:
    return _day_key((clock or SystemClock()).now().date())


def validate(number: str, *, clock: Clock | None = None) -> str:
    """Return the compact number if it is valid, else raise an ``InvalidIdentifierError``.

    ``clock`` decides what "today" is for the birth-date check (default: the system clock).
    """
    value = compact(number)
    problem = _problem(value, _today(clock))
    if problem is not None:
        fail(KIND, *problem)
    return value


def is_valid(number: str, *, clock: Clock | None = None) -> bool:
    """Return whether ``number`` is a valid resident identity number."""
    try:
        validate(number, clock=clock)
    except ValueError:
        return False
    return True


def birth_date(number: str, *, clock: Clock | None = None) -> _dt.date:
    """Return the birth date encoded in a valid number."""
    value = validate(number, clock=clock)
    born = _date(value)
    assert born is not None  # noqa: S101 - validate() checked it
    return born


def upgrade(number: str, *, clock: Clock | None = None) -> str:
    """Convert a valid legacy 15-digit number to the 18-character form (GB 11643-1999 §6)."""
    value = validate(number, clock=clock)
    if len(value) == 18:
        return value
    body = value[:6] + "19" + value[6:]
    return body + gb11643_check(body)


def find(text: str, *, clock: Clock | None = None) -> Iterator[Finding]:
    """Yield the resident identity numbers in ``text`` (see :func:`finprivacy.scan`)."""
    yield from scan_with(text, (KIND,), clock=clock)


#: How the scanner finds this kind (see :class:`~finprivacy.identifiers.Recognizer`):
#: the candidate pattern, the validation, the context words that raise confidence and
#: the default masking preset. The built-in scanner finds all built-in kinds in one pass.
RECOGNIZER = Recognizer(
    KIND, r"\d{17}[\dXx]|\d{15}", validator(validate),
    context=("身份证号码", "身份证号", "身份证", "证件号码", "证件号", "公民身份号码",
             "id card", "id no", "id number", "identity card", "resident id", "national id"),
    confidence=0.95, mask="first3_last4")
