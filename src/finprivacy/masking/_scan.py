"""``scan(text)``: find identifiers in free text."""

from __future__ import annotations

from collections.abc import Collection

from ..clock import Clock
from ..errors import ConfigurationError, InvalidInputError
from ..identifiers import DEFAULT_MIN_CONFIDENCE, Finding, known_kinds
from ..identifiers._detect import detect

__all__ = ["scan"]


def _check_kinds(kinds: Collection[str] | None) -> frozenset[str] | None:
    if kinds is None:
        return None
    if isinstance(kinds, str):
        kinds = (kinds,)
    known = known_kinds()
    unknown = sorted(set(kinds) - set(known))
    if unknown:
        raise ConfigurationError(f"unknown kind(s) {', '.join(map(repr, unknown))}; "
                                 f"known: {', '.join(known)}")
    return frozenset(kinds)


def scan(text: str, *, kinds: Collection[str] | None = None,
         min_confidence: float = DEFAULT_MIN_CONFIDENCE,
         clock: Clock | None = None) -> list[Finding]:
    """Return the identifiers found in ``text``, checksum-validated, in order.

    >>> [(f.kind, f.start, f.end) for f in scan("卡号6222020200112233446，手机13812345678")]
    [('bank_card', 2, 21), ('cn_phone', 24, 35)]

    Digits may follow Chinese text directly, be full-width (``０``–``９``) or grouped
    with spaces (including U+3000) or dashes; offsets always point into ``text``.
    Context words before a candidate (卡号, 身份证, 手机, 账号, IBAN, SSN …) raise its
    confidence, and words such as 订单号, 发票, 客服 or "order" lower it; account
    numbers (no checksum) are reported only after such a word. Findings never
    overlap: the more confident, then the longer, wins. ``kinds`` restricts the
    result; ``clock`` says what "today" is for birth-date checks. Kinds an application
    registered (:func:`~finprivacy.register_recognizer`) are found too.
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"scan() takes text, not {type(text).__name__}")
    if not 0.0 <= min_confidence <= 1.0:
        raise InvalidInputError("min_confidence must be between 0 and 1")
    return detect(text, kinds=None if kinds is None else _check_kinds(kinds),
                  min_confidence=min_confidence, clock=clock)
