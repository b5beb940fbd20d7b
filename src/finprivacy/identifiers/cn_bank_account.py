"""Mainland China bank account numbers (银行账号) that are not card numbers.

Settlement and corporate account numbers are 10 to 25 digits and carry no public
check digit, so a number on its own cannot be told from an order number or a
serial. Validation therefore checks the shape only, and the scanner reports an
account number **only after a context word** (账号, 账户, 开户行, 对公, account,
A/C …). A number that is also a valid card number (Luhn, issuer range) is reported
as ``bank_card``.

>>> validate("1100 1234 5678 9012 3456")
'11001234567890123456'
"""

from __future__ import annotations

from collections.abc import Iterator

from ._finding import Finding
from ._util import clean, fail

__all__ = ["KIND", "compact", "find", "is_valid", "validate"]

#: The kind name used by scan, mask and redact.
KIND = "cn_bank_account"


def compact(number: str) -> str:
    """Strip spaces and dashes and fold full-width digits."""
    return clean(number, KIND)


def validate(number: str) -> str:
    """Return the digits if ``number`` has the shape of an account number, else raise."""
    value = compact(number)
    if not value.isdigit() or not value.isascii():
        fail(KIND, "format", "only digits, spaces and dashes are allowed")
    if not 10 <= len(value) <= 25:
        fail(KIND, "length", "must have 10 to 25 digits")
    return value


def is_valid(number: str) -> bool:
    """Return whether ``number`` has the shape of a bank account number."""
    try:
        validate(number)
    except ValueError:
        return False
    return True


def find(text: str) -> Iterator[Finding]:
    """Yield the account numbers that follow a context word in ``text``."""
    from ._detect import detect

    yield from detect(text, kinds=(KIND,))
