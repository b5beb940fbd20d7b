"""Mainland China telephone numbers: mobile numbers and landlines with area codes.

Mobile numbers have 11 digits ``1[3-9]xxxxxxxxx`` with the network prefixes in use
(MIIT numbering plan: 13x, 145–149, 15x except 154, 162, 165–167, 170–178, 18x, 19x),
optionally after ``+86``/``0086``/``86``. Landlines are an area code (``010``, ``02x``
or ``0xxx``) followed by a 7- or 8-digit subscriber number that starts with 2–9.
Service numbers such as 95588, 10086 or 400/800 numbers are not personal numbers and
do not validate.

>>> validate("+86 138-1234-5678")
'13812345678'
>>> validate("(010) 8888-6666")
'01088886666'
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._finding import Finding
from ._registry import Recognizer, scan_with
from ._util import clean, fail, validator

__all__ = ["KIND", "RECOGNIZER", "compact", "find", "is_mobile", "is_valid", "validate"]

#: The kind name used by scan, mask and redact.
KIND = "cn_phone"

_MOBILE = re.compile(r"1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9\d)\d{8}", re.ASCII)
_LANDLINE = re.compile(r"0(?:10|2\d|[3-9]\d{2})[2-9]\d{6,7}", re.ASCII)


def compact(number: str) -> str:
    """Strip separators and brackets, fold widths and drop a ``+86``/``0086`` prefix."""
    value = clean(number, KIND, " -()")
    intl = False
    if value.startswith("+86"):
        value, intl = value[3:], True
    elif value.startswith("0086"):
        value, intl = value[4:], True
    elif value.startswith("861") and len(value) == 13:
        value = value[2:]
    if intl and value[:1].isdigit() and value[0] != "0" and not (
            len(value) == 11 and value[0] == "1"):
        value = "0" + value  # the international form drops the trunk prefix 0
    return value


def _problem(value: str) -> tuple[str, str] | None:
    if not value.isdigit() or not value.isascii():
        return "format", "only digits, spaces, dashes, brackets and +86 are allowed"
    if value.startswith("1"):
        if len(value) != 11:
            return "length", "a mobile number has 11 digits"
        if _MOBILE.fullmatch(value) is None:
            return "component", "the mobile network prefix is not allocated"
        return None
    if not 10 <= len(value) <= 12:
        return "length", "a landline has 10 to 12 digits with its area code"
    if _LANDLINE.fullmatch(value) is None:
        return "component", "the area code or subscriber number is malformed"
    return None


def validate(number: str) -> str:
    """Return the national number (no ``+86``, no separators) or raise."""
    value = compact(number)
    problem = _problem(value)
    if problem is not None:
        fail(KIND, *problem)
    return value


def is_valid(number: str) -> bool:
    """Return whether ``number`` is a valid mainland mobile or landline number."""
    try:
        validate(number)
    except ValueError:
        return False
    return True


def is_mobile(number: str) -> bool:
    """Return whether ``number`` is a valid mainland mobile number."""
    return is_valid(number) and validate(number).startswith("1")


def find(text: str) -> Iterator[Finding]:
    """Yield the mainland phone numbers in ``text`` (see :func:`finprivacy.scan`)."""
    yield from scan_with(text, (KIND,))


#: How the scanner finds this kind (see :class:`~finprivacy.identifiers.Recognizer`):
#: the candidate pattern, the validation, the context words that raise confidence and
#: the default masking preset. The built-in scanner finds all built-in kinds in one pass.
RECOGNIZER = Recognizer(
    KIND, r"(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}|0\d{2,3}[ -]?\d{7,8}", validator(validate),
    context=("手机号码", "手机号", "手机", "联系电话", "电话", "联系方式", "座机", "传真", "tel",
             "phone", "telephone", "mobile", "cell", "fax", "whatsapp", "call", "contact", "ph"),
    confidence=0.8, mask="mobile_3_4")
