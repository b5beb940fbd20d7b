"""Disposal planning: which records are due, kept (until when, by which rule) or held.

:func:`plan` is pure and lazy: it walks an iterable of records once, yielding one
:class:`Disposition` per record while counting a :class:`PlanSummary`, so a sweep over
millions of records runs in flat memory. Active holds are read once, when the plan
starts; :func:`~finprivacy.retention.execute` re-checks them record by record.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
from collections.abc import Iterable, Iterator
from typing import Literal

from ..clock import utc
from ..errors import InvalidInputError
from ._holds import HoldIndex, HoldStore, LegalHolds, resolve_hold_store
from ._model import DisposalAction, RecordLike, RuleKind, is_name
from ._schedule import RetentionPeriod, RetentionSchedule, governing

__all__ = ["DisposalPlan", "Disposition", "PlanSummary", "plan"]

Status = Literal["due", "kept", "held"]
Basis = Literal["minimum_running", "minimum_outlasts_maximum", "maximum_partial", "minimum_run",
                "maximum_reached", "maximum_running"]


@dataclasses.dataclass(frozen=True, slots=True)
class Disposition:
    """The decision for one record at the plan's ``now``.

    * ``due``: dispose of it now with ``action``; ``fields`` names the data
      categories to act on, or is empty for the whole record;
    * ``kept``: not yet (``period`` says which rule and until when, or that it is
      permanent or waiting for an event);
    * ``held``: due, but active legal holds (``holds``) stop it.

    :attr:`reason` says why in words; it is composed only when read, so planning
    millions of records builds no text.
    """

    record: RecordLike
    """The record."""
    status: Status
    """``due``, ``kept`` or ``held``."""
    period: RetentionPeriod
    """The deciding period (its rule, last day kept, disposable instant)."""
    action: DisposalAction
    """What to do when due (from the deciding rule)."""
    fields: frozenset[str] = frozenset()
    """Data categories to act on; empty means the whole record."""
    holds: tuple[str, ...] = ()
    """Ids of the active holds that stop a due record."""
    basis: Basis = "minimum_running"
    """Which case of the conflict rules decided (a stable code for programs)."""
    other: RetentionPeriod | None = None
    """The other period in a minimum/maximum conflict, if any."""

    @property
    def kept_through(self) -> _dt.date | None:
        """The last day the record is kept under the deciding rule (None: permanent/pending)."""
        return self.period.kept_through

    @property
    def partial(self) -> bool:
        """True when only some data categories are due (a maximum under a minimum)."""
        return bool(self.fields)

    @property
    def reason(self) -> str:
        """Why, in words: names rules and dates, never data."""
        p, o = self.period, self.other
        key = p.rule.key
        if self.basis == "minimum_outlasts_maximum" and o is not None:
            text = f"minimum {key} outlasts maximum {o.rule.key}: kept {_until(p)}"
        elif self.basis == "maximum_partial" and o is not None:
            text = (f"maximum {key} reached; minimum {o.rule.key} keeps only the fields "
                    f"it needs {_until(o)}")
        elif self.basis == "minimum_run":
            gov = o if o is not None else p
            text = f"{gov.rule.key}: kept through {gov.kept_through}, now due"
        elif self.basis == "maximum_reached":
            text = f"maximum {key} reached after {p.kept_through}"
        elif self.basis == "maximum_running":
            text = f"maximum {key}: may be kept {_until(p)}"
        else:
            text = f"{key}: kept {_until(p)}"
        if self.holds:
            text += f"; held by {', '.join(self.holds)}"
        return text


@dataclasses.dataclass(frozen=True, slots=True)
class PlanSummary:
    """Counts over a plan; complete once the plan has been fully iterated."""

    total: int = 0
    """Records planned."""
    due: int = 0
    """Records due now (partial ones included)."""
    kept: int = 0
    """Records not yet due."""
    held: int = 0
    """Due records an active legal hold stops."""
    permanent: int = 0
    """Kept records whose governing rule is permanent."""
    pending: int = 0
    """Kept records whose trigger event has not happened."""
    partial: int = 0
    """Due records where only some categories are due."""
    due_by_class: dict[str, int] = dataclasses.field(default_factory=dict)
    """Due records per record class."""
    complete: bool = False
    """True once every record has been planned."""


class _Counter:
    __slots__ = ("due", "due_by_class", "held", "kept", "partial", "pending", "permanent",
                 "total")

    def __init__(self) -> None:
        self.total = self.due = self.kept = self.held = 0
        self.permanent = self.pending = self.partial = 0
        self.due_by_class: dict[str, int] = {}


def _default_sweep_id(schedule: RetentionSchedule, now: _dt.datetime) -> str:
    digest = hashlib.sha256(
        "\n".join(f"{r.key}@{r.version}" for r in schedule.rules).encode()
    ).hexdigest()[:12]
    return f"sweep-{schedule.local_date(now).isoformat()}-{digest}"


class DisposalPlan:
    """A lazy disposal plan; iterate it once (directly or through ``execute``).

    ``sweep_id`` names the sweep in the execution journal: re-running a crashed sweep
    with the same id resumes it. By default it is derived from the day of ``now`` in
    the organisation's zone and the schedule's rule keys and versions, so a re-run on
    the same day resumes without further ado.
    """

    __slots__ = ("_counter", "_done", "_records", "_started", "holds", "now", "schedule",
                 "sweep_id")

    def __init__(self, records: Iterable[RecordLike], *, schedule: RetentionSchedule,
                 now: _dt.datetime, holds: HoldStore | None, sweep_id: str) -> None:
        self._records = records
        self.schedule = schedule
        """The schedule planned against."""
        self.now = now
        """The instant the plan decides at (aware UTC)."""
        self.holds = holds
        """The hold store consulted, or None."""
        self.sweep_id = sweep_id
        """The sweep's id in the execution journal."""
        self._counter = _Counter()
        self._started = False
        self._done = False

    def __repr__(self) -> str:
        return (f"DisposalPlan(sweep_id={self.sweep_id!r}, now={self.now.isoformat()}, "
                f"planned={self._counter.total})")

    def __iter__(self) -> Iterator[Disposition]:
        if self._started:
            raise InvalidInputError("a DisposalPlan streams once; call plan() again")
        self._started = True
        return self._run()

    def due(self) -> Iterator[Disposition]:
        """Iterate the plan, yielding only the due records."""
        return (d for d in self if d.status == "due")

    @property
    def summary(self) -> PlanSummary:
        """The counts so far (``complete`` once the plan has been fully iterated)."""
        c = self._counter
        return PlanSummary(total=c.total, due=c.due, kept=c.kept, held=c.held,
                           permanent=c.permanent, pending=c.pending, partial=c.partial,
                           due_by_class=dict(c.due_by_class),
                           complete=self._done)

    def _run(self) -> Iterator[Disposition]:
        index = HoldIndex(self.holds.list_holds(active_only=True) if self.holds else [])
        c = self._counter
        decide = self.schedule
        now = self.now
        for record in self._records:
            d = decide_one(decide, record, now, index)
            c.total += 1
            if d.status == "due":
                c.due += 1
                c.due_by_class[record.record_class] = c.due_by_class.get(
                    record.record_class, 0) + 1
                if d.fields:
                    c.partial += 1
            elif d.status == "held":
                c.held += 1
            else:
                c.kept += 1
                if d.period.permanent:
                    c.permanent += 1
                elif d.period.pending_event:
                    c.pending += 1
            yield d
        self._done = True


def decide_one(schedule: RetentionSchedule, record: RecordLike, now: _dt.datetime,
               holds: HoldIndex) -> Disposition:
    """Decide one record: the conflict rules of the schedule, then the holds."""
    periods = schedule.periods(record)
    if len(periods) == 1 and periods[0].rule.kind is RuleKind.MINIMUM:  # the common case
        gov = periods[0]
        if not gov.is_due(now):
            return Disposition(record, "kept", gov, gov.rule.action)
        return _held_or(holds, Disposition(record, "due", gov, gov.rule.action,
                                           basis="minimum_run"))
    minimums = [p for p in periods if p.rule.kind is RuleKind.MINIMUM]
    maximums = [p for p in periods if p.rule.kind is RuleKind.MAXIMUM]
    gov = governing(periods)
    first_max = min(maximums, key=RetentionPeriod._order) if maximums else None
    max_due = first_max is not None and first_max.is_due(now)
    if minimums and not gov.is_due(now):
        if first_max is not None and max_due:
            open_minimums = [p for p in minimums if not p.is_due(now)]
            fields = _fields_past_maximum(record, maximums, open_minimums, now)
            if fields:
                return _held_or(holds, Disposition(
                    record, "due", first_max, first_max.rule.action, fields,
                    basis="maximum_partial", other=gov))
            return Disposition(record, "kept", gov, gov.rule.action,
                               basis="minimum_outlasts_maximum", other=first_max)
        return Disposition(record, "kept", gov, gov.rule.action)
    if minimums:
        chosen = first_max if (first_max is not None and max_due) else gov
        return _held_or(holds, Disposition(record, "due", chosen, chosen.rule.action,
                                           basis="minimum_run", other=gov))
    if max_due:
        return _held_or(holds, Disposition(record, "due", gov, gov.rule.action,
                                           basis="maximum_reached"))
    return Disposition(record, "kept", gov, gov.rule.action, basis="maximum_running")


def _until(p: RetentionPeriod) -> str:
    if p.permanent:
        return "permanently"
    if p.pending_event:
        return f"until {p.rule.duration} after {p.pending_event!r}, which has not happened"
    return f"through {p.kept_through}"


def _fields_past_maximum(record: RecordLike, maximums: list[RetentionPeriod],
                         open_minimums: list[RetentionPeriod],
                         now: _dt.datetime) -> frozenset[str]:
    if any(not p.rule.data_categories for p in open_minimums):
        return frozenset()  # some minimum needs the whole record
    needed = frozenset().union(*(p.rule.data_categories for p in open_minimums))
    cats = record.data_categories
    past: set[str] = set()
    for p in maximums:
        if p.is_due(now):
            past |= (p.rule.data_categories & cats) if p.rule.data_categories else cats
    return frozenset(past - needed)


def _held_or(index: HoldIndex, d: Disposition) -> Disposition:
    ids = index.covering(d.record)
    if not ids:
        return d
    return dataclasses.replace(d, status="held", holds=ids)


def plan(records: Iterable[RecordLike], now: _dt.datetime, *, schedule: RetentionSchedule,
         holds: HoldStore | LegalHolds | str | None = None,
         sweep_id: str | None = None) -> DisposalPlan:
    """Plan a disposal sweep of ``records`` at the aware instant ``now``.

    Returns a lazy :class:`DisposalPlan`: nothing is read until it is iterated, and
    records are decided one at a time. Conflicts: the longest minimum wins; a maximum
    shorter than a minimum makes only the data categories no open minimum needs due
    (a *partial* disposition). A record whose class no rule governs raises
    :class:`~finprivacy.errors.RetentionError` when reached; a naive ``now`` raises
    :class:`~finprivacy.errors.InvalidTimeError`.
    """
    now = utc(now, "now")
    store = resolve_hold_store(holds) if holds is not None else None
    if sweep_id is not None and not is_name(sweep_id):
        raise InvalidInputError("sweep_id must be a non-empty string")
    return DisposalPlan(records, schedule=schedule, now=now, holds=store,
                        sweep_id=sweep_id or _default_sweep_id(schedule, now))
