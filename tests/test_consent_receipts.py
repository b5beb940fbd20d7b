"""Kantara Consent Receipt v1.1 export/import and the ISO/IEC TS 27560-shaped record."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.consent import (
    KANTARA_VERSION,
    ConsentLedger,
    Controller,
    Purpose,
    parse_receipt,
)

T0 = dt.datetime(2025, 3, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)
LOTUS = Controller(name="Lotus Bookkeeping Ltd.", contact="PIPO office",
                   address="1 Lotus Road, Hangzhou", email="privacy@lotus.example",
                   phone="+86 571 0000 0000", url="https://lotus.example")
VERIFY = Purpose(key="account_verification", description="Verify the client's bank account",
                 sensitive=True, data_categories=("bank_account", "cn_id"),
                 recipients=("Bank of Lotus",), valid_months=12)
MARKETING = Purpose(key="marketing", description="Monthly tax tips by email")


def make() -> tuple[ConsentLedger, fp.FixedClock]:
    clock = fp.FixedClock(T0)
    ledger = ConsentLedger("memory:", clock=clock)
    ledger.define_purpose(VERIFY)
    ledger.define_purpose(MARKETING)
    return ledger, clock


def test_kantara_export_fields() -> None:
    ledger, _ = make()
    event = ledger.grant("client-42", "account_verification",
                         evidence=fp.consent.Evidence(channel="web"))
    receipt = ledger.receipt("client-42", "account_verification", controller=LOTUS,
                             policy_url="https://lotus.example/privacy")
    data = json.loads(receipt.to_json())
    assert data["version"] == KANTARA_VERSION == "KI-CR-v1.1.0"
    assert data["consentTimestamp"] == int(T0.timestamp())  # whole seconds
    assert isinstance(data["consentTimestamp"], int)
    assert data["consentReceiptID"] == event.receipt_id
    assert data["piiPrincipalId"] == "client-42"
    assert data["jurisdiction"] == "CN"
    assert data["collectionMethod"] == "web:click"
    assert data["sensitive"] is True
    assert data["spiCat"] == ["bank_account", "cn_id"]
    assert data["piiControllers"][0]["piiController"] == "Lotus Bookkeeping Ltd."
    purpose = data["services"][0]["purposes"][0]
    assert purpose["purpose"] == "account_verification"
    assert purpose["termination"].startswith("expires 2026-03-01T10:00:00Z")
    assert purpose["thirdPartyDisclosure"] is True
    assert purpose["thirdPartyName"] == "Bank of Lotus"
    assert purpose["piiCategory"] == ["bank_account", "cn_id"]


def test_non_sensitive_receipt_and_termination_present() -> None:
    ledger, _ = make()
    ledger.grant("c1", "marketing")
    data = ledger.receipt("c1", "marketing", controller=LOTUS).to_kantara()
    assert data["sensitive"] is False
    assert data["spiCat"] == []
    assert data["services"][0]["purposes"][0]["termination"]


def test_regrant_gets_a_new_receipt_id() -> None:
    ledger, clock = make()
    ledger.grant("c1", "marketing")
    first = ledger.receipt("c1", "marketing", controller=LOTUS)
    clock.advance(dt.timedelta(days=1))
    ledger.withdraw("c1", "marketing")
    clock.advance(dt.timedelta(days=1))
    ledger.grant("c1", "marketing")
    second = ledger.receipt("c1", "marketing", controller=LOTUS)
    assert first.receipt_id != second.receipt_id
    assert second.timestamp == (T0 + dt.timedelta(days=2)).replace(microsecond=0)


def test_bundle_receipt_lists_every_purpose() -> None:
    ledger, _ = make()
    ledger.accept_all("c1", ["marketing", "account_verification"])
    receipt = ledger.receipt("c1", "account_verification", controller=LOTUS)
    keys = [p.purpose for s in receipt.services for p in s.purposes]
    assert keys == ["marketing", "account_verification"]
    assert receipt.sensitive


def test_receipt_for_never_granted_purpose() -> None:
    ledger, _ = make()
    with pytest.raises(fp.NotFoundError):
        ledger.receipt("c1", "marketing", controller=LOTUS)


def test_roundtrip_and_millisecond_import() -> None:
    ledger, _ = make()
    ledger.grant("c1", "account_verification")
    receipt = ledger.receipt("c1", "account_verification", controller=LOTUS)
    assert parse_receipt(receipt.to_json()) == receipt
    data = receipt.to_kantara()
    data["consentTimestamp"] = data["consentTimestamp"] * 1000 + 789
    parsed = parse_receipt(data)
    assert parsed.timestamp == receipt.timestamp
    assert parsed.to_kantara()["consentTimestamp"] == receipt.to_kantara()["consentTimestamp"]


def _foreign_receipt(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": "KI-CR-v1.1.0", "jurisdiction": "CN", "consentTimestamp": 1_700_000_000_000,
        "collectionMethod": "web form", "consentReceiptID": "rcpt-0001",
        "piiPrincipalId": "client-77",
        "piiControllers": [{"piiController": "Old CRM Ltd.", "contact": "x", "address": "y",
                            "email": "z", "phone": "p"}],
        "policyUrl": "https://old.example/privacy",
        "services": [{"service": "bookkeeping", "purposes": [
            {"purpose": "marketing", "purposeCategory": ["marketing"], "consentType": "EXPLICIT",
             "piiCategory": ["email"], "termination": "on withdrawal",
             "thirdPartyDisclosure": False}]}],
        "sensitive": False, "spiCat": [],
    }
    data.update(changes)
    return data


def test_import_receipt_records_events_once() -> None:
    ledger, _ = make()
    events = ledger.import_receipt(_foreign_receipt())
    assert [(e.subject, e.purpose, e.kind, e.receipt_id) for e in events] == [
        ("client-77", "marketing", "given", "rcpt-0001")]
    assert events[0].time == dt.datetime.fromtimestamp(1_700_000_000, dt.UTC)
    assert events[0].separate  # a single-purpose receipt
    assert ledger.check("client-77", "marketing")
    with pytest.raises(fp.ConflictError):
        ledger.import_receipt(_foreign_receipt())
    assert ledger.store.count() == 1


def test_import_with_unknown_purpose_writes_nothing() -> None:
    ledger, _ = make()
    data = _foreign_receipt()
    data["services"][0]["purposes"].append(dict(data["services"][0]["purposes"][0],
                                                purpose="telemarketing"))
    with pytest.raises(fp.InvalidInputError, match="telemarketing"):
        ledger.import_receipt(data)
    assert ledger.store.count() == 0


@pytest.mark.parametrize("mutate", [
    lambda d: d.pop("version"),
    lambda d: d.update(version="KI-CR-v1.0.0"),
    lambda d: d.update(consentTimestamp="yesterday"),
    lambda d: d.update(consentTimestamp=-5),
    lambda d: d.update(consentTimestamp=True),
    lambda d: d.update(consentTimestamp=float("nan")),
    lambda d: d.update(consentTimestamp=10**30),
    lambda d: d.update(consentReceiptID=""),
    lambda d: d.update(piiPrincipalId=7),
    lambda d: d.update(piiControllers=[]),
    lambda d: d.update(services=[]),
    lambda d: d["services"][0].update(purposes=[]),
    lambda d: d["services"][0]["purposes"][0].pop("termination"),
    lambda d: d["services"][0]["purposes"][0].update(piiCategory="email"),
    lambda d: d.update(sensitive=True, spiCat=[]),
    lambda d: d.update(spiCat=[1]),
])
def test_malformed_receipts_raise_format_error_and_write_nothing(mutate: Any) -> None:
    ledger, _ = make()
    data = _foreign_receipt()
    mutate(data)
    with pytest.raises(fp.FormatError):
        ledger.import_receipt(data)
    with pytest.raises(fp.FormatError):
        ledger.import_receipt(json.dumps(data, allow_nan=True))
    assert ledger.store.count() == 0
    assert ledger.history("client-77") == ()


def test_format_error_never_echoes_values() -> None:
    secret_like = "6222020200112233445"
    with pytest.raises(fp.FormatError) as info:
        parse_receipt(_foreign_receipt(piiPrincipalId=secret_like + "\n"))
    assert secret_like not in str(info.value)
    with pytest.raises(fp.FormatError) as info:
        parse_receipt(_foreign_receipt(version=secret_like))
    assert secret_like not in str(info.value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)


@given(JSON)
def test_fuzz_arbitrary_json_is_format_error(value: Any) -> None:
    with pytest.raises(fp.FormatError):
        parse_receipt(value if isinstance(value, dict) else json.dumps(value))


KEYS = ["version", "jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID",
        "piiPrincipalId", "piiControllers", "policyUrl", "services", "sensitive", "spiCat"]


@given(st.sampled_from(KEYS), JSON)
def test_fuzz_field_replacement_parses_or_is_format_error(key: str, value: Any) -> None:
    data = copy.deepcopy(_foreign_receipt())
    data[key] = value
    try:
        receipt = parse_receipt(data)
    except fp.FormatError:
        return
    assert parse_receipt(receipt.to_kantara()) == receipt


@given(st.binary(max_size=200))
def test_fuzz_bytes(blob: bytes) -> None:
    with pytest.raises(fp.FormatError):
        parse_receipt(blob)


@given(st.integers(min_value=0, max_value=253_402_300_799))
def test_fuzz_timestamps_normalise_to_seconds(seconds: int) -> None:
    data = _foreign_receipt(consentTimestamp=seconds)
    parsed = parse_receipt(data)
    if seconds >= 100_000_000_000:
        assert parsed.timestamp == dt.datetime.fromtimestamp(seconds // 1000, dt.UTC)
    else:
        assert parsed.timestamp == dt.datetime.fromtimestamp(seconds, dt.UTC)
    assert parsed.to_kantara()["consentTimestamp"] == int(parsed.timestamp.timestamp())


def test_iso27560_record_shape() -> None:
    ledger, clock = make()
    ledger.publish_notice("privacy", "Notice text", purposes=["account_verification"])
    ledger.grant("c1", "account_verification",
                 evidence=fp.consent.Evidence(channel="app", ip="203.0.113.9"))
    clock.advance(dt.timedelta(days=3))
    ledger.withdraw("c1", "account_verification")
    record = ledger.consent_record("c1", "account_verification", controller=LOTUS)
    assert record["schemaVersion"] == "ISO/IEC TS 27560:2023"
    assert record["piiPrincipalId"] == "c1"
    assert record["processing"]["sensitive"] is True
    assert record["processing"]["separateConsentRequired"] is True
    assert record["processing"]["duration"] == "P12M"
    assert record["notice"]["noticeId"] == "privacy"
    assert [e["type"] for e in record["events"]] == ["given", "withdrawn"]
    assert record["events"][0]["evidence"]["ipNetwork"] == "203.0.113.0/24"
    assert record["state"] == {"granted": False, "reason": "withdrawn",
                               "at": "2025-03-04T10:00:00.123456Z", "expires": None}
    json.dumps(record)  # JSON-ready


# -- conformance with Kantara Consent Receipt v1.1 (issue 16) ----------------------------
# The requirements of the published JSON Schema (KantaraInitiative/consent-receipt-v-next,
# CR_v1_1/kantara-consent-receipt-v1_1-schema.json, DRAFT 6 of 2017-11-17), written out
# here as a draft-04 schema: required top-level fields, a piiControllers item with an
# address *object*, and a purpose whose thirdPartyDisclosure is false, or true with a name.
_S = {"type": "string"}
_LIST = {"type": "array", "items": _S}
KANTARA_V1_1 = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "properties": {
        "version": _S, "jurisdiction": _S, "consentTimestamp": {"type": "integer", "minimum": 0},
        "collectionMethod": _S, "consentReceiptID": _S, "publicKey": _S, "language": _S,
        "piiPrincipalId": _S, "policyUrl": _S, "sensitive": {"type": "boolean"},
        "spiCat": _LIST,
        "piiControllers": {"type": "array", "items": {
            "type": "object",
            "properties": {"piiController": _S, "onBehalf": {"type": "boolean"},
                           "contact": _S, "address": {"type": "object"}, "email": _S,
                           "phone": _S, "piiControllerUrl": _S},
            "required": ["piiController", "contact", "address", "email", "phone"]}},
        "services": {"type": "array", "items": {
            "type": "object",
            "properties": {"service": _S, "purposes": {"type": "array", "items": {
                "type": "object",
                "properties": {"purpose": _S, "consentType": _S, "purposeCategory": _LIST,
                               "piiCategory": _LIST, "primaryPurpose": {"type": "boolean"},
                               "termination": _S},
                "oneOf": [
                    {"properties": {"thirdPartyDisclosure": {"type": "boolean",
                                                             "enum": [False]}},
                     "required": ["thirdPartyDisclosure"]},
                    {"properties": {"thirdPartyDisclosure": {"type": "boolean",
                                                             "enum": [True]},
                                    "thirdPartyName": _S},
                     "required": ["thirdPartyDisclosure", "thirdPartyName"]}],
                "required": ["consentType", "purposeCategory", "piiCategory", "termination",
                             "thirdPartyDisclosure"]}}},
            "required": ["service", "purposes"]}},
    },
    "required": ["version", "jurisdiction", "consentTimestamp", "collectionMethod",
                 "consentReceiptID", "piiPrincipalId", "piiControllers", "services",
                 "policyUrl", "sensitive", "spiCat"],
}

# A receipt shaped like Kantara's published example (its structure; our own values): an
# address object, a disclosed and an undisclosed purpose, consent type "N/A".
KANTARA_STYLE_EXAMPLE = {
    "version": "KI-CR-v1.1.0", "jurisdiction": "CN", "consentTimestamp": 1740823200,
    "collectionMethod": "Web form with opt-in", "consentReceiptID":
    "9f1c2b6e-3d4a-4e8b-9a7c-2f5d6e7a8b9c", "publicKey": "04:a3:1d", "language": "zh",
    "piiPrincipalId": "client-42",
    "piiControllers": [{"piiController": "Lotus Bookkeeping Ltd.", "contact": "PIPO office",
                        "address": {"streetAddress": "1 Lotus Road", "addressCountry": "CN"},
                        "email": "privacy@lotus.example", "phone": "(571) 555-0100"}],
    "policyUrl": "https://lotus.example/privacy",
    "services": [{"service": "Bookkeeping", "purposes": [
        {"purpose": "account_verification", "purposeCategory": ["2 - Contracted Service"],
         "consentType": "EXPLICIT", "piiCategory": ["7 - Financial"], "primaryPurpose": True,
         "termination": "withdraw at any time", "thirdPartyDisclosure": True,
         "thirdPartyName": "Bank of Lotus"},
        {"purpose": "marketing", "purposeCategory": ["6 - Marketing"], "consentType": "N/A",
         "piiCategory": ["2 - Contact"], "primaryPurpose": False, "termination": "N/A",
         "thirdPartyDisclosure": False}]}],
    "sensitive": True, "spiCat": ["7 - Financial"],
}


def _validate(receipt: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.Draft4Validator(KANTARA_V1_1).validate(receipt)


def test_every_receipt_we_write_validates_against_the_kantara_schema() -> None:
    ledger, _ = make()
    ledger.grant("client-42", "account_verification")
    ledger.grant("client-42", "marketing")
    for purpose in ("account_verification", "marketing"):
        data = ledger.receipt("client-42", purpose, controller=LOTUS).to_kantara()
        _validate(data)
        assert data["piiControllers"][0]["address"] == {"streetAddress": "1 Lotus Road, Hangzhou"}
    structured = Controller(name="Lotus", contact="PIPO", email="p@lotus.example", phone="1",
                            address=fp.consent.PostalAddress(street_address="1 Lotus Road",
                                                             locality="Hangzhou", country="CN"))
    data = ledger.receipt("client-42", "marketing", controller=structured).to_kantara()
    _validate(data)
    assert data["piiControllers"][0]["address"] == {
        "streetAddress": "1 Lotus Road", "addressLocality": "Hangzhou", "addressCountry": "CN"}


def test_a_receipt_shaped_like_kantaras_example_parses() -> None:
    _validate(KANTARA_STYLE_EXAMPLE)
    receipt = parse_receipt(json.dumps(KANTARA_STYLE_EXAMPLE))
    address = receipt.controllers[0].address
    assert isinstance(address, fp.consent.PostalAddress)
    assert (address.street_address, address.country) == ("1 Lotus Road", "CN")
    assert parse_receipt(receipt.to_kantara()) == receipt


def test_an_address_of_the_wrong_type_is_a_format_error() -> None:
    bad = copy.deepcopy(KANTARA_STYLE_EXAMPLE)
    bad["piiControllers"][0]["address"] = ["1 Lotus Road"]  # type: ignore[index]
    with pytest.raises(fp.FormatError, match="address must be an object"):
        parse_receipt(bad)
