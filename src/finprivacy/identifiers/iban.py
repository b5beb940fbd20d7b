"""International Bank Account Number, ISO 13616-1:2020.

Two letters of country code, two check digits and a country-specific BBAN of fixed
length, checked with ISO 7064 MOD 97-10 (the number, rotated, is 1 modulo 97). The
lengths come from the SWIFT IBAN registry. Written in paper format (groups of four
separated by spaces) or in electronic format.

>>> validate("GB82 WEST 1234 5698 7654 32")
'GB82WEST12345698765432'
>>> is_valid("GB82 WEST 1234 5698 7654 33")
False
"""

from __future__ import annotations

from collections.abc import Iterator

from ._checksums import mod97
from ._finding import Finding
from ._util import clean, fail

__all__ = ["KIND", "LENGTHS", "compact", "find", "format", "is_valid", "validate"]

#: The kind name used by scan, mask and redact.
KIND = "iban"

#: Total IBAN length per country (SWIFT IBAN registry, release 2024).
LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
    "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}


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
    from ._detect import detect

    yield from detect(text, kinds=(KIND,))
