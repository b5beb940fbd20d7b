"""Consent receipts: Kantara Initiative Consent Receipt v1.1 and ISO/IEC TS 27560 records.

The Kantara Consent Receipt Specification v1.1 (2018) defines a JSON record given to
the data subject when consent is collected: ``version`` ``"KI-CR-v1.1.0"``,
``consentTimestamp`` in seconds since the Unix epoch, the controller, the services and
purposes, ``sensitive`` and ``spiCat``. ISO/IEC TS 27560:2023 ("Consent record
information structure") succeeds it; :func:`build_iso27560` emits a record shaped on its
information structure (record, PII principal, processing, notice, events, state).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import FormatError, InvalidInputError
from ._model import ConsentEvent, ConsentStatus, Purpose, _check_id

__all__ = [
    "KANTARA_VERSION",
    "ConsentReceipt",
    "Controller",
    "PostalAddress",
    "ReceiptPurpose",
    "ReceiptService",
    "build_iso27560",
    "build_receipt",
    "parse_receipt",
]

KANTARA_VERSION = "KI-CR-v1.1.0"
"""The ``version`` value of a Kantara Consent Receipt v1.1."""

MILLISECONDS_THRESHOLD = 100_000_000_000
"""A ``consentTimestamp`` at or above this (year 5138 in seconds) is read as milliseconds."""

_MAX_RECEIPT_BYTES = 1_000_000


_ADDRESS_KEYS = (("street_address", "streetAddress"), ("locality", "addressLocality"),
                 ("region", "addressRegion"), ("postal_code", "postalCode"),
                 ("country", "addressCountry"))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PostalAddress:
    """A controller's postal address, written as the Kantara v1.1 ``address`` object.

    The keys are schema.org ``PostalAddress`` names, as in Kantara's own example.
    """

    street_address: str = ""
    """``streetAddress``: street and number (or the whole address on one line)."""
    locality: str = ""
    """``addressLocality``: the city."""
    region: str = ""
    """``addressRegion``: province or state."""
    postal_code: str = ""
    """``postalCode``."""
    country: str = ""
    """``addressCountry``: ISO 3166-1 alpha-2, e.g. ``CN``."""

    def __post_init__(self) -> None:
        for name, _ in _ADDRESS_KEYS:
            if not isinstance(getattr(self, name), str):
                raise InvalidInputError(f"address {name} must be a string")

    def to_json(self) -> dict[str, str]:
        """Return the ``address`` object (empty parts left out)."""
        return {key: getattr(self, name) for name, key in _ADDRESS_KEYS if getattr(self, name)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PostalAddress:
        """Read an ``address`` object; unknown keys are ignored, values must be strings."""
        values = {}
        for name, key in _ADDRESS_KEYS:
            value = data.get(key, "")
            if not isinstance(value, str):
                raise FormatError(f"receipt: address field {key} must be a string")
            values[name] = value
        return cls(**values)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Controller:
    """The PII controller named in a receipt (Kantara v1.1 ``piiControllers`` item)."""

    name: str
    """Legal name, e.g. ``"Lotus Bookkeeping Ltd."``."""
    contact: str = ""
    """A contact person or office (e.g. the personal-information protection officer)."""
    address: PostalAddress | str = ""
    """Postal address: a :class:`PostalAddress`, or one line of text (kept as its
    ``street_address``). Always written as the object Kantara v1.1 requires."""
    email: str = ""
    """Contact email."""
    phone: str = ""
    """Contact phone number."""
    url: str = ""
    """Controller website."""
    on_behalf: bool = False
    """Whether the controller acts on behalf of another controller."""

    def __post_init__(self) -> None:
        name: object = self.name
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError("controller name must be a non-empty string")
        for name in ("contact", "email", "phone", "url"):
            if not isinstance(getattr(self, name), str):
                raise InvalidInputError(f"controller {name} must be a string")
        if isinstance(self.address, str):
            object.__setattr__(self, "address", PostalAddress(street_address=self.address))
        elif not isinstance(self.address, PostalAddress):
            raise InvalidInputError("controller address must be a PostalAddress or a string")
        if not isinstance(self.on_behalf, bool):
            raise InvalidInputError("controller on_behalf must be a bool")

    def _address(self) -> PostalAddress:
        address = self.address
        return address if isinstance(address, PostalAddress) else PostalAddress(
            street_address=address)

    def to_json(self) -> dict[str, Any]:
        """Return the Kantara ``piiControllers`` item."""
        item: dict[str, Any] = {"piiController": self.name, "onBehalf": self.on_behalf,
                                "contact": self.contact, "address": self._address().to_json(),
                                "email": self.email, "phone": self.phone}
        if self.url:
            item["piiControllerUrl"] = self.url
        return item


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReceiptPurpose:
    """One purpose in a receipt (Kantara v1.1 ``services[].purposes[]``)."""

    purpose: str
    """The purpose (this library writes the purpose key)."""
    purpose_category: tuple[str, ...] = ()
    """Purpose categories."""
    consent_type: str = "EXPLICIT"
    """``EXPLICIT`` or ``IMPLICIT``."""
    pii_category: tuple[str, ...] = ()
    """Categories of personal information."""
    primary_purpose: bool = True
    """Whether this is the primary purpose of the service."""
    termination: str = "withdraw at any time"
    """When and how the consent ends."""
    third_party_disclosure: bool = False
    """Whether data is disclosed to third parties."""
    third_party_name: str = ""
    """The third parties, when disclosed."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReceiptService:
    """A service and its purposes (Kantara v1.1 ``services[]``)."""

    service: str
    """The service name."""
    purposes: tuple[ReceiptPurpose, ...]
    """Its purposes."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ConsentReceipt:
    """A Kantara Consent Receipt v1.1, parsed and normalised (timestamp in whole seconds)."""

    receipt_id: str
    """``consentReceiptID``: a new one for every grant, including a re-grant."""
    subject: str
    """``piiPrincipalId``: the subject's id."""
    timestamp: _dt.datetime
    """``consentTimestamp`` as an aware UTC datetime, whole seconds."""
    jurisdiction: str
    """``jurisdiction``, e.g. ``"CN"``."""
    collection_method: str
    """``collectionMethod``."""
    controllers: tuple[Controller, ...]
    """``piiControllers``."""
    policy_url: str
    """``policyUrl``."""
    services: tuple[ReceiptService, ...]
    """``services``."""
    sensitive: bool
    """``sensitive``: whether sensitive personal information is processed."""
    spi_categories: tuple[str, ...] = ()
    """``spiCat``: the sensitive categories (non-empty when ``sensitive``)."""
    language: str = ""
    """``language``."""

    def to_kantara(self) -> dict[str, Any]:
        """Return the receipt as a Kantara v1.1 JSON object (a dict)."""
        data: dict[str, Any] = {
            "version": KANTARA_VERSION,
            "jurisdiction": self.jurisdiction,
            "consentTimestamp": int(self.timestamp.timestamp()),
            "collectionMethod": self.collection_method,
            "consentReceiptID": self.receipt_id,
            "piiPrincipalId": self.subject,
            "piiControllers": [c.to_json() for c in self.controllers],
            "policyUrl": self.policy_url,
            "services": [
                {"service": s.service, "purposes": [
                    {"purpose": p.purpose, "purposeCategory": list(p.purpose_category),
                     "consentType": p.consent_type, "piiCategory": list(p.pii_category),
                     "primaryPurpose": p.primary_purpose, "termination": p.termination,
                     "thirdPartyDisclosure": p.third_party_disclosure,
                     **({"thirdPartyName": p.third_party_name}
                        if p.third_party_name else {})}
                    for p in s.purposes]}
                for s in self.services],
            "sensitive": self.sensitive,
            "spiCat": list(self.spi_categories),
        }
        if self.language:
            data["language"] = self.language
        return data

    def to_json(self) -> str:
        """Return the Kantara JSON text (keys in specification order)."""
        return json.dumps(self.to_kantara(), ensure_ascii=False, indent=2)


def _termination(event: ConsentEvent) -> str:
    if event.expires_at is None:
        return "until withdrawn; withdraw at any time"
    return (f"expires {event.expires_at.strftime('%Y-%m-%dT%H:%M:%SZ')}; "
            "withdraw at any time")


def build_receipt(events: Sequence[ConsentEvent], purposes: Mapping[str, Purpose], *,
                  controller: Controller, jurisdiction: str = "CN", policy_url: str = "",
                  service: str = "") -> ConsentReceipt:
    """Build the receipt of grant ``events`` that share one receipt id."""
    if not events:
        raise InvalidInputError("a receipt needs at least one grant event")
    first = events[0]
    items = []
    spi: list[str] = []
    sensitive = False
    for event in events:
        definition = purposes[event.purpose]
        if definition.sensitive:
            sensitive = True
            spi.extend(c for c in definition.data_categories or ("financial",) if c not in spi)
        items.append(ReceiptPurpose(
            purpose=event.purpose, purpose_category=(definition.description,),
            consent_type="EXPLICIT", pii_category=definition.data_categories,
            primary_purpose=event is first, termination=_termination(event),
            third_party_disclosure=bool(definition.recipients),
            third_party_name=", ".join(definition.recipients)))
    when = first.time.replace(microsecond=0)
    return ConsentReceipt(
        receipt_id=first.receipt_id, subject=first.subject, timestamp=when,
        jurisdiction=jurisdiction, collection_method=f"{first.evidence.channel or 'unspecified'}"
        f":{first.method or 'unspecified'}", controllers=(controller,), policy_url=policy_url,
        services=(ReceiptService(service=service or controller.name, purposes=tuple(items)),),
        sensitive=sensitive, spi_categories=tuple(spi))


# -- parsing ----------------------------------------------------------------------
def _field(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...], where: str,
           *, required: bool = True, default: Any = None) -> Any:
    if name not in data:
        if required:
            raise FormatError(f"receipt: missing field {where}{name}")
        return default
    value = data[name]
    if isinstance(value, bool) and kind in (int, (int, float)):
        raise FormatError(f"receipt: field {where}{name} has the wrong type")
    if not isinstance(value, kind):
        raise FormatError(f"receipt: field {where}{name} has the wrong type")
    return value


def _strings(data: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = _field(data, name, list, where, required=False, default=[])
    if not all(isinstance(v, str) for v in value):
        raise FormatError(f"receipt: field {where}{name} must be a list of strings")
    return tuple(value)


def _address_of(value: object, where: str) -> PostalAddress:
    """Read ``address``: the object Kantara v1.1 requires, or text (older receipts)."""
    if isinstance(value, Mapping):
        return PostalAddress.from_json(value)
    if isinstance(value, str):
        return PostalAddress(street_address=value)
    raise FormatError(f"receipt: field {where}address must be an object")


def parse_receipt(data: Mapping[str, Any] | str | bytes) -> ConsentReceipt:
    """Parse a Kantara v1.1 receipt (JSON text or a decoded object).

    ``consentTimestamp`` in milliseconds (at or above :data:`MILLISECONDS_THRESHOLD`) is
    normalised to seconds. Anything malformed raises :class:`FormatError` naming the
    field, never its value.
    """
    if isinstance(data, (str, bytes)):
        if len(data) > _MAX_RECEIPT_BYTES:
            raise FormatError("receipt: larger than 1 MB")
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise FormatError("receipt: not valid JSON") from None
    if not isinstance(data, Mapping):
        raise FormatError("receipt: top level must be a JSON object")
    version = _field(data, "version", str, "")
    if version != KANTARA_VERSION:
        raise FormatError(f"receipt: version must be {KANTARA_VERSION!r}")
    raw_ts = _field(data, "consentTimestamp", (int, float), "")
    if raw_ts != raw_ts or raw_ts in (float("inf"), float("-inf")) or raw_ts < 0:
        raise FormatError("receipt: consentTimestamp must be a non-negative number")
    seconds = int(raw_ts // 1000) if raw_ts >= MILLISECONDS_THRESHOLD else int(raw_ts)
    if seconds >= 253_402_300_800:  # 10000-01-01
        raise FormatError("receipt: consentTimestamp is out of range")
    timestamp = _dt.datetime.fromtimestamp(seconds, _dt.UTC)
    try:
        receipt_id = _check_id(_field(data, "consentReceiptID", str, ""), "consentReceiptID")
        subject = _check_id(_field(data, "piiPrincipalId", str, ""), "piiPrincipalId")
    except InvalidInputError as exc:
        raise FormatError(f"receipt: {exc}") from None
    controllers = []
    raw_controllers = _field(data, "piiControllers", list, "")
    if not raw_controllers:
        raise FormatError("receipt: piiControllers must not be empty")
    for i, item in enumerate(raw_controllers):
        where = f"piiControllers[{i}]."
        if not isinstance(item, Mapping):
            raise FormatError(f"receipt: {where[:-1]} must be an object")
        try:
            controllers.append(Controller(
                name=_field(item, "piiController", str, where),
                contact=_field(item, "contact", str, where, required=False, default=""),
                address=_address_of(item.get("address", ""), where),
                email=_field(item, "email", str, where, required=False, default=""),
                phone=_field(item, "phone", str, where, required=False, default=""),
                url=_field(item, "piiControllerUrl", str, where, required=False, default=""),
                on_behalf=_field(item, "onBehalf", bool, where, required=False,
                                 default=False)))
        except InvalidInputError as exc:
            if isinstance(exc, FormatError):
                raise
            raise FormatError(f"receipt: {where[:-1]}: {exc}") from None
    services = []
    raw_services = _field(data, "services", list, "")
    if not raw_services:
        raise FormatError("receipt: services must not be empty")
    for i, item in enumerate(raw_services):
        where = f"services[{i}]."
        if not isinstance(item, Mapping):
            raise FormatError(f"receipt: {where[:-1]} must be an object")
        name = _field(item, "service", str, where)
        raw_purposes = _field(item, "purposes", list, where)
        if not raw_purposes:
            raise FormatError(f"receipt: {where}purposes must not be empty")
        purposes = []
        for j, p in enumerate(raw_purposes):
            pw = f"{where}purposes[{j}]."
            if not isinstance(p, Mapping):
                raise FormatError(f"receipt: {pw[:-1]} must be an object")
            key = _field(p, "purpose", str, pw)
            try:
                _check_id(key, "purpose")
            except InvalidInputError:
                raise FormatError(f"receipt: field {pw}purpose is not a valid key") from None
            purposes.append(ReceiptPurpose(
                purpose=key, purpose_category=_strings(p, "purposeCategory", pw),
                consent_type=_field(p, "consentType", str, pw),
                pii_category=_strings(p, "piiCategory", pw),
                primary_purpose=_field(p, "primaryPurpose", bool, pw, required=False,
                                       default=False),
                termination=_field(p, "termination", str, pw),
                third_party_disclosure=_field(p, "thirdPartyDisclosure", bool, pw),
                third_party_name=_field(p, "thirdPartyName", str, pw, required=False,
                                        default="")))
        services.append(ReceiptService(service=name, purposes=tuple(purposes)))
    keys = [p.purpose for s in services for p in s.purposes]
    if len(set(keys)) != len(keys):
        raise FormatError("receipt: a purpose appears twice")
    sensitive = _field(data, "sensitive", bool, "")
    spi = _strings(data, "spiCat", "")
    if sensitive and not spi:
        raise FormatError("receipt: spiCat must not be empty when sensitive is true")
    return ConsentReceipt(
        receipt_id=receipt_id, subject=subject, timestamp=timestamp,
        jurisdiction=_field(data, "jurisdiction", str, ""),
        collection_method=_field(data, "collectionMethod", str, ""),
        controllers=tuple(controllers), policy_url=_field(data, "policyUrl", str, ""),
        services=tuple(services), sensitive=sensitive, spi_categories=spi,
        language=_field(data, "language", str, "", required=False, default=""))


# -- ISO/IEC TS 27560 -------------------------------------------------------------
def _iso(moment: _dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def build_iso27560(subject: str, purpose: Purpose, events: Sequence[ConsentEvent],
                   status: ConsentStatus, *, controller: Controller,
                   jurisdiction: str = "CN") -> dict[str, Any]:
    """Return a consent record shaped on ISO/IEC TS 27560:2023's information structure.

    Sections: record metadata, PII principal, controller, processing (purpose, legal
    basis, PII categories, sensitivity, recipients, duration), the notice, every event
    (type, time, actor, method, evidence, chain hash) and the current state.
    """
    grants = [e for e in events if e.grants]
    notice = grants[-1] if grants else None
    duration: str | None = None
    if purpose.valid_months is not None:
        duration = f"P{purpose.valid_months}M"
    elif purpose.valid_for is not None:
        duration = f"PT{int(purpose.valid_for.total_seconds())}S"
    return {
        "schemaVersion": "ISO/IEC TS 27560:2023",
        "recordId": f"{subject}/{purpose.key}",
        "piiPrincipalId": subject,
        "jurisdiction": jurisdiction,
        "piiController": controller.to_json(),
        "processing": {
            "purpose": purpose.key,
            "purposeDescription": purpose.description,
            "legalBasis": purpose.legal_basis,
            "piiCategories": list(purpose.data_categories),
            "sensitive": purpose.sensitive,
            "separateConsentRequired": bool(purpose.requires_separate_consent),
            "recipients": list(purpose.recipients),
            "duration": duration,
        },
        "notice": None if notice is None or not notice.notice_id else {
            "noticeId": notice.notice_id, "version": notice.notice_version,
            "sha256": notice.evidence.notice_sha256},
        "events": [{
            "eventId": e.event_id, "seq": e.seq, "type": e.kind, "time": _iso(e.time),
            "actor": {"kind": e.actor.kind, "id": e.actor.id}, "method": e.method,
            "separate": e.separate, "receiptId": e.receipt_id, "expires": _iso(e.expires_at),
            "evidence": {"channel": e.evidence.channel, "ipNetwork": e.evidence.ip,
                         "userAgent": e.evidence.user_agent,
                         "noticeSha256": e.evidence.notice_sha256},
            "reasonCode": e.reason_code, "hash": e.hash} for e in events],
        "state": {"granted": status.granted, "reason": status.reason,
                  "at": _iso(status.at), "expires": _iso(status.expires_at)},
    }
