"""The :class:`Finding` returned by detection."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..secret import Secret

__all__ = ["Finding"]


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

