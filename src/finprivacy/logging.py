"""Redacting log output: a :class:`logging.Filter` and a structlog-shaped processor.

Attach :class:`RedactingFilter` to the *handlers* that write logs (filters on a
logger do not see records propagated from child loggers)::

    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())

The filter renders the message with its arguments, redacts it with
:func:`finprivacy.redact`, and also redacts the formatted exception and stack text
and any ``extra=`` fields (by key name and by value). It never drops a record.

:class:`RedactingProcessor` does the same for structlog's event dicts; it is written
against structlog's processor signature ``(logger, method_name, event_dict)`` and
does not import structlog::

    structlog.configure(processors=[RedactingProcessor(), structlog.processors.JSONRenderer()])
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Collection, Mapping, MutableMapping
from typing import Any

from .masking import DEFAULT_MIN_CONFIDENCE, redact
from .secret import Secret

__all__ = ["RedactingFilter", "RedactingProcessor"]

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


class _Options:
    __slots__ = ("_options",)

    def __init__(self, presets: Mapping[str, str] | None, kinds: Collection[str] | None,
                 min_confidence: float, keys: Mapping[str, str] | None,
                 pseudonym_key: bytes | Secret[bytes] | None) -> None:
        self._options: dict[str, Any] = {
            "presets": presets, "kinds": kinds, "min_confidence": min_confidence,
            "keys": keys, "pseudonym_key": pseudonym_key}
        redact("", **self._options)  # validate presets, kinds and keys now

    def redact(self, obj: Any) -> Any:
        return redact(obj, **self._options)


class RedactingFilter(logging.Filter):
    """A logging filter that masks identifiers in messages, arguments, extras and tracebacks.

    The options are those of :func:`finprivacy.redact` (``presets``, ``kinds``,
    ``min_confidence``, ``keys``, ``pseudonym_key``). ``name`` is the usual logger-name
    restriction of :class:`logging.Filter`.
    """

    def __init__(self, name: str = "", *, presets: Mapping[str, str] | None = None,
                 kinds: Collection[str] | None = None,
                 min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                 keys: Mapping[str, str] | None = None,
                 pseudonym_key: bytes | Secret[bytes] | None = None) -> None:
        super().__init__(name)
        self._redactor = _Options(presets, kinds, min_confidence, keys, pseudonym_key)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place; return whether the name restriction lets it through."""
        if not super().filter(record):
            return False
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: redact the template and arguments
            message = f"{record.msg!s} {record.args!r}"
        record.msg = self._redactor.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self._redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redactor.redact(record.stack_info)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if extras:
            for key, value in self._redactor.redact(extras).items():
                setattr(record, key, value)
        return True


class RedactingProcessor:
    """A structlog processor that redacts the event dict by key names and values.

    Place it before the renderer. The options are those of :func:`finprivacy.redact`.
    A formatted ``exception`` string (after ``format_exc_info``) is redacted as text.
    """

    __slots__ = ("_redactor",)

    def __init__(self, *, presets: Mapping[str, str] | None = None,
                 kinds: Collection[str] | None = None,
                 min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                 keys: Mapping[str, str] | None = None,
                 pseudonym_key: bytes | Secret[bytes] | None = None) -> None:
        self._redactor = _Options(presets, kinds, min_confidence, keys, pseudonym_key)

    def __call__(self, logger: object, method_name: str,
                 event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        """Return ``event_dict`` with every value redacted (keys kept)."""
        redacted = self._redactor.redact(dict(event_dict))
        event_dict.clear()
        event_dict.update(redacted)
        return event_dict

    def __repr__(self) -> str:
        return "RedactingProcessor()"
