"""The consent ledger: grant, withdraw, check, require, state, history, verify.

The ledger validates every request completely before it writes anything, appends
events through a :class:`~finprivacy.consent.ConsentStore`, and keeps an in-process
cache of each (subject, purpose)'s events so that :meth:`ConsentLedger.check` answers
in microseconds. See ``docs/explanation/consent.md`` for the rules it applies.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as _dt
import hashlib
import os
import threading
import time as _time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from time import time_ns
from typing import Any

from .._stores import open_store
from ..audit.events import AuditEvent, AuditSink
from ..clock import Clock, SystemClock, utc
from ..errors import (
    ConfigurationError,
    ConflictError,
    ConsentIntegrityError,
    ConsentRequiredError,
    InvalidInputError,
    NotFoundError,
)
from ._model import (
    GENESIS_HASH,
    PIPL_AGE_RULE,
    Actor,
    AgeRule,
    ChangeKind,
    ConsentEvent,
    ConsentStatus,
    EventKind,
    Evidence,
    NoticeVersion,
    Purpose,
    Reason,
    _check_id,
    notice_sha256,
)
from ._receipt import ConsentReceipt, Controller, build_iso27560, build_receipt, parse_receipt
from ._store import ConsentStore

__all__ = ["ConsentAnchor", "ConsentLedger", "GrantRequest", "anchor_digest"]

_AUDIT_ACTIONS: dict[str, str] = {
    "given": "consent.grant", "reaffirmed": "consent.reaffirm", "withdrawn": "consent.withdraw",
    "refused": "consent.refuse", "expired": "consent.expire", "invalidated": "consent.invalidate",
}

_MESSAGES: dict[str, str] = {
    "never_given": "consent was never given",
    "refused": "consent was refused",
    "withdrawn": "consent was withdrawn",
    "expired": "consent has expired",
    "notice_changed": "the notice changed materially since consent was given",
    "invalidated": "consent was invalidated",
    "separate_consent_missing": "the purpose needs separate consent; a bundled consent was given",
    "guardian_needed": "the subject is a minor and a guardian has not consented",
}


def _new_id() -> str:
    """Return a new UUIDv7 (RFC 9562 §5.7): 48-bit Unix milliseconds, then 74 random bits.

    Time-ordered ids keep the stores' unique indexes growing at their right edge (about
    a third faster appends on a large SQLite file than random UUIDv4); the prefix only
    reveals the creation time, which every event records anyway. Randomness comes from
    ``os.urandom``.
    """
    value = (time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
    return str(uuid.UUID(int=value))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GrantRequest:
    """One grant for :meth:`ConsentLedger.grant_many` (same meaning as ``grant``'s arguments)."""

    subject: str
    """The data subject."""
    purpose: str
    """The purpose key."""
    actor: Actor | None = None
    """Who acted (default: the subject)."""
    method: str = "click"
    """How consent was expressed."""
    evidence: Evidence | None = None
    """Channel, anonymised IP, user agent, notice hash."""
    notice: NoticeVersion | None = None
    """The notice version shown (default: the latest covering the purpose)."""
    separate: bool = True
    """Whether the purpose was asked for on its own."""
    subject_age: int | None = None
    """The subject's age, when known."""


_Entry = tuple[float, tuple[ConsentEvent, ...]]


@dataclasses.dataclass(slots=True)
class _Material:
    notice_id: str
    version: int
    effective_from: _dt.datetime


def anchor_digest(heads: Sequence[tuple[str, int, str]]) -> str:
    """Return the SHA-256 (hex) of chain heads in canonical text.

    One ``subject TAB seq TAB hash NEWLINE`` line per head, sorted by subject.
    """
    h = hashlib.sha256()
    for subject, seq, digest in sorted(heads):
        h.update(f"{subject}\t{seq}\t{digest}\n".encode())
    return h.hexdigest()


@dataclasses.dataclass(frozen=True, slots=True)
class ConsentAnchor:
    """What :meth:`ConsentLedger.anchor` recorded: an id, the heads' digest and counts."""

    anchor_id: str
    digest: str
    time: _dt.datetime
    subjects: int
    events: int


class ConsentLedger:
    """Record and check consent per data subject and purpose.

    ``store`` is a :class:`ConsentStore` or a URL (``"memory:"``, ``"sqlite:///app.db"``,
    ``"postgresql://…"``). ``clock`` supplies every event's time (aware UTC).
    ``audit`` receives an :class:`~finprivacy.audit.events.AuditEvent` per event
    written. ``age_rule`` says who is a minor (default :data:`PIPL_AGE_RULE`, under 14).

    Caching: ``check``/``require``/``status`` keep each (subject, purpose)'s events in an
    in-process LRU of ``cache_size`` entries. Writes through this ledger update it at
    once; writes by *other* processes or ledgers become visible after at most
    ``cache_ttl`` seconds (monotonic time). ``cache_ttl=0`` reads the events through
    to the store on every call. Purpose definitions and notice versions change
    rarely; they are re-read at most every ``metadata_ttl`` seconds (and at once
    after :meth:`define_purpose` or :meth:`publish_notice` through this ledger), so a
    material notice change published by another process takes effect here within
    ``metadata_ttl``.

    >>> import datetime as dt, finprivacy as fp
    >>> clock = fp.FixedClock(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    >>> ledger = fp.ConsentLedger("memory:", clock=clock)
    >>> tips = fp.ConsentPurpose(key="newsletter", description="Monthly tax tips")
    >>> _ = ledger.define_purpose(tips)
    >>> ledger.check("client-42", "newsletter")
    False
    >>> _ = ledger.grant("client-42", "newsletter")
    >>> ledger.check("client-42", "newsletter")
    True
    """

    def __init__(self, store: ConsentStore | str, *, clock: Clock | None = None,
                 audit: AuditSink | None = None, age_rule: AgeRule = PIPL_AGE_RULE,
                 cache_ttl: float = 1.0, cache_size: int = 100_000,
                 metadata_ttl: float = 5.0) -> None:
        self._owns_store = isinstance(store, str)
        if isinstance(store, str):
            store = open_store("consent", store)
        if not isinstance(store, ConsentStore):
            raise ConfigurationError("store must be a ConsentStore or a store URL")
        if not isinstance(age_rule, AgeRule):
            raise ConfigurationError("age_rule must be an AgeRule")
        if cache_ttl < 0 or cache_size < 0 or metadata_ttl < 0:
            raise ConfigurationError("cache_ttl, cache_size and metadata_ttl must not be "
                                     "negative")
        self._store: ConsentStore = store
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._audit = audit
        self._age_rule = age_rule
        self._ttl = float(cache_ttl)
        self._meta_ttl = float(metadata_ttl)
        self._size = int(cache_size)
        self._lock = threading.RLock()
        self._cache: collections.OrderedDict[tuple[str, str], _Entry] = (
            collections.OrderedDict())
        self._purposes: dict[str, Purpose] = {}
        self._purposes_at = -1e18
        self._material: dict[str, list[_Material]] = {}
        self._notices: dict[str, list[NoticeVersion]] = {}
        self._notices_at = -1e18
        self._monotonic: Callable[[], float] = _time.monotonic
        self._generation = 0  # bumped by every write through this ledger

    def __repr__(self) -> str:
        return f"ConsentLedger({type(self._store).__name__}, age_rule={self._age_rule.minimum_age})"

    def __enter__(self) -> ConsentLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the store if this ledger opened it from a URL, and drop the cache."""
        with self._lock:
            self._cache.clear()
        if self._owns_store:
            self._store.close()

    @property
    def store(self) -> ConsentStore:
        """Return the underlying store."""
        return self._store

    @property
    def age_rule(self) -> AgeRule:
        """Return the rule deciding who needs a guardian."""
        return self._age_rule

    # -- purposes and notices --------------------------------------------------
    def define_purpose(self, purpose: Purpose) -> Purpose:
        """Create or replace a purpose definition and return it."""
        if not isinstance(purpose, Purpose):
            raise InvalidInputError("purpose must be a Purpose")
        self._store.put_purpose(purpose)
        with self._lock:
            self._purposes_at = -1e18
        return purpose

    def purposes(self) -> Mapping[str, Purpose]:
        """Return every defined purpose, by key."""
        return dict(self._load_purposes())

    def purpose(self, key: str) -> Purpose:
        """Return the definition of ``key``; raise :class:`InvalidInputError` if unknown."""
        _check_id(key, "purpose")
        found = self._load_purposes().get(key)
        if found is None:
            found = self._load_purposes(force=True).get(key)
        if found is None:
            raise InvalidInputError(f"unknown purpose {key!r}; define it with define_purpose()")
        return found

    def publish_notice(self, notice_id: str, text: str, *, purposes: Iterable[str],
                       change: ChangeKind | None = None, affects: Iterable[str] | None = None,
                       language: str = "zh-CN",
                       effective_from: _dt.datetime | None = None) -> NoticeVersion:
        """Publish the next version of a notice and return it.

        ``change`` is ``"editorial"`` or ``"material"`` for later versions (version 1 is
        always ``"initial"``). A material change (PIPL Art. 14: a new purpose, data
        category or recipient) invalidates consents given under earlier versions for
        ``affects`` (default: every purpose the new version covers) from
        ``effective_from`` (default: now) on. Only the text's SHA-256 is stored.
        """
        _check_id(notice_id, "notice_id")
        keys = tuple(purposes) if not isinstance(purposes, str) else (purposes,)
        for key in keys:
            self.purpose(key)
        when = self._now() if effective_from is None else utc(effective_from,
                                                              "effective_from")
        existing = self._store.notice_versions(notice_id)
        version = existing[-1].version + 1 if existing else 1
        if version == 1:
            if change not in (None, "initial"):
                raise InvalidInputError("the first version of a notice is 'initial'")
            kind: ChangeKind = "initial"
        else:
            if change not in ("editorial", "material"):
                raise InvalidInputError("a new notice version needs change='editorial' or "
                                        "change='material'")
            kind = change
            if when < existing[-1].effective_from:
                raise InvalidInputError("effective_from is before the previous version's")
        affected: tuple[str, ...] = ()
        if kind == "material":
            affected = keys if affects is None else tuple(affects)
            for key in affected:
                if key not in keys:
                    raise InvalidInputError(f"affected purpose {key!r} is not in the notice")
        elif affects:
            raise InvalidInputError("only a material change affects purposes")
        notice = NoticeVersion(notice_id=notice_id, version=version,
                               text_sha256=notice_sha256(text), change=kind,
                               effective_from=when, purposes=keys, affects=affected,
                               language=language)
        self._store.add_notice(notice)
        with self._lock:
            self._notices_at = -1e18
        return notice

    def notice(self, notice_id: str, version: int | None = None) -> NoticeVersion:
        """Return a stored notice version (the latest when ``version`` is None)."""
        _check_id(notice_id, "notice_id")
        versions = self._store.notice_versions(notice_id)
        for item in reversed(versions):
            if version is None or item.version == version:
                return item
        raise NotFoundError(f"notice {notice_id!r} version {version} not found")

    # -- writing ---------------------------------------------------------------
    def grant(self, subject: str, purpose: str, *, actor: Actor | None = None,
              method: str = "click", evidence: Evidence | None = None,
              notice: NoticeVersion | None = None, separate: bool = True,
              subject_age: int | None = None) -> ConsentEvent:
        """Record that consent for ``purpose`` was given; return the sealed event.

        Each grant gets a new receipt id. ``separate=False`` records a bundled consent,
        which does not satisfy a purpose requiring separate consent (PIPL Art. 29).
        For a minor under the ledger's :class:`AgeRule`, pass ``subject_age`` and act as
        ``Actor("guardian", …)`` (PIPL Art. 31, GDPR Art. 8).
        """
        req = GrantRequest(subject=subject, purpose=purpose, actor=actor, method=method,
                           evidence=evidence, notice=notice, separate=separate,
                           subject_age=subject_age)
        return self.grant_many([req])[0]

    def grant_many(self, requests: Iterable[GrantRequest]) -> list[ConsentEvent]:
        """Record many grants in one transaction (all or nothing); return the events."""
        now = self._now()
        drafts = [self._grant_draft(r, now, receipt_id=_new_id(), kind="given")
                  for r in requests]
        return self._write(drafts)

    def accept_all(self, subject: str, purposes: Iterable[str], *, actor: Actor | None = None,
                   evidence: Evidence | None = None,
                   subject_age: int | None = None) -> list[ConsentEvent]:
        """Record a bundled "accept all" for ``purposes`` under one receipt id.

        Bundled consent is recorded with ``separate=False``: it does not satisfy a
        purpose that requires separate consent (PIPL Art. 29), whose status will say
        ``separate_consent_missing``.
        """
        now = self._now()
        receipt_id = _new_id()
        keys = [purposes] if isinstance(purposes, str) else list(purposes)
        if not keys:
            raise InvalidInputError("accept_all needs at least one purpose")
        if len(set(keys)) != len(keys):
            raise InvalidInputError("accept_all lists a purpose twice")
        drafts = [self._grant_draft(GrantRequest(subject=subject, purpose=key, actor=actor,
                                                 method="accept_all", evidence=evidence,
                                                 separate=False, subject_age=subject_age),
                                    now, receipt_id=receipt_id, kind="given")
                  for key in keys]
        return self._write(drafts)

    def reaffirm(self, subject: str, purpose: str, *, actor: Actor | None = None,
                 method: str = "click", evidence: Evidence | None = None,
                 notice: NoticeVersion | None = None, separate: bool = True,
                 subject_age: int | None = None) -> ConsentEvent:
        """Record that the subject confirmed an earlier consent (e.g. a new notice version).

        Restarts the validity period and records the notice shown. Raises
        :class:`ConsentRequiredError` when no consent was ever given or the last
        decision was a withdrawal or refusal: those need a fresh :meth:`grant`.
        """
        now = self._now()
        status = self.status(subject, purpose, at=now)
        last = status.event
        if last is None or last.kind in ("withdrawn", "refused"):
            reason: Reason = "never_given" if last is None else status.reason or "withdrawn"
            raise ConsentRequiredError(
                f"nothing to reaffirm for subject {subject!r}, purpose {purpose!r}: grant instead",
                subject=subject, purpose=purpose, reason=reason)
        req = GrantRequest(subject=subject, purpose=purpose, actor=actor, method=method,
                           evidence=evidence, notice=notice, separate=separate,
                           subject_age=subject_age)
        return self._write([self._grant_draft(req, now, receipt_id=_new_id(),
                                              kind="reaffirmed")])[0]

    def withdraw(self, subject: str, purpose: str, *, actor: Actor | None = None,
                 method: str = "click", evidence: Evidence | None = None) -> ConsentEvent:
        """Record a withdrawal, effective now and not retroactive (PIPL Art. 15, GDPR Art. 7(3)).

        ``check(..., at=<earlier time>)`` still answers True for instants before it.
        """
        return self._simple(subject, purpose, "withdrawn", actor, method, evidence, "")

    def withdraw_all(self, subject: str, *, actor: Actor | None = None,
                     method: str = "click",
                     evidence: Evidence | None = None) -> list[ConsentEvent]:
        """Withdraw every consent of ``subject`` now in force, in one transaction.

        Purposes whose consent is not in force are left alone. Returns the events written.
        """
        now = self._now()
        drafts = [
            self._draft(subject, key, "withdrawn", actor, method, evidence, now,
                        receipt_id=status.event.receipt_id if status.event else "")
            for key, status in self.state(subject, at=now).items() if status.granted
        ]
        return self._write(drafts)

    def refuse(self, subject: str, purpose: str, *, actor: Actor | None = None,
               method: str = "click", evidence: Evidence | None = None) -> ConsentEvent:
        """Record that the subject declined consent for ``purpose``."""
        return self._simple(subject, purpose, "refused", actor, method, evidence, "")

    def invalidate(self, subject: str, purpose: str, *, actor: Actor,
                   reason_code: str = "invalidated") -> ConsentEvent:
        """Record that staff invalidated a consent (e.g. found defective); needs an actor."""
        if not isinstance(actor, Actor):
            raise InvalidInputError("invalidate needs an Actor")
        return self._simple(subject, purpose, "invalidated", actor, "staff_action", None,
                            reason_code)

    def record_expiries(self, subject: str) -> list[ConsentEvent]:
        """Append an ``expired`` event for each of the subject's lapsed consents."""
        now = self._now()
        drafts = []
        for key, status in self.state(subject, at=now).items():
            if status.reason == "expired" and status.event is not None \
                    and status.event.grants:
                drafts.append(self._draft(subject, key, "expired", Actor("staff", "system"),
                                          "expiry", None, now, receipt_id=status.event.receipt_id))
        return self._write(drafts) if drafts else []

    def import_receipt(self, receipt: ConsentReceipt | Mapping[str, Any] | str | bytes, *,
                       actor: Actor | None = None) -> list[ConsentEvent]:
        """Record the consents of a Kantara v1.1 receipt (from another system) as events.

        Millisecond timestamps are normalised to seconds. The receipt id is kept; every
        purpose must be defined here; a receipt already imported raises
        :class:`ConflictError`; a malformed receipt raises :class:`FormatError`. Events
        are stamped with the receipt's consent time, and only a single-purpose receipt
        counts as separate consent. Nothing is written unless everything is valid.
        """
        parsed = receipt if isinstance(receipt, ConsentReceipt) else parse_receipt(receipt)
        if self._store.events_by_receipt(parsed.receipt_id):
            raise ConflictError(f"receipt {parsed.receipt_id!r} was already recorded")
        keys = [p.purpose for s in parsed.services for p in s.purposes]
        who = actor if actor is not None else Actor("staff", "receipt-import")
        drafts = [
            self._grant_draft(GrantRequest(subject=parsed.subject, purpose=key, actor=who,
                                           method="imported_receipt",
                                           separate=len(keys) == 1),
                              parsed.timestamp, receipt_id=parsed.receipt_id, kind="given",
                              attach_notice=False)
            for key in keys
        ]
        return self._write(drafts)

    # -- reading ---------------------------------------------------------------
    def check(self, subject: str, purpose: str, at: _dt.datetime | None = None) -> bool:
        """Return True when consent for ``purpose`` is in force at ``at`` (default: now)."""
        definition, events, when = self._lookup(subject, purpose, at)
        return self._decide(definition, events, when)[0]

    def require(self, subject: str, purpose: str,
                at: _dt.datetime | None = None) -> ConsentStatus:
        """Return the status when consent is in force; raise :class:`ConsentRequiredError`.

        The error's ``reason`` is one of ``never_given``, ``refused``, ``withdrawn``,
        ``expired``, ``notice_changed``, ``invalidated``, ``separate_consent_missing``,
        ``guardian_needed``.
        """
        status = self.status(subject, purpose, at)
        if not status.granted:
            reason = status.reason or "never_given"
            raise ConsentRequiredError(
                f"no consent in force for subject {subject!r}, purpose {purpose!r}: "
                f"{_MESSAGES[reason]} ({reason})",
                subject=subject, purpose=purpose, reason=reason)
        return status

    def status(self, subject: str, purpose: str,
               at: _dt.datetime | None = None) -> ConsentStatus:
        """Return the :class:`ConsentStatus` of (``subject``, ``purpose``) at ``at``."""
        definition, events, when = self._lookup(subject, purpose, at)
        return self._evaluate(subject, definition, events, when)

    def state(self, subject: str, at: _dt.datetime | None = None) -> dict[str, ConsentStatus]:
        """Return the status of every defined purpose for ``subject`` at ``at``."""
        _check_id(subject, "subject")
        when = self._now() if at is None else utc(at, "at")
        by_purpose: dict[str, list[ConsentEvent]] = {}
        for event in self._store.events(subject):
            by_purpose.setdefault(event.purpose, []).append(event)
        purposes = dict(self._load_purposes(force=True))
        return {key: self._evaluate(subject, purposes[key], tuple(by_purpose.get(key, ())), when)
                for key in sorted(set(purposes) | set(by_purpose)) if key in purposes}

    def history(self, subject: str) -> tuple[ConsentEvent, ...]:
        """Return every event of ``subject``, in chain order."""
        _check_id(subject, "subject")
        return tuple(self._store.events(subject))

    def verify(self, subject: str) -> int:
        """Verify the subject's hash chain; return the number of events.

        Raises :class:`ConsentIntegrityError` whose ``position`` is the ``seq`` of the first
        event that was edited, removed, reordered or inserted, or the position after
        the last event when the tail was cut off.
        """
        _check_id(subject, "subject")
        events = self._store.events(subject)
        prev = GENESIS_HASH
        for position, event in enumerate(events, 1):
            problem = ""
            if event.seq != position:
                problem = "sequence gap or reordering"
            elif event.prev_hash != prev:
                problem = "link to the previous event does not match"
            elif event.compute_hash() != event.hash:
                problem = "event content does not match its hash"
            if problem:
                raise ConsentIntegrityError(
                    f"consent chain of subject {subject!r} fails at position {position}: "
                    f"{problem}", position=position, subject=subject)
            prev = event.hash
        head_seq, head_hash = self._store.head(subject)
        if head_seq != len(events) or head_hash != prev:
            position = min(head_seq, len(events)) + 1
            raise ConsentIntegrityError(
                f"consent chain of subject {subject!r} fails at position {position}: "
                "the recorded head does not match (events removed?)",
                position=position, subject=subject)
        return len(events)

    def verify_all(self) -> int:
        """Verify every subject's chain, in subject order; return the number of events.

        Raises :class:`ConsentIntegrityError` for the first broken chain (its ``subject``
        and ``position`` say where).
        """
        total, after = 0, ""
        while True:
            batch = self._store.subjects(after=after, limit=1000)
            if not batch:
                return total
            for subject in batch:
                total += self.verify(subject)
            after = batch[-1]

    # -- anchors -----------------------------------------------------------------
    def anchor(self, audit: AuditSink, *, actor: str = "finprivacy") -> ConsentAnchor:
        """Record every chain's head, and their digest in the audit log.

        A chain proves its events were not edited, but not that none were removed from
        its end: deleting a subject's tail events and copying an earlier hash into its
        head turns a withdrawal back into a consent, and deleting a subject's events
        removes the subject, with no hash to redo. An anchor stores each head as of
        now in the consent store and appends a ``consent.anchor`` event to ``audit``
        carrying the SHA-256 of that list; once the audit log signs a checkpoint over
        it, :meth:`verify_anchor` catches any chain rewound or deleted since. Between
        two anchors a writer with database access can still rewind what was appended
        after the last one: anchor as often as that window may be (after each
        signed audit checkpoint, for example).
        """
        heads = self._store.heads()
        anchor_id = _new_id()
        self._store.put_anchor(anchor_id, heads)
        digest = anchor_digest(heads)
        now = self._now()
        events = sum(seq for _, seq, _ in heads)
        audit.record(AuditEvent(
            action="consent.anchor", actor=actor, time=now,
            reason="consent chain heads anchored",
            details={"anchor_id": anchor_id, "digest": digest, "subjects": str(len(heads)),
                     "events": str(events)}))
        return ConsentAnchor(anchor_id=anchor_id, digest=digest, time=now,
                             subjects=len(heads), events=events)

    def verify_anchor(self, anchor_id: str, digest: str) -> int:
        """Check every chain against an anchor whose ``digest`` came from the audit log.

        Raises :class:`ConsentIntegrityError` when the stored anchor does not match the
        digest (edited), or a subject it recorded was deleted or rewound (its event at
        the anchored position is gone or differs), or a chain fails :meth:`verify`.
        Returns the number of subjects checked. Take ``anchor_id`` and ``digest`` from
        the audit entry only after the audit log verified (see :meth:`verify_anchored`).
        """
        heads = self._store.anchor_heads(anchor_id)
        if not heads or anchor_digest(heads) != digest:
            raise ConsentIntegrityError(
                f"the stored consent anchor {anchor_id} does not match the digest the audit "
                "log holds (edited or deleted)", position=0, subject="")
        for subject, seq, expected in heads:
            events = self._store.events(subject)
            if len(events) < seq or events[seq - 1].hash != expected:
                raise ConsentIntegrityError(
                    f"consent chain of subject {subject!r} was rewound or deleted since anchor "
                    f"{anchor_id} (it held {seq} events then, {len(events)} now)",
                    position=min(len(events), seq) + 1, subject=subject)
            self.verify(subject)
        return len(heads)

    def verify_anchored(self, audit: Any) -> int:
        """Verify ``audit`` (an :class:`~finprivacy.AuditLog`), then the newest anchor in it.

        Raises :class:`ConsentIntegrityError` when the log holds no ``consent.anchor``
        entry, and whatever :meth:`verify_anchor` raises.
        """
        audit.verify()
        anchors = audit.query(action="consent.anchor")
        if not anchors:
            raise ConsentIntegrityError("the audit log holds no consent anchor",
                                        position=0, subject="")
        details = anchors[-1].details
        return self.verify_anchor(str(details.get("anchor_id", "")),
                                  str(details.get("digest", "")))

    # -- receipts ----------------------------------------------------------------
    def receipt(self, subject: str, purpose: str, *, controller: Controller,
                jurisdiction: str = "CN", policy_url: str = "",
                service: str = "") -> ConsentReceipt:
        """Return the Kantara v1.1 receipt of the latest grant of ``purpose``.

        The receipt lists every purpose granted under the same receipt id (a bundle).
        Raises :class:`NotFoundError` when the purpose was never granted.
        """
        _check_id(subject, "subject")
        self.purpose(purpose)
        events = self._store.events(subject)
        grant = next((e for e in reversed(events) if e.purpose == purpose and e.grants), None)
        if grant is None:
            raise NotFoundError(f"no grant of purpose {purpose!r} for subject {subject!r}")
        bundle = [e for e in events if e.receipt_id == grant.receipt_id and e.grants]
        purposes = self._load_purposes(force=True)
        return build_receipt(bundle, purposes, controller=controller,
                             jurisdiction=jurisdiction, policy_url=policy_url,
                             service=service)

    def consent_record(self, subject: str, purpose: str, *, controller: Controller,
                       jurisdiction: str = "CN") -> dict[str, Any]:
        """Return an ISO/IEC TS 27560-shaped record of (``subject``, ``purpose``).

        It holds the purpose, the notice, the current state and every event, as a
        JSON-ready dict.
        """
        status = self.status(subject, purpose)
        events = self._store.events(subject, purpose)
        return build_iso27560(subject, self.purpose(purpose), events, status,
                              controller=controller, jurisdiction=jurisdiction)

    # -- internals -------------------------------------------------------------
    def _now(self) -> _dt.datetime:
        return utc(self._clock.now(), "clock.now()")

    def _load_purposes(self, *, force: bool = False) -> dict[str, Purpose]:
        now = self._monotonic()
        with self._lock:
            if force or now - self._purposes_at > self._meta_ttl:
                self._purposes = self._store.purposes()
                self._purposes_at = now
            return self._purposes

    def _load_material(self) -> dict[str, list[_Material]]:
        now = self._monotonic()
        with self._lock:
            if now - self._notices_at > self._meta_ttl:
                material: dict[str, list[_Material]] = {}
                notices: dict[str, list[NoticeVersion]] = {}
                for notice_id in self._store.notice_ids():
                    versions = self._store.notice_versions(notice_id)
                    notices[notice_id] = versions
                    for v in versions:
                        if v.change == "material":
                            for key in v.affects:
                                material.setdefault(key, []).append(
                                    _Material(v.notice_id, v.version, v.effective_from))
                self._material = material
                self._notices = notices
                self._notices_at = now
            return self._material

    def _latest_notice(self, purpose: str, when: _dt.datetime) -> NoticeVersion | None:
        self._load_material()
        best: NoticeVersion | None = None
        with self._lock:
            for versions in self._notices.values():
                for v in versions:
                    if purpose in v.purposes and v.effective_from <= when and (
                            best is None or v.effective_from >= best.effective_from):
                        best = v
        return best

    def _pair_events(self, subject: str, purpose: str,
                     now: float) -> tuple[ConsentEvent, ...]:
        key = (subject, purpose)
        if self._ttl > 0 and self._size:
            with self._lock:
                hit = self._cache.get(key)
                if hit is not None and now - hit[0] <= self._ttl:
                    self._cache.move_to_end(key)
                    return hit[1]
        generation = self._generation
        events = tuple(self._store.events(subject, purpose))
        if self._ttl > 0 and self._size:
            with self._lock:
                if generation != self._generation:
                    return events  # a write through this ledger raced the read: don't cache
                self._cache[key] = (now, events)
                self._cache.move_to_end(key)
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        return events

    def _lookup(self, subject: str, purpose: str, at: _dt.datetime | None
                ) -> tuple[Purpose, tuple[ConsentEvent, ...], _dt.datetime]:
        _check_id(subject, "subject")
        tick = self._monotonic()
        purposes = self._purposes if tick - self._purposes_at <= self._meta_ttl \
            else self._load_purposes()
        definition = purposes.get(_check_id(purpose, "purpose"))
        if definition is None:
            definition = self.purpose(purpose)
        when = self._now() if at is None else utc(at, "at")
        return definition, self._pair_events(subject, purpose, tick), when

    def _evaluate(self, subject: str, purpose: Purpose, events: Sequence[ConsentEvent],
                  at: _dt.datetime) -> ConsentStatus:
        granted, reason, last = self._decide(purpose, events, at)
        return ConsentStatus(subject=subject, purpose=purpose.key, at=at, granted=granted,
                             reason=reason, event=last,
                             expires_at=last.expires_at if granted and last else None)

    def _decide(self, purpose: Purpose, events: Sequence[ConsentEvent], at: _dt.datetime
                ) -> tuple[bool, Reason | None, ConsentEvent | None]:
        last: ConsentEvent | None = None
        for event in events:
            if event.time <= at:
                last = event
        if last is None:
            return False, "never_given", None
        kind = last.kind
        if kind == "withdrawn" or kind == "refused" or kind == "expired":
            return False, kind, last
        if kind == "invalidated":
            return (False, "notice_changed" if last.reason_code == "notice_changed"
                    else "invalidated", last)
        if last.subject_age is not None and last.actor.kind != "guardian" \
                and self._age_rule.needs_guardian(last.subject_age):
            return False, "guardian_needed", last
        if purpose.requires_separate_consent and not last.separate:
            return False, "separate_consent_missing", last
        if last.expires_at is not None and at >= last.expires_at:
            return False, "expired", last
        material = self._material if self._monotonic() - self._notices_at <= self._meta_ttl \
            else self._load_material()
        for change in material.get(purpose.key, ()):
            if change.effective_from > at:
                continue
            if change.notice_id == last.notice_id:
                if last.notice_version < change.version:
                    return False, "notice_changed", last
            elif change.effective_from > last.time:
                return False, "notice_changed", last
        return True, None, last

    def _grant_draft(self, req: GrantRequest, now: _dt.datetime, *, receipt_id: str,
                     kind: EventKind, attach_notice: bool = True) -> ConsentEvent:
        if not isinstance(req, GrantRequest):
            raise InvalidInputError("grant_many takes GrantRequest objects")
        _check_id(req.subject, "subject")
        definition = self.purpose(req.purpose)
        notice = req.notice
        if notice is None and attach_notice:
            notice = self._latest_notice(req.purpose, now)
        elif notice is not None:
            if not isinstance(notice, NoticeVersion):
                raise InvalidInputError("notice must be a NoticeVersion")
            stored = {v.version: v for v in self._store.notice_versions(notice.notice_id)}
            if stored.get(notice.version) != notice:
                raise InvalidInputError(f"notice {notice.ref} is not a stored notice version")
            if req.purpose not in notice.purposes:
                raise InvalidInputError(f"notice {notice.ref} does not cover purpose "
                                        f"{req.purpose!r}")
        evidence = req.evidence if req.evidence is not None else Evidence()
        if not isinstance(evidence, Evidence):
            raise InvalidInputError("evidence must be an Evidence")
        if notice is not None:
            if not evidence.notice_sha256:
                evidence = dataclasses.replace(evidence, notice_sha256=notice.text_sha256)
            elif evidence.notice_sha256 != notice.text_sha256:
                raise InvalidInputError(
                    f"evidence.notice_sha256 does not match notice {notice.ref}")
        return ConsentEvent(
            event_id=_new_id(), subject=req.subject, purpose=req.purpose, kind=kind,
            time=now, actor=req.actor if req.actor is not None else Actor(),
            method=req.method, separate=req.separate, subject_age=req.subject_age,
            notice_id=notice.notice_id if notice else "",
            notice_version=notice.version if notice else 0,
            expires_at=definition.expiry_after(now), evidence=evidence,
            receipt_id=receipt_id)

    def _draft(self, subject: str, purpose: str, kind: EventKind, actor: Actor | None,
               method: str, evidence: Evidence | None, now: _dt.datetime, *,
               receipt_id: str = "", reason_code: str = "") -> ConsentEvent:
        _check_id(subject, "subject")
        self.purpose(purpose)
        return ConsentEvent(event_id=_new_id(), subject=subject, purpose=purpose, kind=kind,
                            time=now, actor=actor if actor is not None else Actor(),
                            method=method, evidence=evidence or Evidence(),
                            receipt_id=receipt_id, reason_code=reason_code)

    def _simple(self, subject: str, purpose: str, kind: EventKind, actor: Actor | None,
                method: str, evidence: Evidence | None, reason_code: str) -> ConsentEvent:
        now = self._now()
        _check_id(subject, "subject")
        self.purpose(purpose)
        events = self._store.events(subject, purpose)
        grant = next((e for e in reversed(events) if e.grants), None)
        receipt_id = grant.receipt_id if grant is not None else ""
        draft = self._draft(subject, purpose, kind, actor, method, evidence, now,
                            receipt_id=receipt_id, reason_code=reason_code)
        return self._write([draft])[0]

    def _write(self, drafts: list[ConsentEvent]) -> list[ConsentEvent]:
        if not drafts:
            return []
        try:
            sealed = self._store.append(drafts)
        finally:
            with self._lock:
                self._generation += 1
                for draft in drafts:
                    self._cache.pop((draft.subject, draft.purpose), None)
        if self._audit is not None:
            for event in sealed:
                self._audit.record(AuditEvent(
                    action=_AUDIT_ACTIONS[event.kind],
                    actor=event.actor.id or event.actor.kind,
                    subject=event.subject, purpose=event.purpose, time=event.time,
                    reason=event.reason_code,
                    details={"event_id": event.event_id, "receipt_id": event.receipt_id,
                             "kind": event.kind, "seq": str(event.seq),
                             "actor_kind": event.actor.kind}))
        return sealed
