"""Retention rules, durations and the records they apply to.

A :class:`RetentionRule` says how long a class of records (or a set of data
categories) must be kept (a *minimum*) or may be kept at most (a *maximum*), from
which trigger, at what granularity, and what happens afterwards. Every rule cites its
legal source; a rule without one is refused.

A record is anything shaped like :class:`RecordLike`; :class:`RetentionRecord` is the
ready-made frozen dataclass. Records carry ids, classes, categories and dates only,
never the personal data itself.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from ..errors import InvalidTimeError, RetentionError

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "DisposalAction",
    "Duration",
    "Granularity",
    "PERMANENT",
    "RecordLike",
    "RetentionRecord",
    "RetentionRule",
    "RuleKind",
    "Trigger",
]

DateLike = _dt.datetime | _dt.date
"""An aware datetime (an instant) or a plain date (a day in the organisation's zone)."""


class Trigger(enum.StrEnum):
    """The event from which a retention period is counted.

    Event triggers look the event up in the record's ``events`` mapping under the
    trigger's value (``"relationship_end"`` …) or, for :attr:`CUSTOM`, under the
    rule's ``event`` name. An event that has not happened yet means *not due*.
    """

    CREATED = "created"
    """The record's ``created`` date."""
    FISCAL_YEAR_END = "fiscal_year_end"
    """The end of the fiscal year the record belongs to (会计档案管理办法 Art. 14)."""
    CALENDAR_YEAR_END = "calendar_year_end"
    """31 December of the calendar year the record belongs to."""
    RELATIONSHIP_END = "relationship_end"
    """The end of the business relationship with the customer."""
    TRANSACTION_BOOKED = "transaction_booked"
    """The booking of the transaction the record documents."""
    ASSET_DISPOSED = "asset_disposed"
    """The disposal (报废清理) of the fixed asset the record describes."""
    CONSENT_WITHDRAWN = "consent_withdrawn"
    """The withdrawal of the consent the processing relied on."""
    CONTRACT_END = "contract_end"
    """The end of the contract the record belongs to."""
    CUSTOM = "custom"
    """A named event of the application's choosing (the rule's ``event``)."""


class Granularity(enum.StrEnum):
    """How the end of a period is rounded.

    * ``instant``: exact elapsed calendar time from the trigger instant;
    * ``day``: kept through the whole last day (民法典 Art. 201-203: the day of the
      event is not counted, the period ends at 24:00 of its last day);
    * ``year``: kept through the end of the fiscal year in which the day-rounded
      period ends, for firms that dispose in one sweep a year.
    """

    INSTANT = "instant"
    DAY = "day"
    YEAR = "year"


class RuleKind(enum.StrEnum):
    """Whether a rule sets a minimum keep (a duty to keep) or a maximum keep."""

    MINIMUM = "minimum"
    """Must be kept at least this long (accounting, tax, AML record-keeping)."""
    MAXIMUM = "maximum"
    """Must not be kept longer (storage limitation: PIPL Art. 19, GDPR Art. 5(1)(e))."""


class DisposalAction(enum.StrEnum):
    """What happens to a record once its period has run."""

    DELETE = "delete"
    ANONYMISE = "anonymise"
    CRYPTO_SHRED = "crypto_shred"
    ARCHIVE = "archive"
    REVIEW = "review"


@dataclasses.dataclass(frozen=True, slots=True)
class Duration:
    """A retention period: years, months and days, or permanent.

    Years and months are added on the calendar; when the corresponding day does not
    exist (29 February in a common year, 31 April) the last day of that month is
    used (民法典 Art. 202). Use :data:`PERMANENT` for records kept for ever.

    >>> str(Duration(years=30))
    '30 years'
    >>> Duration(years=10).label_zh
    '10年'
    """

    years: int = 0
    months: int = 0
    days: int = 0
    permanent: bool = False

    def __post_init__(self) -> None:
        for name in ("years", "months", "days"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise RetentionError(f"Duration.{name} must be a non-negative integer")
        if self.permanent and (self.years or self.months or self.days):
            raise RetentionError("a permanent Duration has no years, months or days")

    def __str__(self) -> str:
        if self.permanent:
            return "permanent"
        parts = [
            f"{n} {unit}{'' if n == 1 else 's'}"
            for n, unit in ((self.years, "year"), (self.months, "month"), (self.days, "day"))
            if n
        ]
        return " ".join(parts) or "0 days"

    @property
    def label_zh(self) -> str:
        """The period as written in a Chinese archive table: ``30年``, ``永久``."""
        if self.permanent:
            return "永久"
        parts = [
            f"{n}{unit}"
            for n, unit in ((self.years, "年"), (self.months, "个月"), (self.days, "天"))
            if n
        ]
        return "".join(parts) or "0天"

    def sort_key(self) -> tuple[int, int]:
        """Return an approximate ordering key (months, days); permanent sorts last."""
        if self.permanent:
            return (1 << 62, 0)
        return (self.years * 12 + self.months, self.days)


PERMANENT = Duration(permanent=True)
"""Kept for ever: never due (e.g. annual financial reports, 会计档案管理办法 Annex 1)."""


def is_count(value: object, low: int = 0, high: int | None = None) -> bool:
    """Return True for an int (not a bool) between ``low`` and ``high`` inclusive."""
    return (isinstance(value, int) and not isinstance(value, bool) and value >= low
            and (high is None or value <= high))


def is_name(value: object) -> bool:
    """Return True for a string with something other than white space in it."""
    return isinstance(value, str) and bool(value.strip())


def _frozen_names(value: object, owner: str, field: str) -> frozenset[str]:
    if isinstance(value, str):
        raise RetentionError(f"{owner}: {field} must be a set of names, not a single string")
    try:
        names: frozenset[object] = frozenset(value)  # type: ignore[call-overload]
    except TypeError:
        raise RetentionError(f"{owner}: {field} must be a set of names") from None
    out = frozenset(n for n in names if isinstance(n, str) and n)
    if len(out) != len(names):
        raise RetentionError(f"{owner}: {field} must contain non-empty strings")
    return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetentionRule:
    """One retention requirement, with the legal source it comes from.

    A rule applies to a record when the record's class is in ``record_classes`` or
    one of its data categories is in ``data_categories``. For a minimum rule,
    ``data_categories`` also names the fields it needs; a minimum rule with no
    categories needs the whole record. The organisation's fiscal-year end and IANA
    zone belong to the :class:`~finprivacy.retention.RetentionSchedule` holding the
    rule.

    Raises :class:`~finprivacy.errors.RetentionError` when the source citation is
    missing, when the rule names neither record classes nor data categories, or when a
    custom trigger has no event name.
    """

    key: str
    """A stable identifier, e.g. ``cn.kjda2015.voucher``."""
    source: str
    """The legal citation (law, article, annex row). Required and non-empty."""
    duration: Duration
    """How long: years/months/days or :data:`PERMANENT`."""
    trigger: Trigger = Trigger.CREATED
    """What starts the clock."""
    record_classes: frozenset[str] = frozenset()
    """Record classes the rule governs."""
    data_categories: frozenset[str] = frozenset()
    """Data categories the rule governs (and, for a minimum, the fields it needs)."""
    kind: RuleKind = RuleKind.MINIMUM
    """Minimum keep (duty to keep) or maximum keep (duty to dispose)."""
    granularity: Granularity = Granularity.DAY
    """How the end of the period is rounded."""
    action: DisposalAction = DisposalAction.DELETE
    """What to do once the period has run."""
    event: str = ""
    """The record event name for :attr:`Trigger.CUSTOM`."""
    version: str = "1"
    """The rule's version; bump it when the period or source changes."""
    title: str = ""
    """A human name for certificates, e.g. ``记账凭证 (bookkeeping vouchers)``."""

    def __post_init__(self) -> None:
        if not is_name(self.key):
            raise RetentionError("a RetentionRule needs a non-empty key")
        if not is_name(self.source):
            raise RetentionError(
                f"retention rule {self.key!r} has no source citation; every rule must "
                "cite the law, article or policy it implements"
            )
        if not isinstance(self.duration, Duration):
            raise RetentionError(f"retention rule {self.key!r}: duration must be a Duration")
        for name, enum_type in (("trigger", Trigger), ("kind", RuleKind),
                                ("granularity", Granularity), ("action", DisposalAction)):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, enum_type(value))
            except ValueError:
                raise RetentionError(
                    f"retention rule {self.key!r}: unknown {name}"
                ) from None
        owner = f"retention rule {self.key!r}"
        object.__setattr__(self, "record_classes",
                           _frozen_names(self.record_classes, owner, "record_classes"))
        object.__setattr__(self, "data_categories",
                           _frozen_names(self.data_categories, owner, "data_categories"))
        if not self.record_classes and not self.data_categories:
            raise RetentionError(f"{owner} names neither record classes nor data categories")
        if self.trigger is Trigger.CUSTOM and not self.event:
            raise RetentionError(f"{owner} has a custom trigger but no event name")
        if self.trigger is not Trigger.CUSTOM and self.event:
            raise RetentionError(f"{owner}: 'event' is only used with Trigger.CUSTOM")

    @property
    def event_name(self) -> str:
        """The name looked up in a record's ``events`` for event triggers."""
        return self.event if self.trigger is Trigger.CUSTOM else self.trigger.value

    @property
    def label(self) -> str:
        """The title if any, else the key."""
        return self.title or self.key


@runtime_checkable
class RecordLike(Protocol):
    """What retention needs to know about a record: ids, class, categories and dates.

    Dates are aware datetimes (instants) or plain dates (days in the organisation's
    zone). Naive datetimes are refused with :class:`~finprivacy.errors.InvalidTimeError`.
    """

    @property
    def id(self) -> str:
        """The record's id in the application."""
        ...

    @property
    def record_class(self) -> str:
        """The record class the schedule's rules are keyed by."""
        ...

    @property
    def created(self) -> DateLike:
        """When the record was made (a voucher's date, a statement's date)."""
        ...

    @property
    def subject(self) -> str:
        """The data subject (client) id, or ``""``."""
        ...

    @property
    def name(self) -> str:
        """A human name for certificates, or ``""`` to use the id."""
        ...

    @property
    def data_categories(self) -> frozenset[str]:
        """The data categories the record holds."""
        ...

    @property
    def period_end(self) -> DateLike | None:
        """The end of the period the record covers (decides its fiscal year), or None."""
        ...

    @property
    def events(self) -> Mapping[str, DateLike]:
        """Events that happened to the record, by name (``relationship_end`` …)."""
        ...


def check_date(value: object, field: str, record_id: str | None = None) -> DateLike:
    """Return ``value`` if it is an aware datetime or a date; raise InvalidTimeError.

    The message names ``field`` (and the record id, if given), never the value; it is
    only formatted when the check fails.
    """
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise InvalidTimeError(f"{_where(field, record_id)} must be timezone-aware "
                                   "(got a naive datetime)")
        return value
    if isinstance(value, _dt.date):
        return value
    raise InvalidTimeError(f"{_where(field, record_id)} must be a date or an aware datetime")


def _where(field: str, record_id: str | None) -> str:
    return field if record_id is None else f"record {record_id!r}: {field}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetentionRecord:
    """A record as retention sees it: its id, class, subject, categories and dates.

    >>> import datetime as dt
    >>> r = RetentionRecord(id="v-1", record_class="bookkeeping_voucher",
    ...                     created=dt.date(2024, 3, 15))
    >>> r.label
    'v-1'
    """

    id: str
    """The record's id in the application."""
    record_class: str
    """The record class (``bookkeeping_voucher``, ``bank_statement`` …)."""
    created: DateLike
    """When the record was made: an aware datetime or a date in the organisation's zone."""
    subject: str = ""
    """The data subject (client) id, if the record is about one person."""
    name: str = dataclasses.field(default="", repr=False)
    """A human name for the disposal certificate (档案名称); defaults to the id.

    Left out of ``repr`` because a name may name a person."""
    data_categories: frozenset[str] = frozenset()
    """The data categories the record holds (``identity``, ``contact``, ``transactions`` …)."""
    period_end: DateLike | None = None
    """The end of the period the record covers; decides its fiscal year when given."""
    events: Mapping[str, DateLike] = dataclasses.field(default_factory=dict, hash=False)
    """Events that happened, by trigger name: ``relationship_end``, ``asset_disposed`` …"""

    def __post_init__(self) -> None:
        if not is_name(self.id):
            raise RetentionError("a RetentionRecord needs a non-empty id")
        if not is_name(self.record_class):
            raise RetentionError(f"record {self.id!r} needs a record class")
        check_date(self.created, "created", self.id)
        if self.period_end is not None:
            check_date(self.period_end, "period_end", self.id)
        for event, when in self.events.items():
            check_date(when, f"event {event!r}", self.id)
        if not isinstance(self.data_categories, frozenset):
            object.__setattr__(self, "data_categories", _frozen_names(
                self.data_categories, f"record {self.id!r}", "data_categories"))

    @property
    def label(self) -> str:
        """The name if any, else the id."""
        return self.name or self.id
