"""Monitoring rules over the audit stream: bulk reads, off-hours access, break-glass, denials.

A :class:`Monitor` sees every event an :class:`~finprivacy.audit.AuditLog` appends
(or that you feed it with :meth:`Monitor.observe`). Each rule keeps only what its
window needs, so a check costs O(1) amortised per event: a sliding window is a deque
of ``(time, subject)`` plus a count per subject, trimmed from the left as time moves.
Alerts go to your callbacks and, when the monitor is attached to a log, are appended
to the log themselves (``action="monitor.alert"``, ``decision="alert"``).

The rules follow the monitoring duties of ISO/IEC 27001:2022 Annex A 8.15-8.16
(logging and monitoring activities) and PIPL article 51 (measures against
unauthorised access to personal information).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as _dt
import logging
import threading
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from ..clock import utc
from ..errors import ConfigurationError, InvalidTimeError
from .events import AuditEvent

__all__ = [
    "ALERT_ACTION",
    "Alert",
    "BreakGlassRule",
    "BulkReadRule",
    "DeniedBurstRule",
    "Monitor",
    "MonitorRule",
    "OffHoursRule",
]

ALERT_ACTION = "monitor.alert"
"""The action of the entries that record alerts; rules never alert on them."""

_SEEN = ("allowed", "masked")
_LOG = logging.getLogger("finprivacy.audit")


def _positive(value: object, zero: int | _dt.timedelta) -> bool:
    if isinstance(zero, int):
        return isinstance(value, int) and not isinstance(value, bool) and value > zero
    return isinstance(value, _dt.timedelta) and value > zero


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """A rule fired. ``message`` names the actor, counts and the window, never data values."""

    rule: str
    """The rule's name (``bulk_read``, ``off_hours``, ``break_glass``, ``denied_burst``)."""
    actor: str
    """The actor whose behaviour fired the rule."""
    time: _dt.datetime
    """The time of the event that fired it (aware UTC)."""
    message: str
    """A human-readable description."""
    count: int = 0
    """The count that crossed the threshold (distinct subjects, denials), if any."""

    def to_event(self) -> AuditEvent:
        """Return the :class:`AuditEvent` that records this alert in the log."""
        return AuditEvent(action=ALERT_ACTION, actor="finprivacy.monitor", decision="alert",
                          reason=self.rule, time=self.time,
                          details={"actor": self.actor, "count": str(self.count),
                                   "message": self.message})


@runtime_checkable
class MonitorRule(Protocol):
    """A monitoring rule: look at one event, maybe return an :class:`Alert`."""

    name: str

    def observe(self, event: AuditEvent, time: _dt.datetime) -> Alert | None:
        """Look at ``event`` (which happened at aware-UTC ``time``)."""
        ...


def _positive_window(window: _dt.timedelta) -> _dt.timedelta:
    if not _positive(window, _dt.timedelta(0)):
        raise ConfigurationError("a monitoring window must be a positive timedelta")
    return window


class BulkReadRule:
    """Alert when one actor reads more than ``max_subjects`` distinct subjects within ``window``.

    Sliding window, O(1) amortised per event. After an alert the rule stays quiet
    for that actor for one window, so a bulk export raises one alert, not thousands.
    """

    name = "bulk_read"

    def __init__(self, max_subjects: int, window: _dt.timedelta, *,
                 actions: Iterable[str] = ("read", "export")) -> None:
        if not _positive(max_subjects, 0):
            raise ConfigurationError("max_subjects must be a positive integer")
        self.max_subjects = max_subjects
        self.window = _positive_window(window)
        self.actions = frozenset(actions)
        self._recent: dict[str, collections.deque[tuple[_dt.datetime, str]]] = {}
        self._counts: dict[str, dict[str, int]] = {}
        self._quiet_until: dict[str, _dt.datetime] = {}

    def __repr__(self) -> str:
        return f"BulkReadRule(max_subjects={self.max_subjects}, window={self.window})"

    def observe(self, event: AuditEvent, time: _dt.datetime) -> Alert | None:
        """Count the subject in the actor's window; alert once when the count passes the limit."""
        if (event.action not in self.actions or event.decision not in _SEEN
                or not event.subject or not event.actor):
            return None
        actor = event.actor
        recent = self._recent.setdefault(actor, collections.deque())
        counts = self._counts.setdefault(actor, {})
        recent.append((time, event.subject))
        counts[event.subject] = counts.get(event.subject, 0) + 1
        horizon = time - self.window
        while recent and recent[0][0] <= horizon:
            _, old = recent.popleft()
            left = counts[old] - 1
            if left:
                counts[old] = left
            else:
                del counts[old]
        distinct = len(counts)
        if distinct <= self.max_subjects:
            return None
        quiet = self._quiet_until.get(actor)
        if quiet is not None and time < quiet:
            return None
        self._quiet_until[actor] = time + self.window
        return Alert(rule=self.name, actor=actor, time=time, count=distinct,
                     message=f"{actor} read {distinct} distinct subjects within {self.window} "
                             f"(limit {self.max_subjects})")


class DeniedBurstRule:
    """Alert when one actor is denied more than ``max_denied`` times within ``window``."""

    name = "denied_burst"

    def __init__(self, max_denied: int, window: _dt.timedelta) -> None:
        if not _positive(max_denied, 0):
            raise ConfigurationError("max_denied must be a positive integer")
        self.max_denied = max_denied
        self.window = _positive_window(window)
        self._recent: dict[str, collections.deque[_dt.datetime]] = {}
        self._quiet_until: dict[str, _dt.datetime] = {}

    def __repr__(self) -> str:
        return f"DeniedBurstRule(max_denied={self.max_denied}, window={self.window})"

    def observe(self, event: AuditEvent, time: _dt.datetime) -> Alert | None:
        """Count a denial in the actor's window; alert once when it passes the limit."""
        if event.decision != "denied" or not event.actor:
            return None
        recent = self._recent.setdefault(event.actor, collections.deque())
        recent.append(time)
        horizon = time - self.window
        while recent and recent[0] <= horizon:
            recent.popleft()
        if len(recent) <= self.max_denied:
            return None
        quiet = self._quiet_until.get(event.actor)
        if quiet is not None and time < quiet:
            return None
        self._quiet_until[event.actor] = time + self.window
        return Alert(rule=self.name, actor=event.actor, time=time, count=len(recent),
                     message=f"{event.actor} was denied {len(recent)} times within "
                             f"{self.window} (limit {self.max_denied})")


class OffHoursRule:
    """Alert on access to a subject outside working hours in a named IANA time zone.

    Working hours are ``[start, end)`` local time on ``weekdays`` (Monday = 0), minus
    ``holidays`` (local dates). The zone's daylight-saving rules come from the IANA
    database through :mod:`zoneinfo`. ``cooldown`` limits alerts to one per actor per
    period.
    """

    name = "off_hours"

    def __init__(self, zone: str, *, start: _dt.time = _dt.time(8, 0),
                 end: _dt.time = _dt.time(19, 0), weekdays: Iterable[int] = range(5),
                 holidays: Iterable[_dt.date] = (),
                 cooldown: _dt.timedelta = _dt.timedelta(hours=1)) -> None:
        try:
            self.zone = zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            raise InvalidTimeError("unknown IANA time zone for OffHoursRule") from None
        if not start < end:
            raise ConfigurationError("working hours need start < end")
        self.start, self.end = start, end
        self.weekdays = frozenset(weekdays)
        self.holidays = frozenset(holidays)
        self.cooldown = cooldown
        self._last: dict[str, _dt.datetime] = {}

    def __repr__(self) -> str:
        return f"OffHoursRule({self.zone.key!r}, start={self.start}, end={self.end})"

    def is_working_time(self, time: _dt.datetime) -> bool:
        """Return True if aware ``time`` falls inside working hours in the rule's zone."""
        local = utc(time, "time").astimezone(self.zone)
        return (local.weekday() in self.weekdays and local.date() not in self.holidays
                and self.start <= local.time().replace(tzinfo=None) < self.end)

    def observe(self, event: AuditEvent, time: _dt.datetime) -> Alert | None:
        """Alert when a subject's data is seen outside working hours."""
        if not event.subject or not event.actor or event.decision not in _SEEN:
            return None
        if self.is_working_time(time):
            return None
        last = self._last.get(event.actor)
        if last is not None and time - last < self.cooldown:
            return None
        self._last[event.actor] = time
        local = time.astimezone(self.zone)
        return Alert(rule=self.name, actor=event.actor, time=time,
                     message=f"{event.actor} accessed client data at {local:%Y-%m-%d %H:%M} "
                             f"{self.zone.key}, outside working hours")


class BreakGlassRule:
    """Alert on every use of emergency (break-glass) access."""

    name = "break_glass"

    def __repr__(self) -> str:
        return "BreakGlassRule()"

    def observe(self, event: AuditEvent, time: _dt.datetime) -> Alert | None:
        """Alert when ``event.break_glass`` is set."""
        if not event.break_glass:
            return None
        return Alert(rule=self.name, actor=event.actor, time=time,
                     message=f"{event.actor or 'unknown actor'} used break-glass access"
                             + (f" ({event.reason})" if event.reason else ""))


AlertCallback = Callable[[Alert], object]


class Monitor:
    """Runs rules over events and hands alerts to callbacks.

    >>> import datetime as dt
    >>> seen = []
    >>> m = Monitor([BreakGlassRule()], on_alert=seen.append)
    >>> when = dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)
    >>> [a.rule for a in m.observe(AuditEvent(action="read", actor="amy", break_glass=True), when)]
    ['break_glass']
    >>> len(seen)
    1
    """

    def __init__(self, rules: Sequence[MonitorRule],
                 on_alert: AlertCallback | Sequence[AlertCallback] = ()) -> None:
        self.rules = tuple(rules)
        self.callbacks: tuple[AlertCallback, ...] = (
            (on_alert,) if callable(on_alert) else tuple(on_alert))
        self._lock = threading.Lock()
        self._latest: _dt.datetime | None = None

    def __repr__(self) -> str:
        return f"Monitor(rules={list(self.rules)!r})"

    def observe(self, event: AuditEvent, time: _dt.datetime | None = None) -> list[Alert]:
        """Run every rule on ``event`` and return (and call back with) the alerts.

        ``time`` defaults to ``event.time``. Time never goes backwards inside the
        monitor: an event older than the newest seen counts at the newest time.
        Alert entries themselves are ignored. A callback that raises is logged to the
        ``finprivacy.audit`` logger and does not stop the others.
        """
        if event.action == ALERT_ACTION:
            return []
        when = time if time is not None else event.time
        if when is None:
            raise InvalidTimeError("the event has no time; pass time=")
        when = utc(when, "time")
        with self._lock:
            if self._latest is not None and when < self._latest:
                when = self._latest
            self._latest = when
            alerts = [a for rule in self.rules
                      if (a := rule.observe(event, when)) is not None]
        for alert in alerts:
            for callback in self.callbacks:
                try:
                    callback(alert)
                except Exception:
                    # The event is already durable: a failing callback must not make the
                    # caller believe the append failed (and retry it). The alert itself
                    # is still returned and, under an AuditLog, appended to the log.
                    _LOG.exception("audit monitor callback failed for rule %s", alert.rule)
        return alerts

