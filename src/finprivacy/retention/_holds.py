"""Legal holds: stop disposal until someone releases the hold explicitly.

A litigation, a tax audit, an AML investigation or an unsettled matter is a reason.

会计档案管理办法 Art. 19: accounting vouchers of unsettled receivables and payables, and
of other open matters, are not destroyed when their period has run; they are kept
until the matter is closed. 金融机构客户身份识别和客户身份资料及交易记录保存管理办法
Art. 29 does the same for records involved in an AML investigation still open when the
minimum period ends.

A hold has no expiry date and never changes a record's computed retention date: a
record is disposed of only when it is due *and* no active hold covers it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import secrets
from typing import Protocol, runtime_checkable

from .._stores import open_store
from ..audit.events import AuditEvent, AuditSink
from ..clock import Clock, SystemClock, utc
from ..errors import InvalidInputError, RetentionError
from ._model import RecordLike, _frozen_names, is_name

__all__ = ["HoldMatter", "HoldStore", "LegalHold", "LegalHolds"]


class HoldMatter(enum.StrEnum):
    """Why a hold was placed."""

    LITIGATION = "litigation"
    """A lawsuit or arbitration, pending or reasonably anticipated."""
    TAX_AUDIT = "tax_audit"
    """A tax inspection or audit (税务稽查)."""
    AML_INVESTIGATION = "aml_investigation"
    """An anti-money-laundering investigation (AML measures 2007 Art. 29)."""
    UNSETTLED_RECEIVABLE = "unsettled_receivable"
    """A receivable not yet settled (会计档案管理办法 Art. 19)."""
    UNSETTLED_PAYABLE = "unsettled_payable"
    """A payable not yet settled (会计档案管理办法 Art. 19)."""
    OPEN_MATTER = "open_matter"
    """Another matter not yet closed (未了事项, 会计档案管理办法 Art. 19)."""
    REGULATORY_INQUIRY = "regulatory_inquiry"
    """A regulator's or authority's request to preserve records."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LegalHold:
    """A hold over records by subject, record class or record id; no expiry.

    A hold covers a record when the record's subject, class or id is in its scope.
    It stays active until :meth:`LegalHolds.release` records who released it and why.
    """

    id: str
    """The hold's id."""
    matter: HoldMatter
    """Why the hold exists."""
    reason: str
    """A short description (a case number is better placed in ``reference``)."""
    placed_by: str
    """Who placed it (a staff id)."""
    placed_at: _dt.datetime
    """When it was placed (aware UTC)."""
    subjects: frozenset[str] = frozenset()
    """Data subjects whose records are held."""
    record_classes: frozenset[str] = frozenset()
    """Record classes held."""
    record_ids: frozenset[str] = frozenset()
    """Individual records held."""
    reference: str = ""
    """The matter's reference: a case or audit notice number."""
    released_at: _dt.datetime | None = None
    """When it was released; None while active."""
    released_by: str = ""
    """Who released it."""
    release_reason: str = ""
    """Why it was released (judgment final, audit closed, receivable settled …)."""

    def __post_init__(self) -> None:
        if not is_name(self.id):
            raise RetentionError("a LegalHold needs a non-empty id")
        try:
            object.__setattr__(self, "matter", HoldMatter(self.matter))
        except ValueError:
            raise RetentionError(f"legal hold {self.id!r}: unknown matter") from None
        if not self.reason or not self.placed_by:
            raise RetentionError(f"legal hold {self.id!r} needs a reason and placed_by")
        object.__setattr__(self, "placed_at", utc(self.placed_at, "placed_at"))
        owner = f"legal hold {self.id!r}"
        for field in ("subjects", "record_classes", "record_ids"):
            object.__setattr__(self, field, _frozen_names(getattr(self, field), owner, field))
        if not (self.subjects or self.record_classes or self.record_ids):
            raise RetentionError(f"{owner} covers nothing: give subjects, record classes "
                                 "or record ids")
        if self.released_at is not None:
            object.__setattr__(self, "released_at", utc(self.released_at, "released_at"))
            if not self.released_by or not self.release_reason:
                raise RetentionError(f"{owner}: a release needs released_by and a reason")

    @property
    def active(self) -> bool:
        """True until the hold is released."""
        return self.released_at is None

    def covers(self, record: RecordLike) -> bool:
        """Return True when this hold is active and its scope includes ``record``."""
        return self.active and (
            record.id in self.record_ids
            or record.record_class in self.record_classes
            or (bool(record.subject) and record.subject in self.subjects)
        )


@runtime_checkable
class HoldStore(Protocol):
    """Where holds live.

    ``finprivacy.storage`` implements it for memory, SQLite and PostgreSQL
    (``open_store("retention", url)``).
    """

    def add_hold(self, hold: LegalHold) -> None:
        """Store a new hold; :class:`~finprivacy.errors.ConflictError` if the id exists."""
        ...

    def get_hold(self, hold_id: str) -> LegalHold:
        """Return the hold; :class:`~finprivacy.errors.NotFoundError` if absent."""
        ...

    def release_hold(self, hold_id: str, *, released_by: str, reason: str,
                     at: _dt.datetime) -> LegalHold:
        """Mark a hold released and return it.

        :class:`~finprivacy.errors.NotFoundError` if absent,
        :class:`~finprivacy.errors.ConflictError` if already released.
        """
        ...

    def list_holds(self, *, active_only: bool = True) -> list[LegalHold]:
        """List holds by placement time, then id; only active ones unless ``active_only=False``."""
        ...

    def holds_covering(self, *, record_id: str, subject: str,
                       record_class: str) -> list[LegalHold]:
        """Return the active holds covering this record id, subject or class, in list order."""
        ...


def resolve_hold_store(store: HoldStore | LegalHolds | str) -> HoldStore:
    """Return a hold store from a store object, a :class:`LegalHolds` or a store URL."""
    if isinstance(store, LegalHolds):
        return store.store
    if isinstance(store, str):
        opened: HoldStore = open_store("retention", store)
        return opened
    if not isinstance(store, HoldStore):
        raise RetentionError("holds must be a HoldStore, a LegalHolds or a store URL")
    return store


class LegalHolds:
    """Place, release and look up legal holds, with audit events when a sink is given.

    >>> import datetime as dt
    >>> from finprivacy.clock import FixedClock
    >>> holds = LegalHolds("memory:", clock=FixedClock(dt.datetime(2025, 1, 2, tzinfo=dt.UTC)))
    >>> h = holds.place(matter="tax_audit", reason="2014 tax audit", placed_by="chen",
    ...                 record_classes={"bookkeeping_voucher"}, hold_id="H-1")
    >>> [x.id for x in holds.active()]
    ['H-1']
    """

    __slots__ = ("_audit", "_clock", "store")

    def __init__(self, store: HoldStore | str, *, clock: Clock | None = None,
                 audit: AuditSink | None = None) -> None:
        self.store: HoldStore = resolve_hold_store(store)
        """The underlying :class:`HoldStore`."""
        self._clock: Clock = clock or SystemClock()
        self._audit = audit

    def __repr__(self) -> str:
        return f"LegalHolds({type(self.store).__name__})"

    def place(self, *, matter: HoldMatter | str, reason: str, placed_by: str,
              subjects: frozenset[str] | set[str] = frozenset(),
              record_classes: frozenset[str] | set[str] = frozenset(),
              record_ids: frozenset[str] | set[str] = frozenset(),
              reference: str = "", hold_id: str | None = None) -> LegalHold:
        """Place a hold now and store it. The id is random unless ``hold_id`` is given."""
        try:
            matter = HoldMatter(matter)
        except ValueError:
            raise InvalidInputError("matter must be a HoldMatter value") from None
        hid = hold_id or "hold-" + secrets.token_hex(8)
        owner = f"legal hold {hid!r}"
        hold = LegalHold(
            id=hid, matter=matter, reason=reason, placed_by=placed_by,
            placed_at=utc(self._clock.now(), "clock"),
            subjects=_frozen_names(subjects, owner, "subjects"),
            record_classes=_frozen_names(record_classes, owner, "record_classes"),
            record_ids=_frozen_names(record_ids, owner, "record_ids"), reference=reference,
        )
        self.store.add_hold(hold)
        self._emit("retention.hold.place", hold, placed_by, reason)
        return hold

    def release(self, hold_id: str, *, by: str, reason: str) -> LegalHold:
        """Release a hold, recording who released it and why; returns the released hold."""
        if not by or not reason:
            raise InvalidInputError("releasing a hold needs 'by' and 'reason'")
        hold = self.store.release_hold(hold_id, released_by=by, reason=reason,
                                       at=utc(self._clock.now(), "clock"))
        self._emit("retention.hold.release", hold, by, reason)
        return hold

    def get(self, hold_id: str) -> LegalHold:
        """Return the hold with ``hold_id`` (active or released)."""
        return self.store.get_hold(hold_id)

    def active(self) -> list[LegalHold]:
        """Return every active hold."""
        return self.store.list_holds(active_only=True)

    def history(self) -> list[LegalHold]:
        """Return every hold ever placed, released ones included."""
        return self.store.list_holds(active_only=False)

    def covering(self, record: RecordLike) -> list[LegalHold]:
        """Return the active holds covering ``record``."""
        return self.store.holds_covering(record_id=record.id, subject=record.subject,
                                         record_class=record.record_class)

    def _emit(self, action: str, hold: LegalHold, actor: str, reason: str) -> None:
        if self._audit is None:
            return
        self._audit.record(AuditEvent(
            action=action, actor=actor, reason=reason, time=utc(self._clock.now(), "clock"),
            details={"hold_id": hold.id, "matter": hold.matter.value,
                     "reference": hold.reference,
                     "scope": f"subjects={len(hold.subjects)} "
                              f"classes={','.join(sorted(hold.record_classes))} "
                              f"records={len(hold.record_ids)}"},
        ))


class HoldIndex:
    """A snapshot of the active holds, indexed for fast per-record look-ups in a sweep."""

    __slots__ = ("_by_class", "_by_id", "_by_subject", "holds")

    def __init__(self, holds: list[LegalHold]) -> None:
        self.holds = tuple(h for h in holds if h.active)
        self._by_id: dict[str, list[str]] = {}
        self._by_class: dict[str, list[str]] = {}
        self._by_subject: dict[str, list[str]] = {}
        for h in self.holds:
            for rid in h.record_ids:
                self._by_id.setdefault(rid, []).append(h.id)
            for cls in h.record_classes:
                self._by_class.setdefault(cls, []).append(h.id)
            for sub in h.subjects:
                self._by_subject.setdefault(sub, []).append(h.id)

    def covering(self, record: RecordLike) -> tuple[str, ...]:
        """Return the ids of the snapshot's holds covering ``record``."""
        if not self.holds:
            return ()
        found = [*self._by_id.get(record.id, ()), *self._by_class.get(record.record_class, ())]
        if record.subject:
            found.extend(self._by_subject.get(record.subject, ()))
        return tuple(dict.fromkeys(found))
