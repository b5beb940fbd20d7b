"""Retention schedules: a set of rules for one organisation, and exact retention dates.

How a date is computed (see ``docs/explanation/retention.md``):

1. The trigger gives a day *E* in the organisation's IANA zone: for
   ``fiscal_year_end`` the last day of the fiscal year the record belongs to (decided
   from ``period_end`` or ``created`` converted to the zone, never in UTC); for
   ``created`` and event triggers the local day of that instant or date.
2. The clock starts the next day (会计档案管理办法 Art. 14: "从会计年度终了后的第一天算
   起"; 民法典 Art. 201: the starting day is not counted).
3. The last day kept (``kept_through``) is the day corresponding to *E* after the
   duration's years and months (then days); when that day does not exist (29 February
   in a common year) it is the last day of that month (民法典 Art. 202).
4. ``year`` granularity rounds ``kept_through`` up to the end of its fiscal year;
   ``instant`` granularity adds the duration to the trigger instant instead.
5. The record may be disposed of from ``disposable_from``: 00:00 of the day after
   ``kept_through`` in the organisation's zone (民法典 Art. 203: a period ends at 24:00
   of its last day).

A voucher dated 2024-03-15 under a 30-year fiscal-year rule (fiscal year = calendar
year) is kept through 2054-12-31 and disposable from 2055-01-01 00:00 local time.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as _dt
import functools
import zoneinfo
from collections.abc import Iterable, Sequence

from ..clock import add_months
from ..errors import InvalidTimeError, RetentionError
from ._model import (
    DateLike,
    Granularity,
    RecordLike,
    RetentionRule,
    RuleKind,
    Trigger,
    check_date,
    is_name,
)

__all__ = ["FiscalPeriod", "RetentionPeriod", "RetentionSchedule", "add_duration"]

_ONE_DAY = _dt.timedelta(days=1)


def _zone(name: str) -> zoneinfo.ZoneInfo:
    if not is_name(name):
        raise InvalidTimeError("zone must be an IANA time zone name such as 'Asia/Shanghai'")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidTimeError(f"unknown IANA time zone {name!r}") from None


def _clamp(year: int, month: int, day: int) -> _dt.date:
    """``year-month-day``, or the last day of that month when ``day`` does not exist."""
    if day <= 28:
        return _dt.date(year, month, day)
    return _dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def add_duration(day: _dt.date, years: int = 0, months: int = 0, days: int = 0) -> _dt.date:
    """Add a calendar duration to ``day``; a missing day becomes the month's last day.

    This is the rule of 民法典 Art. 202 ("没有对应日的，月末日为期间的最后一日"):

    >>> add_duration(_dt.date(2024, 2, 29), years=1)
    datetime.date(2025, 2, 28)
    >>> add_duration(_dt.date(2024, 2, 29), years=4)
    datetime.date(2028, 2, 29)
    """
    try:
        return add_months(day, 12 * years + months) + _dt.timedelta(days=days)
    except OverflowError:
        raise RetentionError("a retention period runs past the year 9999") from None


@dataclasses.dataclass(frozen=True, slots=True)
class FiscalPeriod:
    """One fiscal year of the organisation: first and last day, in its zone."""

    start: _dt.date
    end: _dt.date

    @property
    def label(self) -> str:
        """``2024`` for a calendar fiscal year, ``2024/2025`` when it spans two years."""
        if self.start.year == self.end.year:
            return str(self.end.year)
        return f"{self.start.year}/{self.end.year}"


@dataclasses.dataclass(frozen=True, slots=True)
class RetentionPeriod:
    """The outcome of one rule for one record.

    ``kept_through`` is the last day (in the organisation's zone) the record must be
    (or may be, for a maximum) kept; ``disposable_from`` the first instant after it.
    Both are ``None`` when the rule is permanent or its trigger event has not
    happened (``pending_event`` names it).
    """

    rule: RetentionRule
    """The rule this period comes from."""
    starts: _dt.date | None
    """The first day counted (the day after the trigger day), or None if pending."""
    kept_through: _dt.date | None
    """The last day kept, in the organisation's zone; None if permanent or pending."""
    disposable_from: _dt.datetime | None
    """The first instant at which the period has run (aware, organisation's zone)."""
    pending_event: str = ""
    """The trigger event that has not happened yet, if any."""

    @property
    def permanent(self) -> bool:
        """True when the rule keeps the record for ever."""
        return self.rule.duration.permanent

    _due_utc: _dt.datetime | None = dataclasses.field(default=None, init=False, repr=False,
                                                      compare=False)

    def __post_init__(self) -> None:
        if self.disposable_from is not None:
            object.__setattr__(self, "_due_utc", self.disposable_from.astimezone(_dt.UTC))

    def is_due(self, now: _dt.datetime) -> bool:
        """Return True when the period has run at the aware instant ``now``."""
        due = self._due_utc
        if now.tzinfo is None:
            raise InvalidTimeError("now must be timezone-aware (got a naive datetime)")
        return due is not None and now >= due

    def _order(self) -> tuple[int, _dt.datetime]:
        # Longest first: permanent and pending periods never end.
        if self.disposable_from is None:
            return (1, _dt.datetime.max.replace(tzinfo=_dt.UTC))
        return (0, self.disposable_from)


class RetentionSchedule:
    """The retention rules of one organisation, with its IANA zone and fiscal-year end.

    ``zone`` decides which fiscal year a record falls in (a record booked at 23:30 on
    31 December in Shanghai is in that year even though it is 15:30 UTC).
    ``fiscal_year_end`` is ``(month, day)``; ``(12, 31)`` is the calendar year (会计法
    Art. 11); ``(2, 29)`` means the last day of February every year. Rule keys must be
    unique.

    Raises :class:`~finprivacy.errors.InvalidTimeError` for an unknown zone or an
    impossible fiscal-year end and :class:`~finprivacy.errors.RetentionError` for
    duplicate rule keys or an empty schedule.
    """

    __slots__ = ("_by_category", "_by_class", "_by_key", "_cache", "_fiscal", "_fye", "_rules",
                 "_tz", "name", "zone")

    def __init__(self, rules: Iterable[RetentionRule], *, zone: str,
                 fiscal_year_end: tuple[int, int] = (12, 31), name: str = "") -> None:
        self._tz = _zone(zone)
        self.zone: str = zone
        """The organisation's IANA time zone name."""
        try:
            month, day = fiscal_year_end
            _dt.date(2024, month, day)  # a leap year accepts every real (month, day)
        except (TypeError, ValueError):
            raise InvalidTimeError("fiscal_year_end must be a real (month, day) pair") from None
        self._fye = (month, day)
        self.name: str = name
        """A label for the schedule, shown on certificates."""
        rules = tuple(rules)
        if not rules:
            raise RetentionError("a RetentionSchedule needs at least one rule")
        seen: set[str] = set()
        by_class: dict[str, list[RetentionRule]] = {}
        by_category: dict[str, list[RetentionRule]] = {}
        for rule in rules:
            if not isinstance(rule, RetentionRule):
                raise RetentionError("a RetentionSchedule holds RetentionRule objects only")
            if rule.key in seen:
                raise RetentionError(f"duplicate retention rule key {rule.key!r}")
            seen.add(rule.key)
            for cls in rule.record_classes:
                by_class.setdefault(cls, []).append(rule)
            for cat in rule.data_categories:
                by_category.setdefault(cat, []).append(rule)
        self._rules = rules
        self._by_key = {rule.key: rule for rule in rules}
        self._by_class = {k: tuple(v) for k, v in by_class.items()}
        self._by_category = {k: tuple(v) for k, v in by_category.items()}
        self._cache = functools.lru_cache(maxsize=4096)(self._day_period)
        self._fiscal = functools.lru_cache(maxsize=4096)(self._fiscal_period)

    def __repr__(self) -> str:
        return (f"RetentionSchedule(name={self.name!r}, zone={self.zone!r}, "
                f"fiscal_year_end={self._fye!r}, rules={len(self._rules)})")

    # -- introspection ---------------------------------------------------------------
    @property
    def rules(self) -> tuple[RetentionRule, ...]:
        """The schedule's rules, in the order given."""
        return self._rules

    @property
    def fiscal_year_end(self) -> tuple[int, int]:
        """The organisation's fiscal-year end as ``(month, day)``."""
        return self._fye

    @property
    def record_classes(self) -> frozenset[str]:
        """Every record class some rule governs."""
        return frozenset(self._by_class)

    def rule(self, key: str) -> RetentionRule:
        """Return the rule with ``key``; :class:`~finprivacy.errors.RetentionError` if absent."""
        try:
            return self._by_key[key]
        except KeyError:
            raise RetentionError(f"no retention rule with key {key!r}") from None

    def with_rules(self, *rules: RetentionRule, name: str | None = None) -> RetentionSchedule:
        """Return a new schedule with ``rules`` added (same zone and fiscal-year end)."""
        return RetentionSchedule((*self._rules, *rules), zone=self.zone,
                                 fiscal_year_end=self._fye,
                                 name=self.name if name is None else name)

    # -- calendar --------------------------------------------------------------------
    def local_date(self, value: DateLike, field: str = "date",
                   record_id: str | None = None) -> _dt.date:
        """Return the day ``value`` falls on in the organisation's zone (dates pass through)."""
        value = check_date(value, field, record_id)
        if isinstance(value, _dt.datetime):
            return value.astimezone(self._tz).date()
        return value

    def _fy_end_in(self, year: int) -> _dt.date:
        return _clamp(year, *self._fye)

    def fiscal_period(self, value: DateLike) -> FiscalPeriod:
        """Return the fiscal year containing ``value`` (an aware instant or a local date)."""
        return self._fiscal(self.local_date(value))

    def _fiscal_period(self, day: _dt.date) -> FiscalPeriod:
        end = self._fy_end_in(day.year)
        if day > end:
            return FiscalPeriod(end + _ONE_DAY, self._fy_end_in(day.year + 1))
        return FiscalPeriod(self._fy_end_in(day.year - 1) + _ONE_DAY, end)

    def _midnight(self, day: _dt.date) -> _dt.datetime:
        return _dt.datetime(day.year, day.month, day.day, tzinfo=self._tz)

    # -- periods ---------------------------------------------------------------------
    def rules_for(self, record: RecordLike) -> tuple[RetentionRule, ...]:
        """Return the rules that apply to ``record`` (by class, then by data category).

        Raises :class:`~finprivacy.errors.RetentionError` when none does: an unknown
        record class is a configuration mistake, never a reason to dispose.
        """
        found = self._by_class.get(record.record_class, ())
        cats = record.data_categories
        if cats and self._by_category:
            extra = [r for c in sorted(cats) for r in self._by_category.get(c, ())
                     if r not in found]
            if extra:
                found = tuple(dict.fromkeys((*found, *extra)))
        if not found:
            raise RetentionError(
                f"no retention rule for record class {record.record_class!r} "
                f"(record {record.id!r})"
            )
        return found

    def period(self, rule: RetentionRule, record: RecordLike) -> RetentionPeriod:
        """Compute ``rule``'s period for ``record``: start, last day kept, disposable instant."""
        trigger = rule.trigger
        if trigger is Trigger.FISCAL_YEAR_END or trigger is Trigger.CALENDAR_YEAR_END:
            if record.period_end is not None:
                day = self.local_date(record.period_end, "period_end", record.id)
            else:
                day = self.local_date(record.created, "created", record.id)
            if trigger is Trigger.FISCAL_YEAR_END:
                event_day = self.fiscal_period(day).end
            else:
                event_day = _dt.date(day.year, 12, 31)
            start: DateLike = event_day
        elif trigger is Trigger.CREATED:
            start = check_date(record.created, "created", record.id)
        else:
            name = rule.event_name
            when = record.events.get(name)
            if when is None:
                return RetentionPeriod(rule, None, None, None, pending_event=name)
            start = check_date(when, f"event {name!r}", record.id)
        if rule.duration.permanent:
            return RetentionPeriod(rule, self.local_date(start) + _ONE_DAY, None, None)
        if rule.granularity is Granularity.INSTANT:
            return self._instant_period(rule, start)
        return self._cache(rule.key, self.local_date(start))

    def _day_period(self, key: str, event_day: _dt.date) -> RetentionPeriod:
        rule = self._by_key[key]
        d = rule.duration
        kept = add_duration(event_day, d.years, d.months, d.days)
        if rule.granularity is Granularity.YEAR:
            kept = self.fiscal_period(kept).end
        return RetentionPeriod(rule, event_day + _ONE_DAY, kept,
                               self._midnight(kept + _ONE_DAY))

    def _instant_period(self, rule: RetentionRule, start: DateLike) -> RetentionPeriod:
        if isinstance(start, _dt.datetime):
            local = start.astimezone(self._tz)
        else:  # a day given without a time: count from the end of that day
            local = self._midnight(start + _ONE_DAY)
        d = rule.duration
        day = add_duration(local.date(), d.years, d.months, d.days)
        until = local.replace(year=day.year, month=day.month, day=day.day, fold=0)
        # Normalise through UTC so a wall time inside a DST gap gets a real instant.
        until = until.astimezone(_dt.UTC).astimezone(self._tz)
        kept = (until - _dt.timedelta(microseconds=1)).date()
        return RetentionPeriod(rule, local.date(), kept, until)

    def periods(self, record: RecordLike) -> tuple[RetentionPeriod, ...]:
        """Compute the period of every rule that applies to ``record``."""
        return tuple([self.period(rule, record) for rule in self.rules_for(record)])

    def retain_until(self, record: RecordLike) -> RetentionPeriod:
        """Return the period that decides when ``record`` as a whole may be disposed of.

        Several minimum rules: the longest wins (permanent and pending-event periods
        count as longest). No minimum rule: the earliest maximum. A maximum never
        shortens a minimum for the whole record; see :func:`~finprivacy.retention.plan`
        for how a maximum applies to the fields a minimum does not need.
        """
        periods = self.periods(record)
        return governing(periods)


def governing(periods: Sequence[RetentionPeriod]) -> RetentionPeriod:
    """Return the longest minimum period, or the earliest maximum if there is no minimum."""
    minimums = [p for p in periods if p.rule.kind is RuleKind.MINIMUM]
    if minimums:
        return max(minimums, key=RetentionPeriod._order)
    return min(periods, key=RetentionPeriod._order)
