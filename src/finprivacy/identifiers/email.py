"""E-mail addresses (the common subset of RFC 5321 §4.1.2 / RFC 5322 addr-spec).

A local part of letters, digits and ``._%+-`` (1–64 characters, no leading, trailing
or doubled dot) and a domain of LDH labels with an alphabetic top-level domain; 254
characters at most. Quoted local parts and address literals are not accepted. The
domain is lower-cased; the local part keeps its case.

>>> validate("Zhang.Wei@Example.COM")
'Zhang.Wei@example.com'
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._finding import Finding
from ._registry import Recognizer, scan_with
from ._util import clean, fail, validator

__all__ = ["KIND", "RECOGNIZER", "compact", "find", "is_valid", "validate"]

#: The kind name used by scan, mask and redact.
KIND = "email"

_LOCAL = re.compile(r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?")
_TLD = re.compile(r"[A-Za-z]{2,24}")


def compact(address: str) -> str:
    """Fold widths, strip surrounding space and lower-case the domain."""
    value = clean(address, KIND, "")
    local, at, domain = value.rpartition("@")
    return f"{local}{at}{domain.lower()}" if at else value


def _problem(value: str) -> tuple[str, str] | None:
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        return "format", "an address has one @ between a local part and a domain"
    if len(value) > 254 or len(local) > 64:
        return "length", "the address or its local part is too long"
    if not value.isascii() or _LOCAL.fullmatch(local) is None:
        return "format", "the local part has characters that are not allowed"
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return "format", "the domain is not a dotted name"
    if _TLD.fullmatch(labels[-1]) is None:
        return "component", "the top-level domain is not alphabetic"
    return None


def validate(address: str) -> str:
    """Return the normalised address if it is valid, else raise an ``InvalidIdentifierError``."""
    value = compact(address)
    problem = _problem(value)
    if problem is not None:
        fail(KIND, *problem)
    return value


def is_valid(address: str) -> bool:
    """Return whether ``address`` is a valid e-mail address."""
    try:
        validate(address)
    except ValueError:
        return False
    return True


def find(text: str) -> Iterator[Finding]:
    """Yield the e-mail addresses in ``text`` (see :func:`finprivacy.scan`)."""
    yield from scan_with(text, (KIND,))


#: How the scanner finds this kind (see :class:`~finprivacy.identifiers.Recognizer`):
#: the candidate pattern, the validation, the context words that raise confidence and
#: the default masking preset. The built-in scanner finds all built-in kinds in one pass.
RECOGNIZER = Recognizer(
    KIND, r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", validator(validate),
    context=("邮箱", "电子邮件", "email", "e-mail", "mail"),
    confidence=0.95, mask="first1_domain")
