"""Erasure against retention: what a subject's erasure request may remove now.

PIPL Art. 47 gives the individual a right to deletion, and its second paragraph
limits it: where the retention period set by laws or administrative regulations has
not expired, the handler stops all processing *except storage and the necessary
security measures*. GDPR Art. 17(3)(b) makes the same exception for a legal
obligation to retain. :func:`assess_erasure` applies a schedule and the active holds
to one subject's records and says, per record, what may be erased now, what must be
kept (restricted to storage and security) and until when.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Iterable
from typing import Literal

from ..clock import utc
from ..errors import InvalidInputError
from ._holds import HoldIndex, HoldStore, LegalHolds, resolve_hold_store
from ._model import RecordLike, RuleKind, is_name
from ._schedule import RetentionPeriod, RetentionSchedule

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "ErasureAssessment",
    "ErasureItem",
    "RESTRICTION_BASIS",
    "assess_erasure",
]

RESTRICTION_BASIS = (
    "PIPL Art. 47(2) (个人信息保护法第四十七条第二款): the legal retention period has not "
    "expired; processing other than storage and necessary security measures must stop. "
    "GDPR Art. 17(3)(b) likewise."
)
"""The legal basis quoted on every restricted item."""

Outcome = Literal["erase", "restrict", "partial"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ErasureItem:
    """The answer for one record.

    * ``erase``: no retention duty or hold remains; erase it now;
    * ``partial``: erase the data categories in ``erasable`` now, keep the rest
      (restricted) through ``kept_through``;
    * ``restrict``: keep the record, restricted to storage and security, through
      ``kept_through`` (None: permanently, until an event, or while a hold lasts).
    """

    record_id: str
    record_class: str
    outcome: Outcome
    erasable: frozenset[str] = frozenset()
    """Categories erasable now for a ``partial`` outcome."""
    kept_through: _dt.date | None = None
    """The last day the kept part must stay (None: see ``permanent``/``pending_event``/holds)."""
    permanent: bool = False
    """True when a permanent rule keeps it."""
    pending_event: str = ""
    """The trigger event that has not happened (the period then runs from it)."""
    rules: tuple[str, ...] = ()
    """Keys of the minimum rules still running."""
    holds: tuple[str, ...] = ()
    """Ids of the active holds covering the record."""
    basis: str = ""
    """The legal basis for keeping (rule sources and the PIPL Art. 47 restriction)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ErasureAssessment:
    """The answer for a subject's records at ``assessed_at``."""

    subject: str
    assessed_at: _dt.datetime
    items: tuple[ErasureItem, ...]

    @property
    def erase_now(self) -> tuple[ErasureItem, ...]:
        """Records that may be erased in full now."""
        return tuple(i for i in self.items if i.outcome == "erase")

    @property
    def restricted(self) -> tuple[ErasureItem, ...]:
        """Records (or parts) that must be kept, restricted to storage and security."""
        return tuple(i for i in self.items if i.outcome != "erase")

    @property
    def complete(self) -> bool:
        """True when everything may be erased now."""
        return not self.restricted

    @property
    def kept_until(self) -> _dt.date | None:
        """Return the last day anything must be kept.

        None when something is kept without a known end (permanent, pending event or
        hold), or when nothing is kept.
        """
        days: list[_dt.date] = []
        for item in self.restricted:
            if item.kept_through is None:
                return None
            days.append(item.kept_through)
        return max(days) if days else None


def assess_erasure(records: Iterable[RecordLike], now: _dt.datetime, *,
                   schedule: RetentionSchedule, subject: str,
                   holds: HoldStore | LegalHolds | str | None = None) -> ErasureAssessment:
    """Weigh a subject's erasure request against retention duties and legal holds.

    Every record must belong to ``subject`` (an :class:`InvalidInputError` names the
    first that does not). Minimum rules still running keep the record (or, when every
    running minimum names the data categories it needs, only those categories);
    maximum rules never stop an erasure; an active hold keeps the whole record.
    """
    now = utc(now, "now")
    if not is_name(subject):
        raise InvalidInputError("subject must be a non-empty subject id")
    store = resolve_hold_store(holds) if holds is not None else None
    index = HoldIndex(store.list_holds(active_only=True) if store else [])
    items: list[ErasureItem] = []
    for record in records:
        if record.subject != subject:
            raise InvalidInputError(
                f"record {record.id!r} does not belong to the subject being assessed")
        items.append(_assess(schedule, record, now, index))
    return ErasureAssessment(subject, now, tuple(items))


def _assess(schedule: RetentionSchedule, record: RecordLike, now: _dt.datetime,
            index: HoldIndex) -> ErasureItem:
    running = [p for p in schedule.periods(record)
               if p.rule.kind is RuleKind.MINIMUM and not p.is_due(now)]
    held = index.covering(record)
    rules = tuple(p.rule.key for p in running)
    if held:
        return ErasureItem(
            record_id=record.id, record_class=record.record_class, outcome="restrict",
            rules=rules, holds=held,
            basis="legal hold " + ", ".join(held) + "; " + RESTRICTION_BASIS)
    if not running:
        return ErasureItem(record_id=record.id, record_class=record.record_class,
                           outcome="erase")
    longest = max(running, key=RetentionPeriod._order)
    outcome: Outcome = "restrict"
    erasable: frozenset[str] = frozenset()
    if all(p.rule.data_categories for p in running):
        needed = frozenset().union(*(p.rule.data_categories for p in running))
        erasable = record.data_categories - needed
        if erasable:
            outcome = "partial"
    return ErasureItem(
        record_id=record.id, record_class=record.record_class, outcome=outcome,
        erasable=erasable, kept_through=longest.kept_through, permanent=longest.permanent,
        pending_event=longest.pending_event, rules=rules,
        basis="; ".join(dict.fromkeys(p.rule.source for p in running)) + "; "
        + RESTRICTION_BASIS)
