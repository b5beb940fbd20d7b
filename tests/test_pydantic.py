"""pydantic v2 integration: fp.Encrypted fields, keyrings from context, migration mode."""

from __future__ import annotations

import json
import logging
import pickle
from typing import Annotated

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import PydanticSerializationError

import finprivacy as fp
from finprivacy.crypto import record_context

CARD = "6222020200112233445"
ID_NO = "110101199003077777"


class Customer(pydantic.BaseModel):
    id: int
    name: str
    card_no: Annotated[fp.Secret[str], fp.Encrypted(context="customers.card_no")]
    id_no: Annotated[fp.Secret[str] | None,
                     fp.Encrypted(context="customers.id_no", context_field="id")] = None
    scan: Annotated[fp.Secret[bytes] | None, fp.Encrypted(context="customers.scan")] = None


class Legacy(pydantic.BaseModel):
    card_no: Annotated[fp.Secret[str],
                       fp.Encrypted(context="customers.card_no", accept_plaintext=True)]


class Ledger(pydantic.BaseModel):
    customers: list[Customer]


@pytest.fixture
def kr() -> fp.Keyring:
    return fp.Keyring.generate()


def _customer() -> Customer:
    return Customer(id=7, name="Li Lei", card_no=CARD, id_no=ID_NO, scan=b"\x89PNG")


def test_design_example(kr: fp.Keyring) -> None:
    with fp.use_keyring(kr):
        stored = Customer(id=1, name="x", card_no=CARD).model_dump(mode="json")
        assert fp.crypto.is_token(stored["card_no"])
        assert Customer.model_validate(stored).card_no.reveal() == CARD


def test_round_trip_json_and_python(kr: fp.Keyring) -> None:
    c = _customer()
    assert isinstance(c.card_no, fp.Secret)
    assert c.model_dump()["card_no"] is c.card_no  # python mode keeps the Secret
    with fp.use_keyring(kr):
        row = c.model_dump(mode="json")
        text = c.model_dump_json()
    for value in (row["card_no"], row["id_no"], row["scan"]):
        assert value.startswith(f"fp1.{kr.primary_id}.")
    assert kr.decrypt(row["card_no"], context="customers.card_no") == CARD
    assert kr.decrypt(row["id_no"], context=record_context("customers.id_no", 7)) == ID_NO
    assert kr.decrypt(row["scan"], context="customers.scan") == b"\x89PNG"
    with fp.use_keyring(kr):
        for back in (Customer.model_validate(row), Customer.model_validate_json(text)):
            assert back.card_no.reveal() == CARD
            assert back.id_no is not None
            assert back.id_no.reveal() == ID_NO
            assert back.scan is not None
            assert back.scan.reveal() == b"\x89PNG"
            assert back == c


def test_keyring_from_serialisation_and_validation_context(kr: fp.Keyring) -> None:
    c = _customer()
    row = c.model_dump(mode="json", context={"keyring": kr})
    text = c.model_dump_json(context={"keyring": kr})
    assert Customer.model_validate(row, context={"keyring": kr}) == c
    assert Customer.model_validate_json(text, context={"keyring": kr}) == c
    other = fp.Keyring.generate()
    with fp.use_keyring(other):  # the explicit keyring wins over the current one
        assert Customer.model_validate(row, context={"keyring": kr}) == c


def test_optional_fields(kr: fp.Keyring) -> None:
    c = Customer(id=1, name="x", card_no=CARD)
    with fp.use_keyring(kr):
        row = c.model_dump(mode="json")
        assert row["id_no"] is None
        assert row["scan"] is None
        assert Customer.model_validate(row).id_no is None


def test_secret_input_is_accepted() -> None:
    c = Customer(id=1, name="x", card_no=fp.Secret(CARD), scan=fp.Secret(b"x"))
    assert c.card_no.reveal() == CARD
    with pytest.raises(pydantic.ValidationError):
        Customer(id=1, name="x", card_no=fp.Secret(b"bytes"))


def test_bytes_fields_accept_bytearray() -> None:
    c = Customer(id=1, name="x", card_no=CARD, scan=bytearray(b"ab"))
    assert c.scan is not None
    assert c.scan.reveal() == b"ab"


def test_dump_without_keyring_never_writes_plaintext() -> None:
    c = _customer()
    with pytest.raises(PydanticSerializationError) as info:
        c.model_dump_json()
    assert "ConfigurationError: no keyring" in str(info.value)
    assert CARD not in str(info.value)
    with pytest.raises(PydanticSerializationError) as info:
        c.model_dump(mode="json")
    assert isinstance(info.value.__cause__, fp.ConfigurationError)


def test_validate_token_without_keyring(kr: fp.Keyring) -> None:
    row = _customer().model_dump(mode="json", context={"keyring": kr})
    with pytest.raises(pydantic.ValidationError, match="no keyring"):
        Customer.model_validate(row)


def test_tampered_and_misplaced_tokens_raise_decryption_error(kr: fp.Keyring) -> None:
    row = _customer().model_dump(mode="json", context={"keyring": kr})
    bad = [
        {**row, "card_no": row["card_no"][:-4] + "AAAA"},
        {**row, "card_no": row["scan"]},              # copied from another column
        {**row, "id": 8},                             # id_no copied to another record
        {**row, "card_no": row["card_no"].replace("fp1.", "fp2.")},
    ]
    for data in bad:
        with pytest.raises(fp.DecryptionError):
            Customer.model_validate(data, context={"keyring": kr})
    with pytest.raises(fp.DecryptionError):
        Customer.model_validate(row, context={"keyring": fp.Keyring.generate()})


def test_type_mismatch_between_token_and_field(kr: fp.Keyring) -> None:
    token = kr.encrypt(b"raw", context="customers.card_no")
    with pytest.raises(pydantic.ValidationError, match="token holds bytes"):
        Customer.model_validate({"id": 1, "name": "x", "card_no": token},
                                context={"keyring": kr})


def test_non_tokens_refused_when_loading(kr: fp.Keyring) -> None:
    data = {"id": 1, "name": "x", "card_no": CARD}
    with pytest.raises(pydantic.ValidationError) as info:
        Customer.model_validate_json(json.dumps(data), context={"keyring": kr})
    assert "finprivacy_token_required" in str(info.value)
    with pytest.raises(pydantic.ValidationError):
        Customer.model_validate(data, context={"keyring": kr, "require_tokens": True})
    # Construction in python mode takes plaintext.
    assert Customer.model_validate(data).card_no.reveal() == CARD


def test_validation_errors_hide_the_input() -> None:
    for bad in (int(CARD), [CARD], {"n": CARD}, CARD.encode()):
        with pytest.raises(pydantic.ValidationError) as info:
            Customer(id=1, name="x", card_no=bad)  # type: ignore[arg-type]
        text = str(info.value) + repr(info.value) + json.dumps(info.value.errors(),
                                                              default=repr)
        assert CARD not in text
        assert "**********" in text
    with pytest.raises(pydantic.ValidationError) as info:
        Customer.model_validate_json(json.dumps({"id": 1, "name": "x", "card_no": CARD}))
    assert CARD not in str(info.value)


def test_legacy_plaintext_migration(kr: fp.Keyring) -> None:
    with fp.use_keyring(kr):
        old = Legacy.model_validate_json(json.dumps({"card_no": CARD}))
        assert old.card_no.reveal() == CARD
        assert fp.needs_resave(old)
        row = old.model_dump(mode="json")
        assert fp.crypto.is_token(row["card_no"])
        new = Legacy.model_validate(row)
        assert not fp.needs_resave(new)
        assert new.card_no.reveal() == CARD
        # Real tokens that fail still raise: the stored value is never handed back.
        with pytest.raises(fp.DecryptionError):
            Legacy.model_validate({"card_no": row["card_no"][:-4] + "AAAA"})
        with pytest.raises(fp.DecryptionError):
            Legacy.model_validate({"card_no": "fp1.deadbeef.AAAA"})


def test_needs_resave_after_rotation(kr: fp.Keyring) -> None:
    with fp.use_keyring(kr):
        row = _customer().model_dump(mode="json")
        assert not fp.needs_resave(Customer.model_validate(row))
        kr.rotate()
        loaded = Customer.model_validate(row)
        assert fp.needs_resave(loaded)
        assert fp.needs_resave(Ledger(customers=[loaded]))
        assert not fp.needs_resave(Customer.model_validate(loaded.model_dump(mode="json")))
    assert fp.needs_resave(loaded, keyring=kr)
    assert not fp.needs_resave(loaded)  # no keyring known: only legacy plaintext counts
    assert not fp.needs_resave(_customer(), keyring=kr)


def test_context_field_needs_a_value(kr: fp.Keyring) -> None:
    class Row(pydantic.BaseModel):
        id: int | None = None
        secret: Annotated[fp.Secret[str], fp.Encrypted(context="t.s", context_field="id")]

    with pytest.raises(PydanticSerializationError, match="bound to 'id'"):
        Row(secret="x").model_dump_json(context={"keyring": kr})

    class Late(pydantic.BaseModel):
        secret: Annotated[fp.Secret[str], fp.Encrypted(context="t.s", context_field="id")]
        id: int

    token = kr.encrypt("x", context="t.s#1")
    with pytest.raises(pydantic.ValidationError, match="declared before"):
        Late.model_validate({"secret": token, "id": 1}, context={"keyring": kr})


def test_nested_models(kr: fp.Keyring) -> None:
    ledger = Ledger(customers=[_customer(), Customer(id=8, name="y", card_no="1")])
    text = ledger.model_dump_json(context={"keyring": kr})
    assert CARD not in text
    assert Ledger.model_validate_json(text, context={"keyring": kr}) == ledger


def test_annotation_checks() -> None:
    with pytest.raises(fp.ConfigurationError):
        class Plain(pydantic.BaseModel):
            card_no: Annotated[str, fp.Encrypted(context="c")]
    with pytest.raises(fp.ConfigurationError):
        class Both(pydantic.BaseModel):
            card_no: Annotated[fp.Secret[str] | fp.Secret[bytes], fp.Encrypted(context="c")]
    with pytest.raises(fp.ConfigurationError):
        fp.Encrypted(context="")
    with pytest.raises(fp.ConfigurationError):
        fp.Encrypted(context="c", context_field="not a name")


def test_json_schema() -> None:
    schema = Customer.model_json_schema()
    card = schema["properties"]["card_no"]
    assert card["format"] == "finprivacy-token"
    assert card["type"] == "string"
    assert {"type": "null"} in schema["properties"]["id_no"]["anyOf"]


def test_no_plaintext_in_repr_str_logs_or_pickle(kr: fp.Keyring,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    c = _customer()
    log = logging.getLogger("finprivacy.test")
    with caplog.at_level(logging.DEBUG):
        log.info("customer %s / %r", c, c)
        log.info("dump %s", c.model_dump())
    text = repr(c) + str(c) + caplog.text + repr(c.model_dump()) + format(c.card_no, "")
    with fp.use_keyring(kr):
        text += c.model_dump_json()
    for secret in (CARD, ID_NO, "\\x89PNG"):
        assert secret not in text
    with pytest.raises(TypeError):
        pickle.dumps(c)


@given(card=st.text(max_size=40), scan=st.binary(max_size=40))
def test_round_trip_property(card: str, scan: bytes) -> None:
    kr = _KR
    c = Customer(id=3, name="n", card_no=card, id_no=card, scan=scan)
    back = Customer.model_validate_json(c.model_dump_json(context={"keyring": kr}),
                                        context={"keyring": kr})
    assert back == c


_KR = fp.Keyring.generate()


def test_type_adapter_and_dataclass(kr: fp.Keyring) -> None:
    cards = pydantic.TypeAdapter(
        list[Annotated[fp.Secret[str], fp.Encrypted(context="customers.card_no")]])
    values = cards.validate_python([CARD, "4111111111111111"])
    tokens = cards.dump_python(values, mode="json", context={"keyring": kr})
    assert all(fp.crypto.is_token(t) for t in tokens)
    assert [s.reveal() for s in cards.validate_python(tokens, context={"keyring": kr})] == [
        CARD, "4111111111111111"]

    @pydantic.dataclasses.dataclass
    class Row:
        id: int
        card_no: Annotated[fp.Secret[str],
                           fp.Encrypted(context="customers.card_no", context_field="id")]

    adapter = pydantic.TypeAdapter(Row)
    dumped = adapter.dump_json(Row(id=5, card_no=fp.Secret(CARD)), context={"keyring": kr})
    assert CARD.encode() not in dumped
    assert adapter.validate_json(dumped, context={"keyring": kr}).card_no.reveal() == CARD
