from __future__ import annotations

import math
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.crypto import (
    NORMALIZERS,
    BlindIndex,
    BlindIndexSet,
    CompoundBlindIndex,
    plan_blind_index,
)

CARD = "6222020200112233446"


@pytest.fixture
def kr() -> fp.Keyring:
    return fp.Keyring.generate()


def test_public_names() -> None:
    assert fp.BlindIndex is BlindIndex


def test_compute_is_stable_and_keyed(kr: fp.Keyring) -> None:
    idx = BlindIndex(kr, "customers.card_no", bits=32, normalize=["nfkc", "digits"])
    v = idx.compute(CARD)
    assert v == idx.compute(CARD)
    kid, hexpart = v.split(":")
    assert kid == kr.primary_id
    assert len(hexpart) == 8
    assert CARD not in v
    # Another keyring, another index name or another algorithm give other values.
    assert BlindIndex(fp.Keyring.generate(), "customers.card_no").compute(CARD) != v
    assert BlindIndex(kr, "suppliers.card_no", normalize="digits").compute(CARD) != v
    assert BlindIndex(kr, "customers.card_no", normalize="digits",
                      algorithm="hmac-sha256").compute(CARD) != v


def test_normalisers_make_spellings_match(kr: fp.Keyring) -> None:
    idx = BlindIndex(kr, "customers.card_no", normalize=["nfkc", "digits"])
    spellings = [CARD, "6222 0202 0011 2233 446", "6222-0202-0011-2233-446",
                 "６２２２０２０２００１１２２３３４４６"]
    assert len({idx.compute(s) for s in spellings}) == 1
    assert idx.compute("6222020200112233447") != idx.compute(CARD)


def test_each_normaliser() -> None:
    assert NORMALIZERS["nfkc"]("１２３ＡＢ") == "123AB"
    assert NORMALIZERS["digits"]("tel: +86 １３８-0013 8000") == "8613800138000"
    assert NORMALIZERS["digits"]("٣٤٥") == "345"  # Arabic-Indic digits
    assert NORMALIZERS["last4"]("6222 0202 0011 2233 446") == "3446"
    assert NORMALIZERS["email"]("  Li.Lei@Example.COM ") == "li.lei@example.com"
    assert NORMALIZERS["strip_spaces"](" 张 三\t ") == "张三"
    assert NORMALIZERS["collapse_spaces"](" a   b ") == "a b"
    with pytest.raises(fp.InvalidInputError, match="e-mail") as info:
        NORMALIZERS["email"]("not-an-address")
    assert "not-an-address" not in str(info.value)


def test_last4_and_email_indexes(kr: fp.Keyring) -> None:
    last4 = BlindIndex(kr, "customers.card_last4", bits=16, normalize="last4")
    assert last4.compute(CARD) == last4.compute("4111 1111 1111 3446")
    assert len(last4.compute(CARD).split(":")[1]) == 4
    email = BlindIndex(kr, "customers.email", normalize="email")
    assert email.compute("Li.Lei@Example.com") == email.compute("li.lei@example.COM ")


@given(bits=st.integers(8, 256), value=st.text(max_size=30))
def test_truncation_width(bits: int, value: str) -> None:
    idx = BlindIndex(_KR, "t.fuzz", bits=bits, algorithm="hmac-sha256")
    hexpart = idx.compute(value).split(":")[1]
    assert len(hexpart) == math.ceil(bits / 4)
    assert int(hexpart, 16) < 2**bits
    assert idx.key_id_of(idx.compute(value)) == _KR.primary_id


_KR = fp.Keyring.generate()


def test_truncation_really_drops_bits(kr: fp.Keyring) -> None:
    # With 8 bits, 2,000 distinct values must collide into at most 256 index values.
    idx = BlindIndex(kr, "t.small", bits=8)
    values = {idx.compute(f"{i:08d}") for i in range(2000)}
    assert len(values) <= 256
    wide = BlindIndex(kr, "t.small", bits=64)
    assert len({wide.compute(f"{i:08d}") for i in range(2000)}) == 2000


def test_bytes_values(kr: fp.Keyring) -> None:
    idx = BlindIndex(kr, "t.bytes")
    assert idx.compute(b"\x00" * 16) != idx.compute(b"\x01" * 16)
    with pytest.raises(fp.InvalidInputError):
        BlindIndex(kr, "t.norm", normalize="digits").compute(b"123")


def test_compound_index(kr: fp.Keyring) -> None:
    idx = CompoundBlindIndex(kr, "customers.last4_birth_year", bits=24, fields={
        "card_no": "last4", "birth_date": lambda s: s[:4]})
    assert idx.fields == ("card_no", "birth_date")
    a = idx.compute({"card_no": CARD, "birth_date": "1990-05-17"})
    assert a == idx.compute({"card_no": "9999 3446", "birth_date": "1990-01-01"})
    assert a != idx.compute({"card_no": CARD, "birth_date": "1991-05-17"})
    # Length-prefixed encoding: shifting characters between fields changes the index.
    plain = CompoundBlindIndex(kr, "t.pair", fields={"a": "strip", "b": "strip"}, bits=64)
    assert plain.compute({"a": "12", "b": "3"}) != plain.compute({"a": "1", "b": "23"})
    with pytest.raises(fp.InvalidInputError, match="'birth_date'"):
        idx.compute({"card_no": CARD})
    with pytest.raises(fp.ConfigurationError):
        CompoundBlindIndex(kr, "t.one", fields={"a": "strip"})


def test_rotation_keeps_rows_findable(kr: fp.Keyring) -> None:
    idx = BlindIndex(kr, "customers.card_no", normalize="digits")
    stored_old = idx.compute(CARD)
    old_id = kr.primary_id
    kr.rotate()
    stored_new = idx.compute(CARD)
    assert stored_new != stored_old
    lookups = idx.lookup_values(CARD)
    assert lookups == [stored_new, stored_old]
    assert idx.needs_reindex(stored_old)
    assert not idx.needs_reindex(stored_new)
    assert idx.compute(CARD, key_id=old_id) == stored_old
    kr.retire(old_id)
    assert idx.lookup_values(CARD) == [stored_new]
    with pytest.raises(fp.KeyStateError, match=r"customers\.card_no"):
        idx.compute(CARD, key_id=old_id)


def test_unknown_version_and_name(kr: fp.Keyring) -> None:
    idx = BlindIndex(kr, "customers.card_no")
    with pytest.raises(fp.KeyringError, match="nokey"):
        idx.compute(CARD, key_id="nokey")
    with pytest.raises(fp.InvalidInputError, match=r"customers\.card_no"):
        idx.key_id_of("garbage")
    indexes = BlindIndexSet([idx])
    assert "customers.card_no" in indexes
    assert indexes.names() == ["customers.card_no"]
    assert indexes.lookup_values("customers.card_no", CARD) == idx.lookup_values(CARD)
    assert indexes.compute("customers.card_no", CARD) == idx.compute(CARD)
    with pytest.raises(fp.NotFoundError, match=r"customers\.phone"):
        indexes["customers.phone"]
    with pytest.raises(fp.ConfigurationError, match="already"):
        indexes.add(BlindIndex(kr, "customers.card_no"))


@pytest.mark.parametrize("bad", [{"bits": 4}, {"bits": 300}, {"bits": True},
                                 {"normalize": "no-such"}, {"algorithm": "md5"}])
def test_bad_configuration(kr: fp.Keyring, bad: dict[str, object]) -> None:
    with pytest.raises(fp.ConfigurationError):
        BlindIndex(kr, "t.x", **bad)  # type: ignore[arg-type]


def test_bad_names(kr: fp.Keyring) -> None:
    for name in ["", "has space", "x" * 200]:
        with pytest.raises(fp.ConfigurationError):
            BlindIndex(kr, name)


def test_no_key_or_value_leaks(kr: fp.Keyring) -> None:
    idx = BlindIndex(kr, "customers.card_no", normalize="digits")
    idx.compute(CARD)
    assert repr(idx) == "BlindIndex('customers.card_no', bits=32, algorithm='blake2b')"
    with pytest.raises(TypeError):
        pickle.dumps(idx)
    with pytest.raises(fp.InvalidInputError) as info:
        idx.compute(12345)  # type: ignore[arg-type]
    assert "12345" not in str(info.value)


# -- planner ------------------------------------------------------------------------


def test_planner_rule() -> None:
    plan = plan_blind_index(1_000_000, input_entropy_bits=40)
    # log2(1e6) ~ 19.93: total bits must be within [10, 18].
    assert (plan.min_bits, plan.max_bits) == (10, 18)
    assert plan.bits == 18
    assert plan.safe
    c = 1_000_000 / 2**plan.bits
    assert 2 <= c <= math.sqrt(1_000_000)
    assert plan.coincidences == pytest.approx(c)
    assert plan.expected_false_positives == pytest.approx(999_999 / 2**18)


@given(rows=st.integers(1_000, 10**12), entropy=st.floats(1, 128))
def test_planner_recommendations_satisfy_rule(rows: int, entropy: float) -> None:
    plan = plan_blind_index(rows, input_entropy_bits=entropy)
    if plan.safe:
        eff = min(plan.bits, entropy)
        assert 2 <= rows / 2**plan.bits <= math.sqrt(rows)
        assert plan.bits <= entropy
        assert plan.coincidences == pytest.approx(rows / 2**eff)
    else:
        assert plan.notes


def test_planner_low_entropy_and_other_indexes() -> None:
    low = plan_blind_index(1_000_000, input_entropy_bits=7)  # a birth year
    assert not low.safe
    assert any("entropy" in n for n in low.notes)
    shared = plan_blind_index(1_000_000, input_entropy_bits=40, other_index_bits=8)
    assert shared.bits == 10  # 18 total minus the 8 bits already used by other indexes
    tiny = plan_blind_index(100, input_entropy_bits=40)
    assert not tiny.safe
    assert any("too few rows" in n for n in tiny.notes)


@pytest.mark.parametrize("kwargs", [{"rows": 0, "input_entropy_bits": 10},
                                    {"rows": 10, "input_entropy_bits": 0},
                                    {"rows": 10, "input_entropy_bits": 5, "other_index_bits": -1}])
def test_planner_bad_inputs(kwargs: dict[str, float]) -> None:
    with pytest.raises(fp.InvalidInputError):
        plan_blind_index(**kwargs)  # type: ignore[arg-type]


def test_secret_values_are_accepted(kr: fp.Keyring) -> None:
    idx = BlindIndex(kr, "customers.card_no", normalize="digits")
    assert idx.compute(fp.Secret(CARD)) == idx.compute(CARD)
    assert idx.lookup_values(fp.Secret(CARD)) == idx.lookup_values(CARD)


def test_fixed_index_values() -> None:
    # Index values live in database columns: pinned so a release never changes them.
    import datetime as dt

    kr = fp.Keyring._from_material("k2026a", bytes(range(32)),
                                   created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    idx = BlindIndex(kr, "clients.card_no", bits=32, normalize=["nfkc", "digits"])
    assert idx.compute("6222 0202 0011 2233 446") == "k2026a:15f82e62"
    hm = BlindIndex(kr, "clients.card_no", bits=13, algorithm="hmac-sha256")
    assert hm.compute(CARD) == "k2026a:11e6"
    both = CompoundBlindIndex(kr, "clients.l4y", bits=16, fields={"card": "last4",
                                                                 "year": "strip"})
    assert both.compute({"card": CARD, "year": "1990"}) == "k2026a:adb4"
