from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.crypto._ff1 import DEFAULT_ALPHABET, FF1, MIN_DOMAIN

VECTORS = json.loads((Path(__file__).parent / "vectors" / "nist_ff1.json").read_text())
KEY = bytes(range(32))


def test_vector_file_names_its_source() -> None:
    assert "csrc.nist.gov" in VECTORS["source"]
    assert len(VECTORS["samples"]) == 9
    assert {s["aes"] for s in VECTORS["samples"]} == {128, 192, 256}
    assert {s["radix"] for s in VECTORS["samples"]} == {10, 36}


@pytest.mark.parametrize("sample", VECTORS["samples"], ids=lambda s: f"sample{s['sample']}")
def test_nist_samples(sample: dict[str, object]) -> None:
    key = bytes.fromhex(str(sample["key"]))
    tweak = bytes.fromhex(str(sample["tweak"]))
    ff1 = FF1(key, radix=int(str(sample["radix"])))
    assert ff1.encrypt(str(sample["plaintext"]), tweak) == sample["ciphertext"]
    assert ff1.decrypt(str(sample["ciphertext"]), tweak) == sample["plaintext"]


def test_nist_sample_via_numerals() -> None:
    ff1 = FF1(bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C"), radix=10)
    assert ff1.encrypt_numerals(list(range(10))) == [2, 4, 3, 3, 4, 7, 7, 4, 8, 4]
    assert ff1.decrypt_numerals([2, 4, 3, 3, 4, 7, 7, 4, 8, 4]) == list(range(10))


def test_public_name() -> None:
    assert fp.FF1 is FF1
    assert fp.crypto.FF1 is FF1


@given(radix=st.integers(2, 62), data=st.data(), tweak=st.binary(max_size=40))
def test_roundtrip_any_radix(radix: int, data: st.DataObject, tweak: bytes) -> None:
    ff1 = FF1(KEY, radix=radix)
    text = data.draw(st.text(alphabet=DEFAULT_ALPHABET[:radix], min_size=ff1.min_length,
                             max_size=ff1.min_length + 40))
    out = ff1.encrypt(text, tweak)
    assert len(out) == len(text)
    assert set(out) <= set(DEFAULT_ALPHABET[:radix])
    assert ff1.decrypt(out, tweak) == text


@given(digits=st.text(alphabet="0123456789", min_size=6, max_size=40))
def test_tweak_and_key_change_output(digits: str) -> None:
    a = FF1(KEY).encrypt(digits, b"customers.card_no")
    assert FF1(KEY).decrypt(a, b"customers.card_no") == digits
    # Different tweak or key almost always gives a different ciphertext; it must never
    # decrypt back to the plaintext under the wrong tweak unless the outputs coincide.
    b = FF1(KEY).encrypt(digits, b"suppliers.card_no")
    c = FF1(bytes(32)).encrypt(digits, b"customers.card_no")
    if len(digits) >= 12:
        assert a != b
        assert a != c


def test_min_domain_enforced() -> None:
    assert MIN_DOMAIN == 1_000_000
    assert FF1(KEY, radix=10).min_length == 6
    assert FF1(KEY, radix=36).min_length == 4  # 36**4 = 1,679,616
    assert FF1(KEY, radix=2).min_length == 20  # 2**20 = 1,048,576
    assert FF1(KEY, radix=62).min_length == 4
    with pytest.raises(fp.InvalidInputError, match="too short"):
        FF1(KEY).encrypt("12345")
    with pytest.raises(fp.InvalidInputError, match="too short"):
        FF1(KEY, radix=36).decrypt("abc")
    assert len(FF1(KEY).encrypt("123456")) == 6


def test_bad_symbols_refused_without_echo() -> None:
    with pytest.raises(fp.InvalidInputError, match="radix-10 alphabet") as info:
        FF1(KEY).encrypt("62220202001122X3")
    assert "62220202001122X3" not in str(info.value)
    with pytest.raises(fp.InvalidInputError):
        FF1(KEY, radix=36).encrypt("ABCDEFG")  # upper case is outside radix 36
    with pytest.raises(fp.InvalidInputError):
        FF1(KEY).encrypt("１２３４５６７")  # full-width digits are not ASCII digits
    with pytest.raises(fp.InvalidInputError):
        FF1(KEY).encrypt(1234567)  # type: ignore[arg-type]
    with pytest.raises(fp.InvalidInputError, match="tweak"):
        FF1(KEY).encrypt("1234567", "t")  # type: ignore[arg-type]
    with pytest.raises(fp.InvalidInputError):
        FF1(KEY).encrypt_numerals([1, 2, 3, 4, 5, 10])


@pytest.mark.parametrize("key", [b"", bytes(15), bytes(33), "k" * 32])
def test_bad_keys(key: object) -> None:
    with pytest.raises(fp.InvalidInputError, match="16, 24 or 32"):
        FF1(key)  # type: ignore[arg-type]


@pytest.mark.parametrize("radix", [0, 1, 63, True, 10.0])
def test_bad_radix(radix: object) -> None:
    with pytest.raises(fp.InvalidInputError):
        FF1(KEY, radix=radix)  # type: ignore[arg-type]


def test_custom_alphabet() -> None:
    ff1 = FF1(KEY, radix=16, alphabet="0123456789ABCDEF")
    out = ff1.encrypt("DEADBEEF")
    assert set(out) <= set("0123456789ABCDEF")
    assert ff1.decrypt(out) == "DEADBEEF"
    # Same numerals as the default lower-case alphabet.
    lower = FF1(KEY, radix=16).encrypt("deadbeef")
    assert lower == out.lower()
    with pytest.raises(fp.InvalidInputError, match="distinct"):
        FF1(KEY, radix=3, alphabet="aab")
    with pytest.raises(fp.InvalidInputError):
        FF1(KEY, radix=4, alphabet="abc")


def test_key_not_in_repr_and_no_pickle() -> None:
    ff1 = FF1(KEY)
    assert KEY.hex() not in repr(ff1)
    assert repr(ff1) == "FF1(radix=10)"
    with pytest.raises(TypeError):
        pickle.dumps(ff1)


def test_long_inputs_and_long_tweaks() -> None:
    ff1 = FF1(KEY, radix=10)
    text = "9" * 300
    tweak = bytes(range(256)) * 3
    out = ff1.encrypt(text, tweak)
    assert ff1.decrypt(out, tweak) == text
    with pytest.raises(fp.InvalidInputError, match="too long"):
        ff1.encrypt("1" * 5000)


def test_threads_share_one_object() -> None:
    import concurrent.futures

    ff1 = FF1(KEY)
    values = [f"{i:016d}" for i in range(200)]
    expected = [ff1.encrypt(v) for v in values]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        got = list(pool.map(ff1.encrypt, values))
    assert got == expected
