from __future__ import annotations

import dataclasses
import logging
import pickle
from typing import Annotated

import pydantic
import pytest

import finprivacy as fp
from finprivacy.crypto import (
    PROFILE_FINANCE,
    PROFILE_RFC9106_LOW_MEMORY,
    PROFILE_TESTING_ONLY,
    HashProfile,
    SecretHasher,
)

PIN = "246810"
FAST = PROFILE_TESTING_ONLY


def test_profiles_cite_rfc9106() -> None:
    assert (PROFILE_RFC9106_LOW_MEMORY.time_cost, PROFILE_RFC9106_LOW_MEMORY.memory_cost,
            PROFILE_RFC9106_LOW_MEMORY.parallelism) == (3, 65536, 4)
    assert PROFILE_FINANCE.memory_cost >= PROFILE_RFC9106_LOW_MEMORY.memory_cost
    assert PROFILE_FINANCE.time_cost >= PROFILE_RFC9106_LOW_MEMORY.time_cost
    assert SecretHasher().profile is PROFILE_FINANCE
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROFILE_FINANCE.time_cost = 1  # type: ignore[misc]
    with pytest.raises(fp.InvalidInputError):
        HashProfile("bad", 0, 8, 1)
    with pytest.raises(fp.InvalidInputError):
        HashProfile("bad", 1, 8, 1, hash_len=8)


def test_public_names() -> None:
    assert fp.SecretHasher is SecretHasher
    assert fp.Hashed is not None


def test_hash_verify_roundtrip() -> None:
    h = SecretHasher(FAST, kind="pin")
    stored = h.hash(PIN)
    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert PIN not in stored
    assert h.hash(PIN) != stored  # fresh salt every time
    assert h.verify(stored, PIN) is None
    assert h.verify(stored, fp.Secret(PIN)) is None
    assert h.is_valid(stored, PIN)
    assert not h.is_valid(stored, "246811")


def test_mismatch_raises_verification_error_without_echo() -> None:
    h = SecretHasher(FAST, kind="pin")
    stored = h.hash(PIN)
    with pytest.raises(fp.VerificationError) as info:
        h.verify(stored, "135790")
    assert "135790" not in str(info.value)
    assert PIN not in str(info.value)
    argon2i = "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"
    for bad in ["", "$argon2id$garbage", "plain text", argon2i]:
        with pytest.raises(fp.VerificationError):
            h.verify(bad, PIN)


def test_kinds_normalise() -> None:
    answers = SecretHasher(FAST, kind="security_answer")
    stored = answers.hash("  Beijing   Normal\tUniversity ")
    answers.verify(stored, "beijing normal university")
    answers.verify(stored, "ＢＥＩＪＩＮＧ NORMAL UNIVERSITY")  # full-width, NFKC
    with pytest.raises(fp.VerificationError):
        answers.verify(stored, "beijing university")
    pins = SecretHasher(FAST, kind="pin")
    pins.verify(pins.hash("２４６８１０"), PIN)  # full-width digits are digits
    passwords = SecretHasher(FAST)
    stored = passwords.hash("Correct Horse")
    with pytest.raises(fp.VerificationError):
        passwords.verify(stored, "correct horse")  # passwords stay case-sensitive
    passwords.verify(passwords.hash(b"\x00\xffraw"), b"\x00\xffraw")


@pytest.mark.parametrize("bad", ["123", "12345678901234", "12a456", ""])
def test_bad_pins_refused_without_echo(bad: str) -> None:
    with pytest.raises(fp.InvalidInputError) as info:
        SecretHasher(FAST, kind="pin").hash(bad)
    if bad:
        assert bad not in str(info.value)


def test_bad_arguments() -> None:
    with pytest.raises(fp.InvalidInputError):
        SecretHasher(FAST, kind="card")  # type: ignore[arg-type]
    with pytest.raises(fp.InvalidInputError):
        SecretHasher("finance")  # type: ignore[arg-type]
    with pytest.raises(fp.InvalidInputError):
        SecretHasher(FAST).hash(123456)  # type: ignore[arg-type]
    with pytest.raises(fp.InvalidInputError):
        SecretHasher(FAST, kind="pin").hash(b"1234")
    with pytest.raises(fp.InvalidInputError):
        SecretHasher(FAST).hash("x" * 5000)


def test_needs_rehash_on_profile_change() -> None:
    old = SecretHasher(FAST)
    stored = old.hash("pw")
    assert not old.needs_rehash(stored)
    stronger = SecretHasher(HashProfile("stronger", 2, 16, 1))
    assert stronger.needs_rehash(stored)
    stronger.verify(stored, "pw")  # old hashes still verify
    with pytest.raises(fp.VerificationError):
        old.needs_rehash("not a hash")


def test_pepper_with_keyring_rotation() -> None:
    kr = fp.Keyring.generate()
    h = SecretHasher(FAST, kind="pin", pepper=kr)
    stored = h.hash(PIN)
    assert stored.startswith(f"$fpp1$k={kr.primary_id}$argon2id$")
    h.verify(stored, PIN)
    with pytest.raises(fp.VerificationError):
        h.verify(stored, "135790")
    # The Argon2 part alone does not verify the PIN: it hashes HMAC(pepper, PIN).
    unpeppered = SecretHasher(FAST, kind="pin")
    with pytest.raises(fp.VerificationError, match="peppered"):
        unpeppered.verify(stored, PIN)
    with pytest.raises(fp.VerificationError):
        unpeppered.verify(stored[stored.index("$argon2id"):], PIN)
    # Another keyring cannot verify.
    with pytest.raises(fp.VerificationError, match="not in the keyring"):
        SecretHasher(FAST, kind="pin", pepper=fp.Keyring.generate()).verify(stored, PIN)
    assert not h.needs_rehash(stored)
    kr.rotate()
    assert h.needs_rehash(stored)
    h.verify(stored, PIN)  # the old pepper key still verifies
    assert not h.needs_rehash(h.hash(PIN))
    assert unpeppered.needs_rehash(stored)
    assert h.needs_rehash(unpeppered.hash(PIN))


def test_no_plaintext_in_repr_logs_or_pickle(caplog: pytest.LogCaptureFixture) -> None:
    h = SecretHasher(FAST, kind="pin", pepper=fp.Keyring.generate())
    assert repr(h) == "SecretHasher('testing-only', kind='pin', peppered)"
    with pytest.raises(TypeError):
        pickle.dumps(h)
    with caplog.at_level(logging.DEBUG):
        stored = h.hash(PIN)
        h.verify(stored, PIN)
    assert PIN not in caplog.text


# -- pydantic marker -------------------------------------------------------------------

PinField = fp.Hashed(kind="pin", profile=FAST)


class Client(pydantic.BaseModel):
    name: str
    phone_pin: Annotated[str, PinField]


def test_pydantic_marker_hashes_on_validation() -> None:
    c = Client(name="Li Lei", phone_pin=PIN)
    assert c.phone_pin.startswith("$argon2id$")
    assert PIN not in repr(c)
    assert PIN not in c.model_dump_json()
    PinField.verify(c.phone_pin, PIN)
    with pytest.raises(fp.VerificationError):
        PinField.verify(c.phone_pin, "135790")
    assert not PinField.needs_rehash(c.phone_pin)
    # Loading the stored row keeps the hash (no double hashing).
    again = Client.model_validate_json(c.model_dump_json())
    assert again.phone_pin == c.phone_pin
    assert Client(name="x", phone_pin=fp.Secret(PIN)).phone_pin.startswith("$argon2id$")


def test_pydantic_errors_do_not_show_the_input() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        Client(name="Li Lei", phone_pin="12a4x9")
    assert "12a4x9" not in str(info.value)
    assert "12a4x9" not in repr(info.value.errors())
    assert "4 to 12 digits" in str(info.value)
    with pytest.raises(pydantic.ValidationError):
        Client(name="Li Lei", phone_pin=123456)  # type: ignore[arg-type]


def test_pydantic_json_schema_is_write_only() -> None:
    schema = Client.model_json_schema()["properties"]["phone_pin"]
    assert schema["writeOnly"] is True
    assert schema["format"] == "password"


def test_pydantic_marker_needs_str_fields() -> None:
    with pytest.raises(fp.InvalidInputError):
        class Bad(pydantic.BaseModel):
            pin: Annotated[int, fp.Hashed(profile=FAST)]


def test_pydantic_marker_with_custom_hasher() -> None:
    kr = fp.Keyring.generate()
    marker = fp.Hashed(hasher=SecretHasher(FAST, kind="security_answer", pepper=kr))

    class Answers(pydantic.BaseModel):
        mothers_maiden_name: Annotated[str, marker]

    a = Answers(mothers_maiden_name="Wang")
    assert a.mothers_maiden_name.startswith("$fpp1$k=")
    marker.verify(a.mothers_maiden_name, " wang ")
    assert Answers.model_validate(a.model_dump()).mothers_maiden_name == a.mothers_maiden_name
    with pytest.raises(fp.InvalidInputError):
        fp.Hashed(hasher="x")  # type: ignore[arg-type]


def test_pydantic_require_tokens_when_loading_rows() -> None:
    stored = Client(name="Li Lei", phone_pin=PIN).model_dump()
    loaded = Client.model_validate(stored, context={"require_tokens": True})
    assert loaded.phone_pin == stored["phone_pin"]
    with pytest.raises(pydantic.ValidationError, match="stored Argon2id hash") as info:
        Client.model_validate({"name": "x", "phone_pin": PIN}, context={"require_tokens": True})
    assert PIN not in str(info.value)
