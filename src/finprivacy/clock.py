"""Injected time.

Everything in finprivacy that needs the current time asks a :class:`Clock`, so
tests pin time without monkeypatching. Clocks return timezone-aware UTC datetimes.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import threading
from typing import Protocol, runtime_checkable

from .errors import InvalidTimeError

__all__ = ["Clock", "FixedClock", "SystemClock", "add_months", "ensure_aware", "utc"]

UTC = _dt.UTC


@runtime_checkable
class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> _dt.datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The operating system's clock, in UTC."""

    __slots__ = ()

    def now(self) -> _dt.datetime:
        """Return ``datetime.now(UTC)``."""
        return _dt.datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that stands still until told to move; for tests and replays.

    >>> import datetime as dt
    >>> c = FixedClock(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    >>> c.advance(dt.timedelta(days=1)).isoformat()
    '2024-01-02T00:00:00+00:00'
    """

    __slots__ = ("_lock", "_now")

    def __init__(self, now: _dt.datetime) -> None:
        self._now = ensure_aware(now, "now").astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> _dt.datetime:
        """Return the fixed time."""
        return self._now

    def set(self, now: _dt.datetime) -> None:
        """Move the clock to ``now`` (aware)."""
        with self._lock:
            self._now = ensure_aware(now, "now").astimezone(UTC)

    def advance(self, delta: _dt.timedelta) -> _dt.datetime:
        """Move the clock forward by ``delta`` and return the new time."""
        with self._lock:
            self._now = self._now + delta
            return self._now

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()})"


def ensure_aware(value: _dt.datetime, name: str = "datetime") -> _dt.datetime:
    """Return ``value`` if it is timezone-aware; raise :class:`InvalidTimeError` otherwise."""
    if not isinstance(value, _dt.datetime):
        raise InvalidTimeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InvalidTimeError(f"{name} must be timezone-aware (got a naive datetime)")
    return value


def utc(value: _dt.datetime, name: str = "datetime") -> _dt.datetime:
    """Return an aware ``value`` converted to UTC; naive datetimes are refused."""
    return ensure_aware(value, name).astimezone(UTC)


def add_months(day: _dt.date, months: int) -> _dt.date:
    """Return ``day`` moved ``months`` calendar months (back if negative), day clamped.

    When the later month has no such day, the period ends on its last day: the rule
    of 民法典 Art. 202 ("没有对应日的，月末日为期间的最后一日") and of EU Regulation
    1182/71 Art. 3(2)(c) (a period from 31 January ends on 28 or 29 February).
    Retention periods and request deadlines both count months with it. Past the year
    9999 it raises :class:`OverflowError` (callers turn it into their own error).

    >>> add_months(_dt.date(2024, 1, 31), 1)
    datetime.date(2024, 2, 29)
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    if not _dt.MINYEAR <= year <= _dt.MAXYEAR:
        raise OverflowError("date value out of range")
    return _dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
