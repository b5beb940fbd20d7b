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
from ._registry import Recognizer, scan_with
from ._util import clean, fail, validator

__all__ = ["KIND", "RECOGNIZER", "compact", "find", "is_valid", "validate"]

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
    yield from scan_with(text, (KIND,))


#: How the scanner finds this kind (see :class:`~finprivacy.identifiers.Recognizer`):
#: the candidate pattern, the validation, the context words that raise confidence and
#: the default masking preset. The built-in scanner finds all built-in kinds in one pass.
RECOGNIZER = Recognizer(
    KIND, r"\d{10,25}", validator(validate),
    context=("收款账号", "付款账号", "对公账户", "对公账号", "银行账号", "银行账户", "账号",
             "帐号", "账户", "帐户", "开户行", "开户银行", "account no", "account number",
             "account", "acct", "a/c"),
    confidence=0.7, mask="last4")
