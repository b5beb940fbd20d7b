"""Chinese unified social credit code (统一社会信用代码), GB 32100-2015.

Eighteen characters from ``0-9A-HJ-NPQRTUWXY`` (no I, O, Z, S or V): registration
authority (1), organisation category (1), administrative division code (6 digits),
organisation code (9) and a check character computed with the weights of
GB 32100-2015 §5 modulo 31.

>>> validate("91110000600037341L")
'91110000600037341L'
>>> is_valid("91110000600037341M")
False
"""

from __future__ import annotations

from collections.abc import Iterator

from ._checksums import GB32100_ALPHABET, gb32100_check
from ._finding import Finding
from ._registry import Recognizer, scan_with
from ._util import clean, fail, validator

__all__ = ["KIND", "RECOGNIZER", "compact", "find", "is_valid", "validate"]

#: The kind name used by scan, mask and redact.
KIND = "cn_uscc"

_CHARS = frozenset(GB32100_ALPHABET)


def compact(code: str) -> str:
    """Strip spaces and dashes, fold full-width characters and upper-case."""
    return clean(code, KIND).upper()


def _problem(code: str) -> tuple[str, str] | None:
    if len(code) != 18:
        return "length", "must have 18 characters"
    if not _CHARS.issuperset(code):
        return "format", "contains a character outside the GB 32100 set"
    if code[0] == "0" or not code[2:8].isdigit():
        return "component", "registration authority or division code is malformed"
    if gb32100_check(code[:17]) != code[17]:
        return "checksum", "the GB 32100 check character does not match"
    return None


def validate(code: str) -> str:
    """Return the compact code if it is valid, else raise an ``InvalidIdentifierError``."""
    value = compact(code)
    problem = _problem(value)
    if problem is not None:
        fail(KIND, *problem)
    return value


def is_valid(code: str) -> bool:
    """Return whether ``code`` is a valid unified social credit code."""
    try:
        validate(code)
    except ValueError:
        return False
    return True


def find(text: str) -> Iterator[Finding]:
    """Yield the credit codes in ``text`` (see :func:`finprivacy.scan`)."""
    yield from scan_with(text, (KIND,))


#: How the scanner finds this kind (see :class:`~finprivacy.identifiers.Recognizer`):
#: the candidate pattern, the validation, the context words that raise confidence and
#: the default masking preset. The built-in scanner finds all built-in kinds in one pass.
RECOGNIZER = Recognizer(
    KIND, r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}", validator(validate),
    context=("统一社会信用代码", "社会信用代码", "信用代码", "纳税人识别号", "税号", "uscc",
             "credit code", "tax id"),
    confidence=0.95, mask="first4_last4")
