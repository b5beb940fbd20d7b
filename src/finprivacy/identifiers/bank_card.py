"""Payment card numbers (PAN), ISO/IEC 7812.

A PAN has 12 to 19 digits, a known issuer range and a Luhn check digit
(ISO/IEC 7812-1 Annex B). Issuer ranges recognised: China UnionPay (62, 81; 16–19
digits), Visa (4), Mastercard (51–55, 2221–2720), American Express (34, 37),
JCB (3528–3589), Diners Club (300–305, 36, 38, 39), Discover (6011, 644–649, 65) and
Maestro (50, 56–69). Numbers may be written contiguous or grouped with spaces or
dashes.

>>> validate("6222 0202 0011 2233 446")
'6222020200112233446'
>>> issuer("4111111111111111")
'visa'
"""

from __future__ import annotations

from collections.abc import Iterator

from ._checksums import luhn_valid
from ._finding import Finding
from ._registry import Recognizer, scan_with
from ._util import clean, fail, validator

__all__ = ["KIND", "RECOGNIZER", "compact", "find", "is_valid", "issuer", "validate"]

#: The kind name used by scan, mask and redact.
KIND = "bank_card"

# (issuer, lowest prefix, highest prefix, lengths) — prefixes compared on equal width.
_RANGES: tuple[tuple[str, str, str, range], ...] = (
    ("unionpay", "62", "62", range(16, 20)),
    ("unionpay", "81", "81", range(16, 20)),
    ("visa", "4", "4", range(13, 20)),
    ("mastercard", "51", "55", range(16, 17)),
    ("mastercard", "2221", "2720", range(16, 17)),
    ("amex", "34", "34", range(15, 16)),
    ("amex", "37", "37", range(15, 16)),
    ("jcb", "3528", "3589", range(16, 20)),
    ("diners", "300", "305", range(14, 20)),
    ("diners", "36", "36", range(14, 20)),
    ("diners", "38", "39", range(14, 20)),
    ("discover", "6011", "6011", range(16, 20)),
    ("discover", "644", "649", range(16, 20)),
    ("discover", "65", "65", range(16, 20)),
    ("maestro", "50", "50", range(12, 20)),
    ("maestro", "56", "69", range(12, 20)),
)


def compact(number: str) -> str:
    """Strip spaces and dashes and fold full-width digits."""
    return clean(number, KIND)


# The ranges above indexed by 4-digit prefix (every range's prefix has at most 4
# digits), in the same order, with their lengths as sets: one dict lookup per PAN.
# A range "51"–"55" covers the 4-digit prefixes 5100–5599; built range by range, so
# each prefix lists its ranges in table order.
_BY_PREFIX: dict[str, tuple[tuple[str, frozenset[int]], ...]] = {}
for _name, _low, _high, _lengths in _RANGES:
    _hit = (_name, frozenset(_lengths))
    for _i in range(int(_low.ljust(4, "0")), int(_high.ljust(4, "9")) + 1):
        _key = f"{_i:04d}"
        _BY_PREFIX[_key] = (*_BY_PREFIX.get(_key, ()), _hit)
del _name, _low, _high, _lengths, _hit, _i, _key


def _issuer(digits: str) -> str | None:
    n = len(digits)
    for name, lengths in _BY_PREFIX.get(digits[:4], ()):
        if n in lengths:
            return name
    return None


def _problem(digits: str) -> tuple[str, str] | None:
    if not digits.isdigit() or not digits.isascii():
        return "format", "only digits, spaces and dashes are allowed"
    if not 12 <= len(digits) <= 19:
        return "length", "must have 12 to 19 digits"
    if _issuer(digits) is None:
        return "component", "no known issuer range has this prefix and length"
    if not luhn_valid(digits):
        return "checksum", "the Luhn check digit does not match"
    return None


def validate(number: str) -> str:
    """Return the digits if ``number`` is a valid PAN, else raise an ``InvalidIdentifierError``."""
    value = compact(number)
    problem = _problem(value)
    if problem is not None:
        fail(KIND, *problem)
    return value


def is_valid(number: str) -> bool:
    """Return whether ``number`` is a valid card number."""
    try:
        validate(number)
    except ValueError:
        return False
    return True


def issuer(number: str) -> str | None:
    """Return the issuer network of a valid card number (``'unionpay'``, ``'visa'`` …)."""
    return _issuer(validate(number))


def find(text: str) -> Iterator[Finding]:
    """Yield the card numbers in ``text`` (see :func:`finprivacy.scan`)."""
    yield from scan_with(text, (KIND,))


#: How the scanner finds this kind (see :class:`~finprivacy.identifiers.Recognizer`):
#: the candidate pattern, the validation, the context words that raise confidence and
#: the default masking preset. The built-in scanner finds all built-in kinds in one pass.
RECOGNIZER = Recognizer(
    KIND, r"\d(?:[ -]?\d){11,18}", validator(validate),
    context=("银行卡号", "银行卡", "信用卡", "借记卡", "储蓄卡", "卡号", "银联", "card no",
             "card number", "card", "visa", "mastercard", "unionpay", "pan"),
    confidence=0.85, mask="pci_bin6_last4")
