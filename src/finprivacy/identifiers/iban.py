"""International Bank Account Number, ISO 13616-1:2020.

Two letters of country code, two check digits and a country-specific BBAN of fixed
length and format (digits or letters per position), checked with ISO 7064 MOD 97-10
(the number, rotated, is 1 modulo 97). Lengths and formats come from the SWIFT IBAN
registry. Written in paper format (groups of four
separated by spaces) or in electronic format.

>>> validate("GB82 WEST 1234 5698 7654 32")
'GB82WEST12345698765432'
>>> is_valid("GB82 WEST 1234 5698 7654 33")
False
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._checksums import mod97
from ._finding import Finding
from ._registry import Recognizer, scan_with
from ._util import clean, fail, validator

__all__ = [
    "BBAN_FORMATS",
    "BBAN_LAYOUTS",
    "BBAN_PATTERNS",
    "KIND",
    "LENGTHS",
    "RECOGNIZER",
    "compact",
    "find",
    "format",
    "is_valid",
    "validate",
]

#: The kind name used by scan, mask and redact.
KIND = "iban"

#: The BBAN format per country, in the registry's notation: ``n`` digits, ``a`` upper-case
#: letters, ``c`` letters or digits, ``!`` fixed length (SWIFT IBAN registry, release 101,
#: the same release python-stdnum 2.x ships; the test suite cross-checks every country).
BBAN_FORMATS: dict[str, str] = {
    "AD": "4!n4!n12!c", "AE": "3!n16!n", "AL": "8!n16!c", "AT": "5!n11!n", "AZ": "4!a20!c",
    "BA": "3!n3!n8!n2!n", "BE": "3!n7!n2!n", "BG": "4!a4!n2!n8!c", "BH": "4!a14!c",
    "BI": "5!n5!n11!n2!n", "BR": "8!n5!n10!n1!a1!c", "BY": "4!c4!n16!c", "CH": "5!n12!c",
    "CR": "4!n14!n", "CY": "3!n5!n16!c", "CZ": "4!n16!n", "DE": "8!n10!n", "DJ": "5!n5!n11!n2!n",
    "DK": "4!n9!n1!n", "DO": "4!c20!n", "EE": "2!n14!n", "EG": "4!n4!n17!n",
    "ES": "4!n4!n1!n1!n10!n", "FI": "3!n11!n", "FK": "2!a12!n", "FO": "4!n9!n1!n",
    "FR": "5!n5!n11!c2!n", "GB": "4!a6!n8!n", "GE": "2!a16!n", "GI": "4!a15!c", "GL": "4!n9!n1!n",
    "GR": "3!n4!n16!c", "GT": "4!c20!c", "HN": "4!a20!n", "HR": "7!n10!n",
    "HU": "3!n4!n1!n15!n1!n", "IE": "4!a6!n8!n", "IL": "3!n3!n13!n", "IQ": "4!a3!n12!n",
    "IS": "4!n2!n6!n10!n", "IT": "1!a5!n5!n12!c", "JO": "4!a4!n18!c", "KW": "4!a22!c",
    "KZ": "3!n13!c", "LB": "4!n20!c", "LC": "4!a24!c", "LI": "5!n12!c", "LT": "5!n11!n",
    "LU": "3!n13!c", "LV": "4!a13!c", "LY": "3!n3!n15!n", "MC": "5!n5!n11!c2!n", "MD": "2!c18!c",
    "ME": "3!n13!n2!n", "MK": "3!n10!c2!n", "MN": "4!n12!n", "MR": "5!n5!n11!n2!n",
    "MT": "4!a5!n18!c", "MU": "4!a2!n2!n12!n3!n3!a", "NI": "4!a20!n", "NL": "4!a10!n",
    "NO": "4!n6!n1!n", "OM": "3!n16!c", "PK": "4!a16!c", "PL": "8!n16!n", "PS": "4!a21!c",
    "PT": "4!n4!n11!n2!n", "QA": "4!a21!c", "RO": "4!a16!c", "RS": "3!n13!n2!n",
    "RU": "9!n5!n15!c", "SA": "2!n18!c", "SC": "4!a2!n2!n16!n3!a", "SD": "2!n12!n",
    "SE": "3!n16!n1!n", "SI": "5!n8!n2!n", "SK": "4!n6!n10!n", "SM": "1!a5!n5!n12!c",
    "SO": "4!n3!n12!n", "ST": "4!n4!n11!n2!n", "SV": "4!a20!n", "TL": "3!n14!n2!n",
    "TN": "2!n3!n13!n2!n", "TR": "5!n1!n16!c", "UA": "6!n19!c", "VA": "3!n15!n", "VG": "4!a16!n",
    "XK": "4!n10!n2!n", "YE": "4!a4!n18!c",
}

#: The BBAN format per country spelled out one class letter per position (``n``, ``a``
#: or ``c``): what the length, the pattern below and the scanner's shapes are built from.
BBAN_LAYOUTS: dict[str, str] = {
    cc: "".join(k * int(n) for n, k in re.findall(r"(\d+)!([nac])", spec))
    for cc, spec in BBAN_FORMATS.items()
}
#: Total IBAN length per country (two letters, two check digits and the BBAN).
LENGTHS: dict[str, int] = {cc: 4 + len(layout) for cc, layout in BBAN_LAYOUTS.items()}
_CLASS = {"n": "[0-9]", "a": "[A-Z]", "c": "[0-9A-Za-z]"}
#: The BBAN format per country as a compiled pattern (match it from offset 4 of an IBAN).
BBAN_PATTERNS: dict[str, re.Pattern[str]] = {
    cc: re.compile("".join(_CLASS[k] for k in layout)) for cc, layout in BBAN_LAYOUTS.items()}


def compact(number: str) -> str:
    """Strip spaces and dashes, fold full-width characters and upper-case."""
    return clean(number, KIND).upper()


def _problem(value: str) -> tuple[str, str] | None:
    if not value.isascii() or not value.isalnum():
        return "format", "only letters and digits are allowed"
    country = value[:2]
    if country not in LENGTHS or not value[2:4].isdigit():
        return "component", "the country code is not in the IBAN registry"
    if len(value) != LENGTHS[country]:
        return "length", "the length does not match the country's IBAN length"
    if BBAN_PATTERNS[country].fullmatch(value, 4) is None:
        return "format", "the account part does not follow the country's registry format"
    if mod97(value[4:] + value[:4]) != 1:
        return "checksum", "the ISO 7064 MOD 97-10 check digits do not match"
    return None


def validate(number: str) -> str:
    """Return the electronic format if ``number`` is a valid IBAN, else raise."""
    value = compact(number)
    problem = _problem(value)
    if problem is not None:
        fail(KIND, *problem)
    return value


def is_valid(number: str) -> bool:
    """Return whether ``number`` is a valid IBAN."""
    try:
        validate(number)
    except ValueError:
        return False
    return True


def format(number: str) -> str:
    """Return the paper format of a valid IBAN: groups of four separated by spaces."""
    value = validate(number)
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4))


def find(text: str) -> Iterator[Finding]:
    """Yield the IBANs in ``text`` (see :func:`finprivacy.scan`)."""
    yield from scan_with(text, (KIND,))


#: How the scanner finds this kind (see :class:`~finprivacy.identifiers.Recognizer`):
#: the candidate pattern, the validation, the context words that raise confidence and
#: the default masking preset. The built-in scanner finds all built-in kinds in one pass.
RECOGNIZER = Recognizer(
    KIND, r"[A-Z]{2}\d{2}(?: ?[0-9A-Z]){11,30}", validator(validate),
    context=("iban",),
    confidence=0.97, mask="first4_last4")
