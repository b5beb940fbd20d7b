from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.crypto._fpe_card import CardTokenizer, luhn_valid

KEY = bytes(range(32))
UNIONPAY = "6222020200112233446"  # 19 digits, Luhn-valid test number
VISA = "4111111111111111"


def _with_check_digit(body: str) -> str:
    for d in "0123456789":
        if luhn_valid(body + d):
            return body + d
    raise AssertionError


def test_luhn() -> None:
    assert luhn_valid(VISA)
    assert luhn_valid(UNIONPAY)
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("")
    assert not luhn_valid("４１１１")


def test_public_names() -> None:
    assert fp.CardTokenizer is CardTokenizer


@pytest.mark.parametrize("card", [VISA, UNIONPAY, "6011 0009 9013 9424"])
def test_roundtrip_keeps_bin_and_last4(card: str) -> None:
    tok = CardTokenizer(KEY)
    digits = card.replace(" ", "")
    t = tok.tokenize(card, context="legacy.export")
    assert len(t) == len(digits)
    assert t.isdigit()
    assert t[:6] == digits[:6]
    assert t[-4:] == digits[-4:]
    assert t != digits
    assert luhn_valid(t)
    assert tok.detokenize(t, context="legacy.export") == digits


@given(body=st.text(alphabet="0123456789", min_size=15, max_size=18),
       bin_length=st.sampled_from([6, 8]), context=st.text(max_size=20))
def test_roundtrip_fuzz_luhn(body: str, bin_length: int, context: str) -> None:
    card = _with_check_digit(body)
    if len(card) - bin_length - 4 < 6:
        return
    tok = CardTokenizer(KEY, bin_length=bin_length)  # type: ignore[arg-type]
    t = tok.tokenize(card, context=context)
    assert luhn_valid(t)
    assert t[:bin_length] == card[:bin_length]
    assert t[-4:] == card[-4:]
    assert tok.detokenize(t, context=context) == card


@given(card=st.text(alphabet="0123456789", min_size=16, max_size=19))
def test_roundtrip_fuzz_without_luhn(card: str) -> None:
    tok = CardTokenizer(KEY, luhn=False)
    t = tok.tokenize(card)
    assert tok.detokenize(t) == card


def test_context_and_key_matter() -> None:
    t1 = CardTokenizer(KEY).tokenize(UNIONPAY, context="a")
    t2 = CardTokenizer(KEY).tokenize(UNIONPAY, context="b")
    t3 = CardTokenizer(bytes(32)).tokenize(UNIONPAY, context="a")
    assert len({t1, t2, t3}) == 3
    assert CardTokenizer(KEY).detokenize(t1, context="b") != UNIONPAY


def test_deterministic() -> None:
    tok = CardTokenizer(KEY)
    assert tok.tokenize(UNIONPAY) == tok.tokenize(UNIONPAY)


def test_short_middle_refused() -> None:
    amex = "378282246310005"  # 15 digits: BIN 6 + last 4 leaves 5
    with pytest.raises(fp.InvalidInputError, match="leaves 5 digits"):
        CardTokenizer(KEY).tokenize(amex)


def test_bin8_needs_long_cards() -> None:
    tok = CardTokenizer(KEY, bin_length=8)
    t = tok.tokenize(UNIONPAY)
    assert t[:8] == UNIONPAY[:8]
    with pytest.raises(fp.InvalidInputError, match="leaves 4 digits") as info:
        tok.tokenize(VISA)
    assert VISA not in str(info.value)


def test_bad_inputs_never_echoed() -> None:
    tok = CardTokenizer(KEY)
    cases = ["4111111111111112", "4111-1111-abcd-1111", "411111", "4" * 25,
             "４１１１１１１１１１１１１１１１"]
    for bad in cases:
        with pytest.raises(fp.InvalidIdentifierError) as info:
            tok.tokenize(bad)
        assert bad not in str(info.value)
    with pytest.raises(fp.InvalidIdentifierError, match="Luhn"):
        tok.detokenize("4111111111111112")
    with pytest.raises(fp.InvalidInputError):
        CardTokenizer(KEY, bin_length=7)  # type: ignore[arg-type]
    with pytest.raises(fp.InvalidInputError):
        tok.tokenize(4111111111111111)  # type: ignore[arg-type]


def test_no_key_in_repr_no_pickle() -> None:
    tok = CardTokenizer(KEY)
    assert repr(tok) == "CardTokenizer(bin_length=6, luhn=True)"
    with pytest.raises(TypeError):
        pickle.dumps(tok)


def test_from_keyring_names_its_key() -> None:
    kr = fp.Keyring.generate()
    tok = CardTokenizer.from_keyring(kr, "legacy-export")
    assert tok.key_id == kr.primary_id
    assert repr(tok) == f"CardTokenizer(bin_length=6, luhn=True, key_id={kr.primary_id!r})"
    t = tok.tokenize(UNIONPAY, context="x")
    assert CardTokenizer.from_keyring(kr, "other").tokenize(UNIONPAY, context="x") != t
    old = kr.primary_id
    kr.rotate()
    again = CardTokenizer.from_keyring(kr, "legacy-export", key_id=old)
    assert again.detokenize(t, context="x") == UNIONPAY
    assert CardTokenizer.from_keyring(kr, "legacy-export").tokenize(UNIONPAY, context="x") != t
    with pytest.raises(fp.InvalidInputError):
        CardTokenizer.from_keyring(kr, "")


def test_fixed_tokens() -> None:
    # Pinned: a token handed to a legacy system today must map back with later releases.
    tok = CardTokenizer(bytes(range(32)))
    assert tok.tokenize(UNIONPAY, context="legacy.export") == "6222021369997093446"
    assert tok.tokenize(VISA) == "4111110116001111"
    raw = CardTokenizer(bytes(range(32)), bin_length=8, luhn=False)
    assert raw.tokenize(UNIONPAY, context="x") == "6222020234183443446"
    assert raw.detokenize("6222020234183443446", context="x") == UNIONPAY


@given(body=st.text(alphabet="0123456789", min_size=15, max_size=18))
def test_detokenize_is_a_permutation(body: str) -> None:
    # Any Luhn-valid number is the token of exactly one card with the same BIN and last 4.
    token = _with_check_digit(body)
    tok = CardTokenizer(KEY)
    card = tok.detokenize(token, context="c")
    assert luhn_valid(card)
    assert card[:6] == token[:6]
    assert card[-4:] == token[-4:]
    assert tok.tokenize(card, context="c") == token


def test_many_pins_the_same_fixed_tokens() -> None:
    tok = CardTokenizer(bytes(range(32)))
    assert tok.tokenize_many([UNIONPAY], context="legacy.export") == ["6222021369997093446"]
    assert tok.tokenize_many([None, VISA, "4111-1111-1111-1111"]) == [
        None, "4111110116001111", "4111110116001111"]
    raw = CardTokenizer(bytes(range(32)), bin_length=8, luhn=False)
    assert raw.tokenize_many([UNIONPAY], context="x") == ["6222020234183443446"]
    assert raw.detokenize_many(["6222020234183443446"], context="x") == [UNIONPAY]


def _one(tok: CardTokenizer, value: str | None, context: str, *, encrypt: bool) -> str | None:
    if value is None:
        return None
    try:
        if encrypt:
            return tok.tokenize(value, context=context)
        return tok.detokenize(value, context=context)
    except (fp.InvalidIdentifierError, fp.InvalidInputError):
        return None


@given(values=st.lists(st.one_of(
           st.none(),
           st.text(alphabet="0123456789", min_size=15, max_size=18).map(_with_check_digit),
           st.text(alphabet="0123456789", min_size=12, max_size=20),
           st.text(alphabet="0123456789 -x９", max_size=22)), max_size=40),
       bin_length=st.sampled_from([6, 8]), luhn=st.booleans(),
       context=st.text(max_size=20))
def test_many_is_the_loop_over_one(values: list[str | None], bin_length: int, luhn: bool,
                                   context: str) -> None:
    # The batch path (NumPy rounds, vectorised cycle walk) must give exactly the
    # per-number results, None where the single call refuses; and invert itself.
    tok = CardTokenizer(KEY, bin_length=bin_length, luhn=luhn)  # type: ignore[arg-type]
    many = tok.tokenize_many(values, context=context)
    assert many == [_one(tok, v, context, encrypt=True) for v in values]
    back = tok.detokenize_many(many, context=context)
    assert back == [_one(tok, t, context, encrypt=False) for t in many]
    for value, token, card in zip(values, many, back, strict=True):
        if token is not None:
            assert value is not None
            assert card == value.replace(" ", "").replace("-", "")


def test_many_on_a_large_batch_matches_and_refuses_bad_context() -> None:
    tok = CardTokenizer(KEY)
    cards = [_with_check_digit(f"622202{i:09d}") for i in range(3000)]
    many = tok.tokenize_many(cards, context="big")
    assert many == [tok.tokenize(c, context="big") for c in cards]
    assert len(set(many)) == len(cards)  # a permutation: no two cards share a token
    with pytest.raises(fp.InvalidInputError):
        tok.tokenize_many(cards, context=1)  # type: ignore[arg-type]
