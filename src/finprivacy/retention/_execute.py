"""Executing a disposal plan: idempotent, resumable, and evidenced by a certificate.

The application's handler does the disposal (delete rows, anonymise fields, shred a
subject's key). Delivery is **at least once**, never silently twice: :func:`execute`
writes a durable "started" mark to the :class:`ExecutionJournal` before it calls the
handler for a due record, and "done" straight after; a re-run skips records already
done. A crash between the two (a kill while the handler runs, or after it returned
but before "done" was written) leaves the record "started": the re-run calls the
handler for it again, telling it so. Exactly once is impossible with a handler that
acts outside the journal's transaction, so handlers must be idempotent for one record
(``DELETE … WHERE id = ?`` is). A handler that takes an ``attempt`` parameter gets a
:class:`DisposalAttempt` with an idempotency key (``sweep id/record id``, stable
across re-runs) and ``may_repeat`` (True when an earlier run started this record).

Holds are re-checked against the hold store just before each record is handed to the
handler: a hold placed during a sweep excludes its records, and the certificate lists
them with the hold that excluded each.

The :class:`DisposalCertificate` has the columns of a 会计档案销毁清册 (会计档案管理办法
Art. 18: name, volume and year range, period required, period kept, time of
destruction; signed by the approvers and the supervising witnesses, 监销人).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import inspect
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Literal, Protocol, runtime_checkable

from .._stores import open_store
from ..audit.events import AuditEvent, AuditSink
from ..clock import Clock, SystemClock, utc
from ..errors import ConflictError, FormatError, InvalidInputError, RetentionError
from ._model import is_name
from ._plan import DisposalPlan, Disposition
from ._schedule import RetentionSchedule

__all__ = [
    "DisposalAttempt",
    "DisposalCertificate",
    "DisposalHandler",
    "DisposalLine",
    "ExcludedRecord",
    "ExecutionJournal",
    "JournalEntry",
    "Signatory",
    "execute",
]

DisposalHandler = Callable[..., "str | None"]
"""The application's disposal callback: ``handler(disposition)`` or
``handler(disposition, attempt=DisposalAttempt)``; act on one due record and return a
description of the method used (``"rows deleted"``, ``"subject key shredded"``) or None
for the action's default. It must be idempotent for one record: it may be called again
for a record after a crash (see the module docs)."""

EntryStatus = Literal["done", "excluded", "started"]


@dataclasses.dataclass(frozen=True, slots=True)
class DisposalAttempt:
    """What :func:`execute` tells a handler that asks (an ``attempt`` parameter)."""

    sweep_id: str
    record_id: str
    may_repeat: bool
    """True when an earlier run of this sweep started this record and may have disposed
    of it (it crashed before writing "done"): check before acting, or act idempotently."""

    @property
    def idempotency_key(self) -> str:
        """``"<sweep id>/<record id>"``: the same on every re-run of the sweep."""
        return f"{self.sweep_id}/{self.record_id}"


@dataclasses.dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journal row: a record's outcome in a sweep, with the domain's JSON payload."""

    record_id: str
    status: EntryStatus
    payload: str


@runtime_checkable
class ExecutionJournal(Protocol):
    """Durable progress of disposal sweeps.

    ``finprivacy.storage`` implements it for memory, SQLite and PostgreSQL
    (``open_store("retention", url)``).
    """

    def entry_status(self, sweep_id: str, record_id: str) -> EntryStatus | None:
        """Return the record's status in the sweep, or None if it has none yet."""
        ...

    def put_entry(self, sweep_id: str, record_id: str, status: EntryStatus, payload: str,
                  at: _dt.datetime) -> None:
        """Record a mark or an outcome, durably before returning.

        ``started`` is written before the handler runs; ``done`` or ``excluded`` after.
        A ``done`` entry is final: later writes leave it unchanged.
        """
        ...

    def entries(self, sweep_id: str) -> Iterator[JournalEntry]:
        """Yield the sweep's entries in the order they were first written."""
        ...

    def close_sweep(self, sweep_id: str, at: _dt.datetime, certificate: str) -> bool:
        """Store the sweep's certificate (JSON); True the first time, False if already closed.

        A second call leaves the first certificate in place.
        """
        ...

    def sweep_certificate(self, sweep_id: str) -> str | None:
        """Return the certificate JSON stored when the sweep was closed, or None."""
        ...

    def lock_sweep(self, sweep_id: str, owner: str, *, now: _dt.datetime,
                   until: _dt.datetime) -> bool:
        """Take or renew the sweep's lease until ``until``.

        Succeeds (True) when the sweep is unlocked, its lease has expired at ``now``, or
        ``owner`` already holds it; False when another owner holds a live lease.
        """
        ...

    def unlock_sweep(self, sweep_id: str, owner: str) -> None:
        """Give up ``owner``'s lease on the sweep (no effect if it holds none)."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class Signatory:
    """A person who approved or witnessed a disposal, with their role.

    会计档案管理办法 Art. 18: the head of the unit, the heads and officers of the archive
    and accounting departments sign the destruction list; the supervising witnesses
    (监销人) sign after destruction.
    """

    name: str
    role: str = ""

    def __str__(self) -> str:
        return f"{self.name} ({self.role})" if self.role else self.name


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DisposalLine:
    """One row of the destruction list (销毁清册): a record that was disposed of."""

    record_id: str
    name: str
    """档案名称: the record's name (or id)."""
    record_class: str
    """类别: the record class."""
    years_covered: str
    """所属年度: the fiscal year(s) the record belongs to."""
    period_required: str
    """应保管期限: the rule's period (``30 years``)."""
    period_kept: str
    """已保管期限: how long it was kept, from the day the clock started."""
    rule: str
    """The governing rule's key."""
    source: str
    """The governing rule's legal source."""
    action: str
    """处置方式: delete, anonymise, crypto_shred, archive or review."""
    method: str
    """销毁方式: how the handler carried it out."""
    fields: tuple[str, ...]
    """Data categories acted on; empty for the whole record."""
    executed_at: _dt.datetime
    """销毁时间: when the handler finished (aware UTC)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ExcludedRecord:
    """A due record left alone because a legal hold covered it."""

    record_id: str
    name: str
    record_class: str
    holds: tuple[str, ...]
    """The ids of the holds that excluded it."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DisposalCertificate:
    """Evidence of a disposal sweep, with the columns of a 会计档案销毁清册.

    ``lines`` lists every record disposed of in the sweep (including those completed
    before a crash and resume); ``excluded`` every due record a legal hold kept back,
    with the hold. ``digest`` is the SHA-256 of the canonical JSON, recorded in the
    audit log and the journal.
    """

    sweep_id: str
    schedule: str
    zone: str
    planned_at: _dt.datetime
    issued_at: _dt.datetime
    executed_by: str
    approvals: tuple[Signatory, ...]
    witnesses: tuple[Signatory, ...]
    lines: tuple[DisposalLine, ...]
    excluded: tuple[ExcludedRecord, ...]

    def to_dict(self, *, names: bool = True) -> dict[str, object]:
        """Return a JSON-ready dict (times as ISO 8601 strings).

        ``names=False`` leaves out the record names (which may name people), as in the
        copy written to the audit log.
        """
        lines = [_line_to_dict(ln) for ln in self.lines]
        excluded = [_excluded_to_dict(x) for x in self.excluded]
        if not names:
            for row in (*lines, *excluded):
                del row["name"]
        return {
            "sweep_id": self.sweep_id, "schedule": self.schedule, "zone": self.zone,
            "planned_at": self.planned_at.isoformat(), "issued_at": self.issued_at.isoformat(),
            "executed_by": self.executed_by,
            "approvals": [dataclasses.asdict(s) for s in self.approvals],
            "witnesses": [dataclasses.asdict(s) for s in self.witnesses],
            "lines": lines, "excluded": excluded,
        }

    def to_json(self, *, names: bool = True) -> str:
        """Return canonical JSON (sorted keys, no spaces, UTF-8 text).

        :meth:`from_json` and :attr:`digest` use the full form (``names=True``).
        """
        return json.dumps(self.to_dict(names=names), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> DisposalCertificate:
        """Parse :meth:`to_json` output; :class:`~finprivacy.errors.FormatError` if malformed."""
        try:
            d = json.loads(text)
            return cls(
                sweep_id=d["sweep_id"], schedule=d["schedule"], zone=d["zone"],
                planned_at=_aware(d["planned_at"]), issued_at=_aware(d["issued_at"]),
                executed_by=d["executed_by"],
                approvals=tuple(Signatory(s["name"], s["role"]) for s in d["approvals"]),
                witnesses=tuple(Signatory(s["name"], s["role"]) for s in d["witnesses"]),
                lines=tuple(_line_from_dict(x) for x in d["lines"]),
                excluded=tuple(_excluded_from_dict(x) for x in d["excluded"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise FormatError("not a disposal certificate") from None

    @property
    def digest(self) -> str:
        """SHA-256 (hex) of :meth:`to_json`."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def render(self) -> str:
        """Render the certificate as a plain-text 会计档案销毁清册 table."""
        out = [
            "会计档案销毁清册 / Disposal certificate",
            f"sweep: {self.sweep_id}   schedule: {self.schedule}   zone: {self.zone}",
            f"executed by (执行人): {self.executed_by}   issued at: {self.issued_at.isoformat()}",
            "approved by (审批): " + "; ".join(map(str, self.approvals)),
            "witnessed by (监销人): " + ("; ".join(map(str, self.witnesses)) or "-"),
            "",
            " | ".join(("名称 name", "类别 class", "所属年度 years", "应保管期限 required",
                        "已保管期限 kept", "处置 action", "方式 method", "时间 executed at")),
        ]
        for ln in self.lines:
            action = ln.action + (f" [{', '.join(ln.fields)}]" if ln.fields else "")
            out.append(" | ".join((ln.name, ln.record_class, ln.years_covered,
                                   ln.period_required, ln.period_kept, action, ln.method,
                                   ln.executed_at.isoformat())))
        out.append(f"disposed: {len(self.lines)}")
        if self.excluded:
            out.append("")
            out.append("excluded by legal hold (因法律保全未销毁):")
            for x in self.excluded:
                out.append(f"  {x.name} | {x.record_class} | hold {', '.join(x.holds)}")
        out.append(f"sha256: {self.digest}")
        return "\n".join(out)


def _line_to_dict(ln: DisposalLine) -> dict[str, object]:
    return {
        "record_id": ln.record_id, "name": ln.name, "record_class": ln.record_class,
        "years_covered": ln.years_covered, "period_required": ln.period_required,
        "period_kept": ln.period_kept, "rule": ln.rule, "source": ln.source,
        "action": ln.action, "method": ln.method, "fields": list(ln.fields),
        "executed_at": ln.executed_at.isoformat(),
    }


def _excluded_to_dict(x: ExcludedRecord) -> dict[str, object]:
    return {"record_id": x.record_id, "name": x.name, "record_class": x.record_class,
            "holds": list(x.holds)}


def _aware(text: str) -> _dt.datetime:
    value = _dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("naive time in a certificate")
    return value


def _line_from_dict(d: dict[str, object]) -> DisposalLine:
    s = {k: v for k, v in d.items() if isinstance(v, str)}
    fields = d["fields"]
    if not isinstance(fields, list):
        raise TypeError("fields")
    return DisposalLine(
        record_id=s["record_id"], name=s["name"], record_class=s["record_class"],
        years_covered=s["years_covered"], period_required=s["period_required"],
        period_kept=s["period_kept"], rule=s["rule"], source=s["source"],
        action=s["action"], method=s["method"], fields=tuple(str(f) for f in fields),
        executed_at=_aware(s["executed_at"]),
    )


def _excluded_from_dict(d: dict[str, object]) -> ExcludedRecord:
    s = {k: v for k, v in d.items() if isinstance(v, str)}
    holds = d["holds"]
    if not isinstance(holds, list):
        raise TypeError("holds")
    return ExcludedRecord(record_id=s["record_id"], name=s["name"],
                          record_class=s["record_class"], holds=tuple(str(h) for h in holds))


def _line_from_json(text: str) -> DisposalLine:
    try:
        return _line_from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise FormatError("a retention journal entry is not a disposal line") from None


def _excluded_from_json(text: str) -> ExcludedRecord:
    try:
        return _excluded_from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise FormatError("a retention journal entry is not an exclusion") from None


def _signatories(values: Sequence[Signatory | str], what: str) -> tuple[Signatory, ...]:
    if isinstance(values, str):
        raise InvalidInputError(f"{what} must be a sequence of names or Signatory objects")
    out: list[Signatory] = []
    for value in values:
        v: object = Signatory(value) if isinstance(value, str) else value
        if not isinstance(v, Signatory) or not is_name(v.name):
            raise InvalidInputError(f"{what} must be non-empty names or Signatory objects")
        out.append(v)
    return tuple(out)


def period_between(start: _dt.date, end: _dt.date) -> str:
    """Whole years, months and days from ``start`` (counted) to ``end`` (exclusive)."""
    if end < start:
        return "0 days"
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    years, months = divmod(months, 12)
    from ._schedule import add_duration

    days = (end - add_duration(start, years, months)).days
    parts = [f"{n} {u}{'' if n == 1 else 's'}"
             for n, u in ((years, "year"), (months, "month"), (days, "day")) if n]
    return " ".join(parts) or "0 days"


def _years_covered(schedule: RetentionSchedule, d: Disposition) -> str:
    r = d.record
    basis = r.period_end if r.period_end is not None else r.created
    return schedule.fiscal_period(basis).label


def resolve_journal(journal: ExecutionJournal | str) -> ExecutionJournal:
    """Return a journal from a journal object or a store URL."""
    if isinstance(journal, str):
        opened: ExecutionJournal = open_store("retention", journal)
        return opened
    if not isinstance(journal, ExecutionJournal):
        raise RetentionError("journal must be an ExecutionJournal or a store URL")
    return journal


def execute(plan: DisposalPlan, handler: DisposalHandler, *,
            journal: ExecutionJournal | str, actor: str,
            approvals: Sequence[Signatory | str], witnesses: Sequence[Signatory | str],
            audit: AuditSink | None = None, clock: Clock | None = None,
            lease: _dt.timedelta = _dt.timedelta(minutes=5)) -> DisposalCertificate:
    """Carry out ``plan``: call ``handler`` for each due record not yet done, and certify.

    * **Resumable, at least once**: each record is marked "started" before its handler
      runs and "done" after, under the plan's ``sweep_id``; records already done are
      skipped, so re-running after a crash (with a fresh plan carrying the same
      ``sweep_id``) finishes the sweep. A record the crash left "started" is handed to
      the handler again, with ``attempt.may_repeat`` True for a handler that takes
      ``attempt``: handlers must be idempotent. An exception from the handler
      propagates after the records before it have been journalled.
    * **Holds re-checked**: just before each record, the hold store is asked again;
      a record a hold now covers is excluded and listed on the certificate.
    * **Evidence**: returns a :class:`DisposalCertificate` covering the whole sweep
      and, the first time the sweep completes, stores it in the journal and records
      a ``retention.disposal_certificate`` event in ``audit`` carrying its SHA-256
      and, for up to :data:`AUDIT_CERTIFICATE_LIMIT` rows, a copy without the record
      names (which may name people). A sweep once certified is closed: executing it
      again calls no handler and returns the certificate (plan a new sweep, with a new
      ``sweep_id``, for records that became due since).
    * **One executor at a time**: the sweep is leased in the journal for ``lease``
      (renewed as the sweep runs, given up at the end, even on error). A second
      ``execute`` of the same sweep while the lease is live raises
      :class:`~finprivacy.errors.ConflictError`; after a process died mid-sweep, the
      re-run can start once the lease has run out.

    ``approvals`` must name at least one approver (会计档案管理办法 Art. 18);
    ``witnesses`` lists the supervising witnesses (监销人) and may be empty where no law
    requires them.
    """
    if not isinstance(plan, DisposalPlan):
        raise InvalidInputError("plan must be a DisposalPlan from retention.plan()")
    if not callable(handler):
        raise InvalidInputError("handler must be callable")
    if not is_name(actor):
        raise InvalidInputError("actor must name who executes the disposal")
    approved = _signatories(approvals, "approvals")
    if not approved:
        raise RetentionError("a disposal needs at least one approval (会计档案管理办法 Art. 18)")
    witnessed = _signatories(witnesses, "witnesses")
    store = resolve_journal(journal)
    clock = clock or SystemClock()
    sweep = plan.sweep_id
    lease_obj: object = lease
    if not isinstance(lease_obj, _dt.timedelta) or lease_obj <= _dt.timedelta(0):
        raise InvalidInputError("lease must be a positive timedelta")
    stored = store.sweep_certificate(sweep)
    if stored is not None:
        # Already certified: do nothing again, hand back the same evidence.
        return DisposalCertificate.from_json(stored)
    owner = f"{actor}:{os.getpid()}:{secrets.token_hex(6)}"

    def take() -> None:
        now = utc(clock.now(), "clock")
        if not store.lock_sweep(sweep, owner, now=now, until=now + lease):
            raise ConflictError(f"sweep {sweep!r} is being executed by another process")

    take()
    try:
        renew_at = time.monotonic() + lease.total_seconds() / 3
        _run(plan, handler, store, clock, renew_at, lease, take)
        return _certify(plan, store, actor=actor, approvals=approved, witnesses=witnessed,
                        audit=audit, clock=clock)
    finally:
        store.unlock_sweep(sweep, owner)


def _run(plan: DisposalPlan, handler: DisposalHandler, store: ExecutionJournal, clock: Clock,
         renew_at: float, lease: _dt.timedelta, take: Callable[[], None]) -> None:
    schedule = plan.schedule
    sweep = plan.sweep_id
    holds = plan.holds
    takes_attempt = _takes_attempt(handler)
    for d in plan:
        if d.status == "kept":
            continue
        if time.monotonic() >= renew_at:
            take()
            renew_at = time.monotonic() + lease.total_seconds() / 3
        rid = d.record.id
        status = store.entry_status(sweep, rid)
        if status == "done":
            continue
        live: tuple[str, ...] = d.holds
        if d.status == "due" and holds is not None:
            live = tuple(h.id for h in holds.holds_covering(
                record_id=rid, subject=d.record.subject, record_class=d.record.record_class))
        if live:
            excluded = ExcludedRecord(record_id=rid, name=d.record.name or rid,
                                      record_class=d.record.record_class, holds=live)
            store.put_entry(sweep, rid, "excluded",
                            json.dumps(_excluded_to_dict(excluded), ensure_ascii=False),
                            utc(clock.now(), "clock"))
            continue
        store.put_entry(sweep, rid, "started", "{}", utc(clock.now(), "clock"))
        if takes_attempt:
            method: object = handler(d, attempt=DisposalAttempt(
                sweep_id=sweep, record_id=rid, may_repeat=status == "started"))
        else:
            method = handler(d)
        bad_return = method is not None and not isinstance(method, str)
        if bad_return:
            method = None  # the work is done: journal it, then report the mistake
        at = utc(clock.now(), "clock")
        period = d.period
        line = DisposalLine(
            record_id=rid, name=d.record.name or rid, record_class=d.record.record_class,
            years_covered=_years_covered(schedule, d),
            period_required=str(period.rule.duration),
            period_kept=(period_between(period.starts, schedule.local_date(at))
                         if period.starts else ""),
            rule=period.rule.key, source=period.rule.source, action=d.action.value,
            method=(method if isinstance(method, str) and method
                    else _DEFAULT_METHOD[d.action.value]),
            fields=tuple(sorted(d.fields)),
            executed_at=at,
        )
        store.put_entry(sweep, rid, "done", json.dumps(_line_to_dict(line), ensure_ascii=False),
                        at)
        if bad_return:
            raise InvalidInputError(
                "a disposal handler returns a method description (str) or None; the "
                f"record {rid!r} was journalled as done")


def _takes_attempt(handler: DisposalHandler) -> bool:
    """Whether ``handler`` accepts ``attempt=`` (a named parameter or ``**kwargs``)."""
    try:
        params = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return False
    return any(p.name == "attempt" or p.kind is inspect.Parameter.VAR_KEYWORD
               for p in params)


_DEFAULT_METHOD = {
    "delete": "deleted by the application",
    "anonymise": "anonymised by the application",
    "crypto_shred": "encryption key destroyed",
    "archive": "moved to archive",
    "review": "reviewed",
}


def _certify(plan: DisposalPlan, store: ExecutionJournal, *, actor: str,
             approvals: tuple[Signatory, ...], witnesses: tuple[Signatory, ...],
             audit: AuditSink | None, clock: Clock) -> DisposalCertificate:
    lines: list[DisposalLine] = []
    excluded: list[ExcludedRecord] = []
    for entry in store.entries(plan.sweep_id):
        if entry.status == "done":
            lines.append(_line_from_json(entry.payload))
        elif entry.status == "excluded":
            excluded.append(_excluded_from_json(entry.payload))
    issued = utc(clock.now(), "clock")
    cert = DisposalCertificate(
        sweep_id=plan.sweep_id, schedule=plan.schedule.name, zone=plan.schedule.zone,
        planned_at=plan.now, issued_at=issued, executed_by=actor, approvals=approvals,
        witnesses=witnesses, lines=tuple(lines), excluded=tuple(excluded),
    )
    first = store.close_sweep(plan.sweep_id, issued, cert.to_json())
    if not first:  # another process certified it first: theirs is the evidence
        stored = store.sweep_certificate(plan.sweep_id)
        if stored is not None:
            return DisposalCertificate.from_json(stored)
    if audit is not None and first:
        details = {"sweep_id": plan.sweep_id, "disposed": str(len(lines)),
                   "excluded": str(len(excluded)), "certificate_sha256": cert.digest}
        if len(lines) + len(excluded) <= AUDIT_CERTIFICATE_LIMIT:
            details["certificate"] = cert.to_json(names=False)
        audit.record(AuditEvent(
            action="retention.disposal_certificate", actor=actor,
            reason=f"disposal sweep {plan.sweep_id}", time=issued, details=details,
        ))
    return cert


AUDIT_CERTIFICATE_LIMIT = 1000
"""Certificates with at most this many rows are copied (without record names) into the
audit event; larger ones are represented there by their digest and counts only."""
