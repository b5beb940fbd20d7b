"""The :class:`Finding` returned by detection."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..secret import Secret

__all__ = ["Finding", "finding_of"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One identifier found in a text.

    ``start`` and ``end`` are offsets into the original text (``text[start:end]`` is
    the identifier as written, separators included). ``value`` holds the normalised
    identifier inside a :class:`~finprivacy.Secret`, so it stays out of reprs, logs
    and pickles. ``confidence`` is between 0 and 1; ``context`` is the context word
    that raised or lowered it (empty if none).
    """

    kind: str
    start: int
    end: int
    confidence: float
    value: Secret[str] = field(repr=False, compare=False)
    context: str = ""



_new = object.__new__
_SET_FIELDS = tuple(Finding.__dict__[name].__set__ for name in (
    "kind", "start", "end", "confidence", "value", "context"))
_SET_KIND, _SET_START, _SET_END, _SET_CONFIDENCE, _SET_VALUE, _SET_CONTEXT = _SET_FIELDS


_SET_SECRET = Secret.__dict__["_Secret__value"].__set__


def finding_of(start: int, end: int, candidate: tuple[str, float, str],
               context: str) -> Finding:
    """Return the :class:`Finding` for the scanner's ``(kind, confidence, value)``.

    The scanner builds each finding as soon as it validates it (a text full of
    identifiers makes one per few bytes): the slots of the finding and of its
    :class:`~finprivacy.Secret` are set directly. ``value`` is a plain string.
    """
    secret = _new(Secret)
    _SET_SECRET(secret, candidate[2])
    finding = _new(Finding)
    _SET_KIND(finding, candidate[0])
    _SET_START(finding, start)
    _SET_END(finding, end)
    _SET_CONFIDENCE(finding, candidate[1])
    _SET_VALUE(finding, secret)
    _SET_CONTEXT(finding, context)
    return finding
