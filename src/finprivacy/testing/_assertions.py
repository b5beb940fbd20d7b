"""Leak assertions built on finprivacy's scanner."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from ..masking import scan

__all__ = ["LeakGuard", "PIILeakError", "assert_no_pii", "assert_not_leaked", "find_pii"]


class PIILeakError(AssertionError):
    """Personal data was found where there should be none.

    The message lists kinds and positions only — never the values found.
    """


PIILeakError.__module__ = "finprivacy.testing"  # failures name the public module


def _texts(obj: Any) -> Iterator[str]:
    """Every string inside ``obj`` (str, bytes, mappings, sequences, models, dataclasses)."""
    if obj is None:
        return
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, bytes | bytearray):
        yield bytes(obj).decode("utf-8", errors="replace")
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _texts(key)
            yield from _texts(value)
    elif isinstance(obj, list | tuple | set | frozenset):
        for item in obj:
            yield from _texts(item)
    elif hasattr(obj, "model_dump_json"):
        yield str(obj.model_dump_json())
        yield repr(obj)
    else:
        import dataclasses

        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            for f in dataclasses.fields(obj):
                yield from _texts(getattr(obj, f.name))
        yield repr(obj)


def find_pii(obj: Any, *, kinds: Iterable[str] | None = None) -> list[tuple[str, int, int]]:
    """Return ``(kind, start, end)`` for each finding in every string inside ``obj``."""
    wanted = set(kinds) if kinds is not None else None
    found: list[tuple[str, int, int]] = []
    for text in _texts(obj):
        for f in scan(text):
            if wanted is None or f.kind in wanted:
                found.append((f.kind, f.start, f.end))
    return found


def assert_no_pii(obj: Any, *, kinds: Iterable[str] | None = None) -> None:
    """Fail with :class:`PIILeakError` if ``obj`` contains checksum-valid personal data.

    ``obj`` may be text, bytes, a dict/list/JSON-like structure, a pydantic model or a
    dataclass. ``kinds`` restricts the check (e.g. ``{"cn_id", "bank_card"}``).
    """
    __tracebackhide__ = True  # keep pytest from printing the text that leaked
    found = find_pii(obj, kinds=kinds)
    if found:
        summary = ", ".join(f"{k} at {s}-{e}" for k, s, e in found[:20])
        more = f" and {len(found) - 20} more" if len(found) > 20 else ""
        raise PIILeakError(f"personal data found: {summary}{more}")


def assert_not_leaked(secrets: Iterable[str | bytes], *outputs: Any) -> None:
    """Fail if any of ``secrets`` appears verbatim in any of ``outputs``.

    Use it with values you planted: a card number you encrypted must not show up in the
    repr of your model, your logs or your API response.
    """
    __tracebackhide__ = True
    needles = [s if isinstance(s, str) else s.decode("utf-8", "replace") for s in secrets]
    for index, output in enumerate(outputs):
        haystack = "\n".join(_texts(output))
        if not isinstance(output, str | bytes):
            with contextlib.suppress(TypeError, ValueError):
                haystack += json.dumps(output, default=str, ensure_ascii=False)
        for number, needle in enumerate(needles):
            if needle and needle in haystack:
                raise PIILeakError(f"secret #{number} appears in output #{index}")


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a broken record must not break the test
            self.lines.append(str(record.msg))


class LeakGuard:
    """Capture log output in a block and fail if it contains personal data.

    >>> import logging
    >>> with LeakGuard():
    ...     logging.getLogger("app").warning("client paid invoice INV-7")
    """

    def __init__(self, logger: str | None = None, *, kinds: Iterable[str] | None = None,
                 secrets: Iterable[str] = ()) -> None:
        self._logger = logging.getLogger(logger)
        self._kinds = list(kinds) if kinds is not None else None
        self._secrets = list(secrets)
        self._handler = _Collector()
        self._old_level = self._logger.level
        self._events: list[dict[str, Any]] = []
        self._structlog_processors: list[Any] | None = None

    @property
    def lines(self) -> list[str]:
        """The formatted log lines captured so far."""
        return list(self._handler.lines)

    def __enter__(self) -> LeakGuard:
        self._logger.addHandler(self._handler)
        if self._logger.getEffectiveLevel() > logging.DEBUG:
            self._logger.setLevel(logging.DEBUG)
        self._watch_structlog()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        __tracebackhide__ = True
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._old_level)
        self._unwatch_structlog()
        if exc_type is None:
            self.check()

    def _watch_structlog(self) -> None:
        """Also see structlog events, as they reach the renderer (after any redaction).

        Only when the application has imported structlog. A collecting processor goes
        in just before the last processor (the renderer) for the block; loggers that
        structlog cached with ``cache_logger_on_first_use`` keep their old chain.
        """
        structlog = sys.modules.get("structlog")
        if structlog is None:
            return
        processors = list(structlog.get_config()["processors"])
        events = self._events

        def collect(logger: object, method: str, event_dict: Any) -> Any:
            events.append(dict(event_dict))
            return event_dict

        at = max(len(processors) - 1, 0)
        structlog.configure(processors=[*processors[:at], collect, *processors[at:]])
        self._structlog_processors = processors

    def _unwatch_structlog(self) -> None:
        structlog = sys.modules.get("structlog")
        if structlog is not None and self._structlog_processors is not None:
            structlog.configure(processors=self._structlog_processors)
        self._structlog_processors = None

    def clear(self) -> None:
        """Forget the lines (and structlog events) captured so far."""
        self._handler.lines.clear()
        self._events.clear()

    def check(self) -> None:
        """Raise :class:`PIILeakError` if the captured output contains personal data."""
        __tracebackhide__ = True
        assert_no_pii([self._handler.lines, self._events], kinds=self._kinds)
        if self._secrets:
            assert_not_leaked(self._secrets, self._handler.lines,
                              [repr(e) for e in self._events])
