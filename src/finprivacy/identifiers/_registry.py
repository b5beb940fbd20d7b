"""The recognizer registry: every kind of identifier the scanner finds.

Each identifier module exports a :class:`Recognizer` (``cn_id.RECOGNIZER`` …); the
built-in ones are found by one fast combined pass (``_detect``). An application adds its
own kinds with :func:`register_recognizer`; they then flow through everything that
scans: :func:`finprivacy.scan`, :func:`finprivacy.redact`, :func:`finprivacy.mask`, the
logging filter and the testing helpers.

This module imports no identifier module and no scanner: the scanner installs itself
(:func:`install_scanner`), so identifier modules can offer ``find()`` without an
import circle.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..clock import Clock
    from ._finding import Finding

__all__ = [
    "Recognizer",
    "install_scanner",
    "known_kinds",
    "mask_keep",
    "recognizer",
    "recognizers",
    "register_builtin",
    "register_recognizer",
    "scan_with",
    "unregister_recognizer",
    "user_recognizers",
]

_KIND = re.compile(r"[a-z][a-z0-9_]{0,39}")
_KEEP = re.compile(r"(?:first(\d{1,2})_)?last(\d{1,2})")
_GENERIC_MASKS = ("stars", "full")


def mask_keep(spec: str) -> tuple[int, int] | None:
    """Return ``(first, last)`` for a keep spec (``last4``, ``first3_last4``), else None."""
    m = _KEEP.fullmatch(spec)
    if m is None:
        return None
    return int(m.group(1) or 0), int(m.group(2))


Validator = Callable[[str], "str | None"]
"""Return the normalised identifier, or ``None`` (or raise ``ValueError``) if invalid."""


@dataclass(frozen=True, eq=False)
class Recognizer:
    r"""One kind of identifier: how to find candidates and how to tell a real one.

    ``pattern`` (a regular expression or its text) finds candidates in text;
    ``validate`` returns the normalised identifier, or ``None`` (or raises
    ``ValueError``) when the candidate fails its checks: put the checksum there, so
    that look-alikes (order numbers, amounts) are not reported. ``context`` words
    before a candidate (within 24 characters, no digit in between) raise its
    confidence by 0.1; the built-in negative words (订单号, invoice, hotline …) lower it.
    ``confidence`` is the score of a bare match. ``mask`` is the default masking rule
    of the kind: ``lastN``, ``firstM_lastN`` (keep that many characters, hide the
    letters and digits in between), ``stars`` or ``full``.

    >>> import re
    >>> emp = Recognizer("employee_no", re.compile(r"EMP-\d{6}"), lambda v: v.upper(),
    ...                  context=("工号", "employee"), mask="last4")
    """

    kind: str
    pattern: re.Pattern[str] | str
    validate: Validator = field(repr=False)
    context: tuple[str, ...] = ()
    confidence: float = 0.85
    mask: str = "last4"
    _context_re: re.Pattern[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        kind: object = self.kind
        if not isinstance(kind, str) or _KIND.fullmatch(kind) is None:
            raise ConfigurationError("a recognizer's kind must be lower-case letters, digits "
                                     "and underscores, starting with a letter (at most 40)")
        pattern: object = self.pattern
        if isinstance(pattern, str):
            try:
                pattern = re.compile(pattern)
            except re.error as exc:
                raise ConfigurationError(
                    f"recognizer {self.kind!r}: its pattern does not compile ({exc})") from None
            object.__setattr__(self, "pattern", pattern)
        if not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str):
            raise ConfigurationError(f"recognizer {self.kind!r}: pattern must be a text "
                                     "regular expression")
        if pattern.match("") is not None:
            raise ConfigurationError(f"recognizer {self.kind!r}: pattern matches empty text")
        if not callable(self.validate):
            raise ConfigurationError(f"recognizer {self.kind!r}: validate must be callable")
        context: object = self.context
        if isinstance(context, str) or not isinstance(context, tuple | list) or not all(
                isinstance(w, str) and w.strip() for w in context):
            raise ConfigurationError(f"recognizer {self.kind!r}: context must be a tuple of "
                                     "non-empty words")
        object.__setattr__(self, "context", tuple(context))
        confidence: object = self.confidence
        if isinstance(confidence, bool) or not isinstance(confidence, int | float) \
                or not 0.0 < confidence <= 1.0:
            raise ConfigurationError(f"recognizer {self.kind!r}: confidence must be in (0, 1]")
        mask: object = self.mask
        if not isinstance(mask, str) or _KIND.fullmatch(mask) is None:
            raise ConfigurationError(
                f"recognizer {self.kind!r}: mask must be 'lastN', 'firstM_lastN', 'stars' or "
                "'full'")
        if self.context:
            words = sorted({w.lower() for w in self.context}, key=len, reverse=True)
            object.__setattr__(self, "_context_re", re.compile(
                "|".join(re.escape(w) for w in words), re.IGNORECASE))

    def check(self, candidate: str) -> str | None:
        """Return the normalised identifier if ``candidate`` is one, else ``None``."""
        try:
            value = self.validate(candidate)
        except ValueError:  # InvalidIdentifierError and the like: not one
            return None
        return value if isinstance(value, str) and value else None

    def context_before(self, text: str, start: int) -> str:
        """Return this kind's context word ending in the 24 characters before ``start``.

        The word must be followed by no digit up to ``start``; empty if there is none.
        """
        pattern = self._context_re
        if pattern is None:
            return ""
        lo = max(0, start - 24)
        found = ""
        for m in pattern.finditer(text, lo, start):
            if not any(c.isdigit() for c in text[m.end():start]):
                found = m.group()
        return found


_lock = threading.Lock()
_builtins: dict[str, Recognizer] = {}
_users: dict[str, Recognizer] = {}
# Snapshots read without the lock (replaced whole, never changed in place).
_user_tuple: tuple[Recognizer, ...] = ()
_scanner: list[Callable[..., list[Finding]]] = []


def register_builtin(recognizer: Recognizer) -> None:
    """Record a built-in kind (the identifier modules, at import)."""
    with _lock:
        _builtins[recognizer.kind] = recognizer


def register_recognizer(recognizer: Recognizer, *, replace: bool = False) -> None:
    r"""Add an application's own kind to everything that scans.

    >>> import re
    >>> def emp(value: str) -> str | None:
    ...     digits = value[4:]
    ...     return value if sum(map(int, digits)) % 10 == 0 else None
    >>> register_recognizer(Recognizer("employee_no", r"EMP-\d{6}", emp,
    ...                                context=("工号",)))
    >>> from finprivacy import scan
    >>> [f.kind for f in scan("工号 EMP-123460 张三")]
    ['employee_no']
    >>> unregister_recognizer("employee_no")

    A kind already registered raises :class:`~finprivacy.errors.ConfigurationError`
    unless ``replace`` is true; a built-in kind (``cn_id`` …) cannot be replaced.
    """
    if not isinstance(recognizer, Recognizer):
        raise ConfigurationError("register_recognizer() takes a Recognizer")
    global _user_tuple
    with _lock:
        if recognizer.kind in _builtins:
            raise ConfigurationError(f"{recognizer.kind!r} is a built-in kind; choose "
                                     "another name")
        if recognizer.mask not in _GENERIC_MASKS and mask_keep(recognizer.mask) is None:
            raise ConfigurationError(
                f"recognizer {recognizer.kind!r}: mask must be 'lastN', 'firstM_lastN', "
                "'stars' or 'full'")
        if recognizer.kind in _users and not replace:
            raise ConfigurationError(f"a recognizer for {recognizer.kind!r} is already "
                                     "registered (replace=True to swap it)")
        _users[recognizer.kind] = recognizer
        _user_tuple = tuple(_users.values())


def unregister_recognizer(kind: str) -> None:
    """Remove an application's kind (a kind not registered is ignored)."""
    global _user_tuple
    with _lock:
        if kind in _builtins:
            raise ConfigurationError(f"{kind!r} is a built-in kind and cannot be removed")
        _users.pop(kind, None)
        _user_tuple = tuple(_users.values())


def user_recognizers() -> tuple[Recognizer, ...]:
    """Return the application's recognizers, in registration order (a snapshot)."""
    return _user_tuple


def recognizers() -> tuple[Recognizer, ...]:
    """Return every recognizer: the built-in ones, then the application's."""
    with _lock:
        return (*_builtins.values(), *_users.values())


def recognizer(kind: str) -> Recognizer | None:
    """Return the recognizer of ``kind``, built in or registered, or ``None``."""
    found = _builtins.get(kind)
    return found if found is not None else _users.get(kind)


def known_kinds() -> tuple[str, ...]:
    """Return every kind the scanner can report: built in, then registered."""
    with _lock:
        return (*_builtins, *_users)


def install_scanner(scan: Callable[..., list[Finding]]) -> None:
    """Install the scanner the identifier modules' ``find()`` functions use."""
    _scanner[:] = [scan]


def scan_with(text: str, kinds: Iterable[str], *,
              clock: Clock | None = None) -> list[Finding]:
    """Scan ``text`` for ``kinds`` with the installed scanner."""
    if not _scanner:  # pragma: no cover - finprivacy.identifiers installs it at import
        raise ConfigurationError("the scanner is not installed: import finprivacy.identifiers")
    return _scanner[0](text, kinds=tuple(kinds), clock=clock)
