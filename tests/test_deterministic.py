from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.crypto import DeterministicCipher
from finprivacy.crypto._deterministic import siv_open, siv_seal

WYCHEPROOF = Path(__file__).parent / "vectors" / "wycheproof" / "aes_siv_cmac_test.json"
CARD = "6222020200112233446"
CTX = "customers.card_no"


def _cases() -> list[tuple[int, dict[str, str]]]:
    data = json.loads(WYCHEPROOF.read_text())
    assert data["algorithm"] == "AES-SIV-CMAC"
    return [(g["keySize"], t) for g in data["testGroups"] for t in g["tests"]]


CASES = _cases()


def test_wycheproof_file_is_complete() -> None:
    assert len(CASES) == 442
    assert {size for size, _ in CASES} == {256, 384, 512}


@pytest.mark.parametrize(("key_size", "case"), CASES, ids=[f"tc{c['tcId']}" for _, c in CASES])
def test_wycheproof_aes_siv(key_size: int, case: dict[str, str]) -> None:
    key = bytes.fromhex(case["key"])
    assert len(key) * 8 == key_size
    aad = [bytes.fromhex(case["aad"])]
    msg, ct = bytes.fromhex(case["msg"]), bytes.fromhex(case["ct"])
    if case["result"] == "valid":
        assert siv_seal(key, msg, aad) == ct
        assert siv_open(key, ct, aad) == msg
    else:
        with pytest.raises(fp.DecryptionError):
            siv_open(key, ct, aad)


@pytest.fixture
def kr() -> fp.Keyring:
    return fp.Keyring.generate()


def test_deterministic_roundtrip(kr: fp.Keyring) -> None:
    det = DeterministicCipher(kr)
    t1 = det.encrypt(CARD, context=CTX)
    t2 = det.encrypt(CARD, context=CTX)
    assert t1 == t2
    assert t1.startswith(f"fpd1.{kr.primary_id}.")
    assert CARD not in t1
    assert det.decrypt(t1, context=CTX) == CARD
    assert det.decrypt(t1, context=CTX, as_type=str) == CARD
    b = det.encrypt(b"\x00raw", context=CTX)
    assert det.decrypt(b, context=CTX) == b"\x00raw"
    with pytest.raises(fp.DecryptionError):
        det.decrypt(b, context=CTX, as_type=str)


@given(value=st.one_of(st.text(max_size=50), st.binary(max_size=50)))
def test_roundtrip_fuzz(value: str | bytes) -> None:
    det = DeterministicCipher(_KR)
    tok = det.encrypt(value, context=CTX)
    out = det.decrypt(tok, context=CTX)
    assert out == value
    assert type(out) is type(value)


_KR = fp.Keyring.generate()


def test_context_separates_columns(kr: fp.Keyring) -> None:
    det = DeterministicCipher(kr)
    a = det.encrypt(CARD, context="customers.card_no")
    b = det.encrypt(CARD, context="suppliers.card_no")
    assert a != b
    with pytest.raises(fp.DecryptionError):
        det.decrypt(a, context="suppliers.card_no")


def test_str_and_bytes_differ(kr: fp.Keyring) -> None:
    det = DeterministicCipher(kr)
    assert det.encrypt("x", context=CTX) != det.encrypt(b"x", context=CTX)


def test_distinct_from_randomized_tokens(kr: fp.Keyring) -> None:
    det = DeterministicCipher(kr)
    randomized = kr.encrypt(CARD, context=CTX)
    with pytest.raises(fp.DecryptionError):
        det.decrypt(randomized, context=CTX)
    with pytest.raises(fp.DecryptionError):
        kr.decrypt(det.encrypt(CARD, context=CTX), context=CTX)


def test_tampering_is_one_opaque_error(kr: fp.Keyring) -> None:
    det = DeterministicCipher(kr)
    tok = det.encrypt(CARD, context=CTX)
    prefix, kid, body = tok.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    bad = [f"{prefix}.{kid}.{flipped}", f"{prefix}.{kid}.{body[:-4]}",
           f"{prefix}.unknownkey.{body}", f"fp1.{kid}.{body}", "", "nonsense", tok + "A"]
    for b in bad:
        with pytest.raises(fp.DecryptionError) as info:
            det.decrypt(b, context=CTX)
        assert CARD not in str(info.value)
    with pytest.raises(fp.DecryptionError):
        det.decrypt(None, context=CTX)  # type: ignore[arg-type]


def test_rotation_lookup_and_reencrypt(kr: fp.Keyring) -> None:
    det = DeterministicCipher(kr)
    old = det.encrypt(CARD, context=CTX)
    old_id = kr.primary_id
    new_id = kr.rotate()
    new = det.encrypt(CARD, context=CTX)
    assert new != old
    assert new.split(".")[1] == new_id
    lookups = det.lookup_tokens(CARD, context=CTX)
    assert lookups == [new, old]  # primary first, then decrypt-only keys
    assert det.needs_reencrypt(old)
    assert not det.needs_reencrypt(new)
    assert det.reencrypt(old, context=CTX) == new
    assert det.decrypt(old, context=CTX) == CARD
    kr.retire(old_id)
    assert det.lookup_tokens(CARD, context=CTX) == [new]
    with pytest.raises(fp.DecryptionError):
        det.decrypt(old, context=CTX)


def test_bad_inputs(kr: fp.Keyring) -> None:
    det = DeterministicCipher(kr)
    with pytest.raises(fp.InvalidInputError, match="context"):
        det.encrypt(CARD, context="")
    det.encrypt(CARD, context=CTX)  # warm the cache: bad contexts must still be refused
    for bad in (["x"], b"x", None):
        with pytest.raises(fp.InvalidInputError, match="context"):
            det.encrypt(CARD, context=bad)  # type: ignore[arg-type]
    with pytest.raises(fp.InvalidInputError):
        det.encrypt(12345, context=CTX)  # type: ignore[arg-type]
    with pytest.raises(fp.InvalidInputError):
        DeterministicCipher(object())  # type: ignore[arg-type]


def test_no_secrets_in_repr_or_pickle(kr: fp.Keyring) -> None:
    det = DeterministicCipher(kr)
    det.encrypt(CARD, context=CTX)
    assert repr(det) == "DeterministicCipher(AES-256-SIV)"
    with pytest.raises(TypeError):
        pickle.dumps(det)


def test_secret_values_are_accepted(kr: fp.Keyring) -> None:
    det = DeterministicCipher(kr)
    assert det.encrypt(fp.Secret(CARD), context=CTX) == det.encrypt(CARD, context=CTX)
    assert det.lookup_tokens(fp.Secret(CARD), context=CTX) == det.lookup_tokens(CARD,
                                                                                context=CTX)
