"""Consent domain objects: purposes, notice versions, actors, evidence and events.

Everything here is a frozen, slotted dataclass validated on construction, so a
malformed object never reaches a store. Times are timezone-aware UTC.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as _dt
import hashlib
import ipaddress
import json
import re
from typing import Literal, get_args

from ..clock import utc
from ..errors import InvalidInputError

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exports.py checks
    "Actor",
    "ActorKind",
    "AgeRule",
    "ChangeKind",
    "ConsentEvent",
    "ConsentStatus",
    "EventKind",
    "Evidence",
    "GDPR_MIN_AGE_DEFAULT",
    "GENESIS_HASH",
    "LegalBasis",
    "NoticeVersion",
    "PIPL_AGE_RULE",
    "Purpose",
    "Reason",
    "add_months",
    "anonymise_ip",
    "from_micros",
    "gdpr_age_rule",
    "notice_sha256",
    "to_micros",
]

EventKind = Literal["given", "refused", "withdrawn", "expired", "invalidated", "reaffirmed"]
"""What happened to a consent. Events are appended, never updated in place."""

ActorKind = Literal["subject", "guardian", "authorised_agent", "staff"]
"""Who acted: the data subject, a guardian (parent), an authorised agent, or staff."""

ChangeKind = Literal["initial", "editorial", "material"]
"""How a notice version differs from the previous one (PIPL Art. 14)."""

LegalBasis = Literal[
    "consent", "contract", "legal_obligation", "vital_interests", "public_interest",
    "public_information", "legitimate_interests", "other",
]
"""The legal basis of a purpose (PIPL Art. 13(1), GDPR Art. 6(1)); informational."""

Reason = Literal[
    "never_given", "refused", "withdrawn", "expired", "notice_changed", "invalidated",
    "separate_consent_missing", "guardian_needed",
]
"""Why a consent is not in force (``ConsentRequiredError.reason``)."""

_EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))
_ACTOR_KINDS: frozenset[str] = frozenset(get_args(ActorKind))
_CHANGE_KINDS: frozenset[str] = frozenset(get_args(ChangeKind))
_LEGAL_BASES: frozenset[str] = frozenset(get_args(LegalBasis))

_MAX_ID = 256
_GENESIS = "0" * 64


def _check_id(value: object, name: str, *, allow_empty: bool = False) -> str:
    """Validate an identifier-like string; the message names ``name``, never the value."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string, got {type(value).__name__}")
    if not value:
        if allow_empty:
            return value
        raise InvalidInputError(f"{name} must not be empty")
    if len(value) > _MAX_ID:
        raise InvalidInputError(f"{name} is longer than {_MAX_ID} characters")
    if not value.isprintable() or value != value.strip():
        raise InvalidInputError(f"{name} must not contain control or unprintable characters "
                                "or edge spaces")
    return value


def _check_text(value: object, name: str, limit: int = 4096) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise InvalidInputError(f"{name} is longer than {limit} characters")
    return value


def _check_tuple(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (tuple, list, frozenset, set)):
        raise InvalidInputError(f"{name} must be a tuple of strings")
    items = tuple(sorted(value)) if isinstance(value, (set, frozenset)) else tuple(value)
    for item in items:
        _check_id(item, name)
    if len(set(items)) != len(items):
        raise InvalidInputError(f"{name} contains duplicates")
    return items


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _int_between(value: object, low: int, high: int) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)
            and low <= value <= high)


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _is_hex64(value: object) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def notice_sha256(text: str) -> str:
    """Return the hex SHA-256 of a notice text as shown (UTF-8, exactly as displayed).

    >>> notice_sha256("We verify your account.")[:16]
    'e4aec0fffa42b246'
    """
    if not isinstance(text, str):
        raise InvalidInputError("notice text must be a string")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def anonymise_ip(address: str) -> str:
    """Truncate an IP address to its network: IPv4 to /24, IPv6 to /48.

    The result (``"203.0.113.0/24"``) identifies an area of a provider's network, not a
    household, which is what consent evidence needs. An address that is already a
    network of that size or larger is kept. Raises :class:`InvalidInputError` (naming
    the field, not the value) for anything that is not an IP address.

    >>> anonymise_ip("203.0.113.57")
    '203.0.113.0/24'
    >>> anonymise_ip("2001:db8:85a3:8d3:1319:8a2e:370:7348")
    '2001:db8:85a3::/48'
    """
    if not _is_str(address) or not address or len(address) > 64:
        raise InvalidInputError("evidence.ip is not an IP address")
    try:
        if "/" in address:
            net = ipaddress.ip_network(address.strip(), strict=False)
        else:
            ip = ipaddress.ip_address(address.strip())
            net = ipaddress.ip_network(f"{ip}/{ip.max_prefixlen}", strict=False)
    except ValueError:
        raise InvalidInputError("evidence.ip is not an IP address") from None
    if isinstance(net, ipaddress.IPv6Network) and net.network_address.ipv4_mapped:
        mapped = net.network_address.ipv4_mapped
        net = ipaddress.ip_network(f"{mapped}/32", strict=False)
    limit = 24 if net.version == 4 else 48
    if net.prefixlen > limit:
        net = net.supernet(new_prefix=limit)
    return str(net)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AgeRule:
    """The age below which a guardian must consent for a minor.

    Use :data:`PIPL_AGE_RULE` (under 14, PIPL Art. 31) or :func:`gdpr_age_rule`
    (16 by default; a member state may set 13–16, GDPR Art. 8(1)).
    """

    minimum_age: int
    """A subject younger than this needs a guardian's consent."""
    source: str
    """The law or clause the rule implements."""

    def __post_init__(self) -> None:
        if not _int_between(self.minimum_age, 0, 21):
            raise InvalidInputError("minimum_age must be an integer from 0 to 21")
        _check_text(self.source, "source", 200)

    def needs_guardian(self, age: int | None) -> bool:
        """Return True when a subject of ``age`` (``None``: unknown, adult) is a minor."""
        return age is not None and age < self.minimum_age


PIPL_AGE_RULE = AgeRule(minimum_age=14, source="PIPL Art. 31 (minors under 14)")
"""China's PIPL Art. 31: personal information of a minor under 14 needs a guardian's consent."""

GDPR_MIN_AGE_DEFAULT = 16
"""GDPR Art. 8(1): the default age of digital consent, lowerable by member states to 13."""


def gdpr_age_rule(age: int = GDPR_MIN_AGE_DEFAULT) -> AgeRule:
    """Return the GDPR Art. 8(1) rule for ``age`` (13 to 16, per member state law)."""
    if not _int_between(age, 13, 16):
        raise InvalidInputError("the GDPR Art. 8 age must be an integer from 13 to 16")
    return AgeRule(minimum_age=age, source=f"GDPR Art. 8(1) (age {age})")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Purpose:
    """A purpose of processing that consent is asked for (PIPL Art. 14, 17; GDPR Art. 7).

    ``sensitive`` marks sensitive personal information (PIPL Art. 28 names financial
    accounts); such a purpose requires separate consent (PIPL Art. 29) unless
    ``requires_separate_consent`` is set explicitly. Validity is either ``valid_for``
    (a fixed duration) or ``valid_months`` (calendar months: 12 means the same day of
    month one year later, clamped to the month's end), or neither (no expiry).
    """

    key: str
    """Stable machine key, e.g. ``"account_verification"``."""
    description: str
    """What the processing is for, as shown to the subject."""
    legal_basis: LegalBasis = "consent"
    """The legal basis; informational (the ledger always checks recorded consent)."""
    sensitive: bool = False
    """Whether the purpose processes sensitive personal information (PIPL Art. 28)."""
    requires_separate_consent: bool | None = None
    """Whether a bundled "accept all" is insufficient; defaults to ``sensitive``."""
    data_categories: tuple[str, ...] = ()
    """Categories of personal information processed (``"bank_account"``, ``"cn_id"`` …)."""
    recipients: tuple[str, ...] = ()
    """Third parties the data is provided to (PIPL Art. 23)."""
    valid_for: _dt.timedelta | None = None
    """How long a consent stays valid, as a fixed duration."""
    valid_months: int | None = None
    """How long a consent stays valid, in calendar months."""

    def __post_init__(self) -> None:
        _check_id(self.key, "purpose.key")
        if len(self.key) > 128:
            raise InvalidInputError("purpose.key is longer than 128 characters")
        _check_text(self.description, "purpose.description")
        if self.legal_basis not in _LEGAL_BASES:
            raise InvalidInputError(f"purpose.legal_basis must be one of {sorted(_LEGAL_BASES)}")
        if not isinstance(self.sensitive, bool):
            raise InvalidInputError("purpose.sensitive must be a bool")
        if self.requires_separate_consent is None:
            _set(self, "requires_separate_consent", self.sensitive)
        elif not isinstance(self.requires_separate_consent, bool):
            raise InvalidInputError("purpose.requires_separate_consent must be a bool")
        _set(self, "data_categories", _check_tuple(self.data_categories,
                                                   "purpose.data_categories"))
        _set(self, "recipients", _check_tuple(self.recipients, "purpose.recipients"))
        if self.valid_for is not None and self.valid_months is not None:
            raise InvalidInputError("purpose: give valid_for or valid_months, not both")
        valid_for: object = self.valid_for
        if valid_for is not None and (
                not isinstance(valid_for, _dt.timedelta) or valid_for <= _dt.timedelta(0)):
            raise InvalidInputError("purpose.valid_for must be a positive timedelta")
        if self.valid_months is not None and not _int_between(self.valid_months, 1, 1200):
            raise InvalidInputError("purpose.valid_months must be an integer from 1 to 1200")

    def expiry_after(self, given_at: _dt.datetime) -> _dt.datetime | None:
        """Return when a consent given at ``given_at`` expires, or ``None``."""
        given_at = utc(given_at, "given_at")
        if self.valid_for is not None:
            return given_at + self.valid_for
        if self.valid_months is not None:
            return add_months(given_at, self.valid_months)
        return None


def add_months(moment: _dt.datetime, months: int) -> _dt.datetime:
    """Add calendar months, clamping the day to the target month's length."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NoticeVersion:
    """One immutable version of a privacy notice (PIPL Art. 17; GDPR Art. 13).

    The ledger stores the SHA-256 of the text, not the text. A ``material`` change
    (a new purpose, data category or recipient, PIPL Art. 14) invalidates consents
    given under earlier versions for the purposes in ``affects``, from
    ``effective_from`` on; an ``editorial`` change invalidates nothing.
    """

    notice_id: str
    """Stable id of the notice, e.g. ``"privacy-notice"``."""
    version: int
    """1, 2, 3 …; a version never changes once published."""
    text_sha256: str
    """Hex SHA-256 of the exact text shown (see :func:`notice_sha256`)."""
    change: ChangeKind
    """``initial`` for version 1, then ``editorial`` or ``material``."""
    effective_from: _dt.datetime
    """When the version takes effect (aware UTC)."""
    purposes: tuple[str, ...]
    """The purpose keys the notice covers."""
    affects: tuple[str, ...] = ()
    """For a material change: the purposes whose consents it invalidates."""
    language: str = "zh-CN"
    """BCP 47 language tag of the text."""

    def __post_init__(self) -> None:
        _check_id(self.notice_id, "notice_id")
        if not _int_between(self.version, 1, 2**62):
            raise InvalidInputError("notice version must be a positive integer")
        if not _is_hex64(self.text_sha256):
            raise InvalidInputError("notice text_sha256 must be 64 lowercase hex digits")
        if self.change not in _CHANGE_KINDS:
            raise InvalidInputError(f"notice change must be one of {sorted(_CHANGE_KINDS)}")
        if (self.change == "initial") != (self.version == 1):
            raise InvalidInputError("only version 1 is 'initial', and version 1 is always so")
        _set(self, "effective_from", utc(self.effective_from, "effective_from"))
        _set(self, "purposes", _check_tuple(self.purposes, "notice purposes"))
        if not self.purposes:
            raise InvalidInputError("a notice must cover at least one purpose")
        _set(self, "affects", _check_tuple(self.affects, "notice affects"))
        if self.change != "material" and self.affects:
            raise InvalidInputError("only a material change affects purposes")
        _check_id(self.language, "notice language")

    @property
    def ref(self) -> str:
        """``"notice_id@version"``, as shown in receipts and logs."""
        return f"{self.notice_id}@{self.version}"


@dataclasses.dataclass(frozen=True, slots=True)
class Actor:
    """Who acted on a consent: the subject, a guardian, an authorised agent or staff."""

    kind: ActorKind = "subject"
    """The actor's role."""
    id: str = ""
    """An id for the actor (staff id, guardian's client id); empty for the subject."""

    def __post_init__(self) -> None:
        if self.kind not in _ACTOR_KINDS:
            raise InvalidInputError(f"actor kind must be one of {sorted(_ACTOR_KINDS)}")
        _check_id(self.id, "actor id", allow_empty=True)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """How a consent was captured: channel, anonymised IP, user agent, notice hash.

    ``ip`` is anonymised on construction (:func:`anonymise_ip`: IPv4 /24, IPv6 /48),
    so the full address is never stored or shown.
    """

    channel: str = ""
    """Where: ``web``, ``app``, ``branch``, ``phone``, ``paper`` …"""
    ip: str = ""
    """The client's IP address; kept only as its /24 or /48 network."""
    user_agent: str = ""
    """The browser or app user agent (cut to 512 characters)."""
    notice_sha256: str = ""
    """Hex SHA-256 of the notice text shown; filled from the notice when empty."""

    def __post_init__(self) -> None:
        _check_id(self.channel, "evidence.channel", allow_empty=True)
        if self.ip:
            _set(self, "ip", anonymise_ip(self.ip))
        ua = _check_text(self.user_agent, "evidence.user_agent", 100_000)
        ua = "".join(c for c in ua if ord(c) >= 32 and ord(c) != 127)[:512]
        _set(self, "user_agent", ua)
        if self.notice_sha256 and not _is_hex64(self.notice_sha256):
            raise InvalidInputError("evidence.notice_sha256 must be 64 lowercase hex digits")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ConsentEvent:
    """One append-only consent event; ``seq``, ``prev_hash`` and ``hash`` are set by the store.

    Each subject's events form a hash chain: ``hash`` is SHA-256 over ``prev_hash`` and
    the canonical encoding of every other field (:meth:`compute_hash`).
    """

    event_id: str
    """Unique id of the event (UUID)."""
    subject: str
    """The data subject's id in the application (never a name or ID number)."""
    purpose: str
    """The purpose key."""
    kind: EventKind
    """What happened."""
    time: _dt.datetime
    """When (aware UTC, microsecond precision)."""
    actor: Actor = dataclasses.field(default_factory=Actor)
    """Who acted."""
    method: str = ""
    """How: ``click``, ``checkbox``, ``signature``, ``accept_all``, ``imported_receipt`` …"""
    separate: bool = True
    """Whether the subject was asked for this purpose on its own (PIPL Art. 29)."""
    subject_age: int | None = None
    """The subject's age when acting, when known (PIPL Art. 31, GDPR Art. 8)."""
    notice_id: str = ""
    """The notice shown, if any."""
    notice_version: int = 0
    """The notice version shown (0 when no notice)."""
    expires_at: _dt.datetime | None = None
    """When a given or reaffirmed consent lapses."""
    evidence: Evidence = dataclasses.field(default_factory=Evidence)
    """How the consent was captured."""
    receipt_id: str = ""
    """The consent receipt id (given and reaffirmed events); a re-grant gets a new one."""
    reason_code: str = ""
    """A machine code for refusals and invalidations (e.g. ``notice_changed``)."""
    seq: int = 0
    """Position in the subject's chain, from 1; 0 before the store appends it."""
    prev_hash: str = ""
    """Hash of the previous event of the subject (64 zeros for the first)."""
    hash: str = ""
    """This event's chain hash."""

    def __post_init__(self) -> None:
        _check_id(self.event_id, "event_id")
        _check_id(self.subject, "subject")
        _check_id(self.purpose, "purpose")
        if self.kind not in _EVENT_KINDS:
            raise InvalidInputError(f"event kind must be one of {sorted(_EVENT_KINDS)}")
        time = utc(self.time, "time")
        _set(self, "time", time)
        if not isinstance(self.actor, Actor):
            raise InvalidInputError("actor must be an Actor")
        _check_id(self.method, "method", allow_empty=True)
        if not isinstance(self.separate, bool):
            raise InvalidInputError("separate must be a bool")
        if self.subject_age is not None and not _int_between(self.subject_age, 0, 150):
            raise InvalidInputError("subject_age must be an integer from 0 to 150")
        _check_id(self.notice_id, "notice_id", allow_empty=True)
        if not _int_between(self.notice_version, 0, 2**62) or (
                (self.notice_version == 0) != (not self.notice_id)):
            raise InvalidInputError("notice_version must be positive exactly when notice_id is set")
        if self.expires_at is not None:
            _set(self, "expires_at", utc(self.expires_at, "expires_at"))
        if not isinstance(self.evidence, Evidence):
            raise InvalidInputError("evidence must be an Evidence")
        _check_id(self.receipt_id, "receipt_id", allow_empty=True)
        _check_id(self.reason_code, "reason_code", allow_empty=True)
        if not _int_between(self.seq, 0, 2**62):
            raise InvalidInputError("seq must be a non-negative integer")

    @property
    def grants(self) -> bool:
        """True for ``given`` and ``reaffirmed`` events."""
        return self.kind in ("given", "reaffirmed")

    def canonical(self) -> bytes:
        """Return the canonical byte encoding hashed into the chain (excludes ``hash``)."""
        body = [
            "fp-consent-event-v1", self.seq, self.prev_hash, self.event_id, self.subject,
            self.purpose, self.kind, _micros(self.time), self.actor.kind, self.actor.id,
            self.method, self.separate, self.subject_age, self.notice_id,
            self.notice_version,
            None if self.expires_at is None else _micros(self.expires_at),
            self.evidence.channel, self.evidence.ip, self.evidence.user_agent,
            self.evidence.notice_sha256, self.receipt_id, self.reason_code,
        ]
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def compute_hash(self) -> str:
        """Return the SHA-256 (hex) of :meth:`canonical`; equals ``hash`` if untouched."""
        return hashlib.sha256(self.canonical()).hexdigest()

    def sealed(self, seq: int, prev_hash: str) -> ConsentEvent:
        """Return a copy placed at ``seq`` after ``prev_hash``, with its hash computed."""
        if not _int_between(seq, 1, 2**62) or not _is_hex64(prev_hash):
            raise InvalidInputError("seq must be positive and prev_hash 64 hex digits")
        # Copy without re-running validation: every field was checked on construction.
        placed = object.__new__(ConsentEvent)
        for name in _EVENT_FIELDS:
            object.__setattr__(placed, name, getattr(self, name))
        object.__setattr__(placed, "seq", seq)
        object.__setattr__(placed, "prev_hash", prev_hash)
        object.__setattr__(placed, "hash", "")
        object.__setattr__(placed, "hash", placed.compute_hash())
        return placed


_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(ConsentEvent))

GENESIS_HASH = _GENESIS
"""The ``prev_hash`` of a subject's first event."""


def _micros(moment: _dt.datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def to_micros(moment: _dt.datetime) -> int:
    """Return microseconds since the Unix epoch of an aware datetime (the time column)."""
    return _micros(moment)


def from_micros(value: int) -> _dt.datetime:
    """Return the aware UTC datetime ``value`` microseconds after the Unix epoch."""
    return _EPOCH + _dt.timedelta(microseconds=int(value))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ConsentStatus:
    """Whether consent for one (subject, purpose) is in force at one instant, and why not."""

    subject: str
    """The data subject."""
    purpose: str
    """The purpose key."""
    at: _dt.datetime
    """The instant evaluated."""
    granted: bool
    """True when consent is in force."""
    reason: Reason | None = None
    """Why not, when ``granted`` is False."""
    event: ConsentEvent | None = None
    """The event that decided (the last one at or before ``at``), if any."""
    expires_at: _dt.datetime | None = None
    """When the consent in force lapses, if it does."""

    def __bool__(self) -> bool:
        return self.granted
