"""fp.mask presets: PCI DSS, Chinese display conventions, pseudonyms, FF1, bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.identifiers._checksums import luhn_valid
from finprivacy.masking import DEFAULT_PRESETS, MASK_KINDS, PRESETS, mask, unmask_ff1

KEY = b"k" * 32


@pytest.mark.parametrize(("value", "kind", "preset", "expected"), [
    ("6222020200112233446", "bank_card", None, "622202*********3446"),
    ("6222 0202 0011 2233 446", "bank_card", None, "6222 02** **** ***3 446"),
    ("6222020200112233446", "bank_card", "pci_bin8_last4", "62220202*******3446"),
    ("378282246310005", "bank_card", "pci_bin8_last4", "378282*****0005"),
    ("4111-1111-1111-1111", "bank_card", "last4", "****-****-****-1111"),
    ("11010519491231002X", "cn_id", "first6_last4", "110105********002X"),
    ("11010519491231002X", "cn_id", "first3_last4", "110***********002X"),
    ("13812345678", "cn_phone", None, "138****5678"),
    ("+86 138-1234-5678", "cn_phone", None, "+86 138-****-5678"),
    ("+44 20 7946 0958", "phone", None, "+44 ** **** 0958"),
    ("zhang.wei@example.com", "email", None, "z***@example.com"),
    ("zhang.wei@example.com", "email", "domain", "***@example.com"),
    ("GB82 WEST 1234 5698 7654 32", "iban", None, "GB82 **** **** **** **54 32"),
    ("536-90-4399", "us_ssn", None, "***-**-4399"),
    ("E12345678", "cn_passport", None, "E*****678"),
    ("755912345610801", "cn_bank_account", None, "***********0801"),
    ("张三", "name", None, "张*"),
    ("张三丰", "name", None, "张**"),
    ("欧阳娜娜", "name", None, "欧阳**"),
    ("司马光", "name", None, "司马*"),
    ("诸葛亮", "name", None, "诸葛*"),
    ("上官婉儿", "name", None, "上官**"),
    ("John Smith", "name", None, "J*** S****"),
    ("北京市朝阳区建国路88号SOHO现代城A座1001", "address", None, "北京市朝阳区****"),
    ("广东省深圳市南山区科技园南区1号", "address", None, "广东省深圳市南山区****"),
    ("221B Baker Street, London, UK", "address", None, "****, London, UK"),
    ("6222020200112233446", "bank_card", "full", "[BANK_CARD]"),
    ("138-1234-5678", "cn_phone", "stars", "***-****-****"),
])
def test_presets(value: str, kind: str, preset: str | None, expected: str) -> None:
    assert mask(value, kind=kind, preset=preset) == expected


def test_every_kind_has_a_default_and_every_preset_cites_a_source() -> None:
    assert set(DEFAULT_PRESETS) == set(MASK_KINDS) == set(PRESETS)
    for kind, presets in PRESETS.items():
        assert DEFAULT_PRESETS[kind] in presets
        for name, preset in presets.items():
            assert preset.kind == kind and preset.name == name
            assert len(preset.source) > 15


def test_pci_sources_cite_requirement() -> None:
    for name in ("pci_bin6_last4", "pci_bin8_last4", "last4"):
        assert "3.4.1" in PRESETS["bank_card"][name].source


def test_unknown_kind_and_preset_are_typed_errors() -> None:
    with pytest.raises(fp.ConfigurationError, match="unknown kind"):
        mask("x", kind="credit_card")
    with pytest.raises(fp.ConfigurationError, match="unknown preset"):
        mask("6222020200112233446", kind="bank_card", preset="first12")
    with pytest.raises(fp.InvalidInputError):
        mask(6222020200112233446, kind="bank_card")  # type: ignore[arg-type]


def test_secret_input_is_accepted() -> None:
    assert mask(fp.Secret("13812345678"), kind="cn_phone") == "138****5678"


def test_pseudonym_is_keyed_stable_and_separator_blind() -> None:
    a = mask("6222020200112233446", "bank_card", "pseudonym", pseudonym_key=KEY)
    b = mask("6222 0202 0011 2233 446", "bank_card", "pseudonym", pseudonym_key=KEY)
    c = mask("6222020200112233446", "bank_card", "pseudonym", pseudonym_key=b"z" * 32)
    d = mask("6222020200112233447", "bank_card", "pseudonym", pseudonym_key=KEY)
    assert a == b != c
    assert a != d
    assert a.startswith("[bank_card#") and not any(ch.isdigit() for ch in a)
    assert fp.scan(a) == []


def test_pseudonym_needs_a_real_key() -> None:
    with pytest.raises(fp.ConfigurationError):
        mask("6222020200112233446", "bank_card", "pseudonym")
    with pytest.raises(fp.ConfigurationError):
        mask("6222020200112233446", "bank_card", "pseudonym", pseudonym_key=b"short")
    err = None
    try:
        mask("6222020200112233446", "bank_card", "pseudonym", pseudonym_key=b"short")
    except fp.ConfigurationError as exc:
        err = str(exc)
    assert err is not None and "short" not in err and "6222" not in err


def test_ff1_preset_is_reversible_and_keeps_format() -> None:
    value = "6222 0202 0011 2233 446"
    token = mask(value, "bank_card", "ff1", ff1_key=KEY[:16])
    assert token != value
    assert [c for c in token if not c.isdigit()] == [c for c in value if not c.isdigit()]
    assert unmask_ff1(token, "bank_card", ff1_key=KEY[:16]) == value
    with pytest.raises(fp.ConfigurationError):
        mask(value, "bank_card", "ff1")


# The shown digits of every bank-card preset never exceed PCI DSS 3.4.1's allowance.
@given(st.text("0123456789", min_size=1, max_size=25),
       st.sampled_from(["pci_bin6_last4", "pci_bin8_last4", "last4", "stars", "full"]))
def test_card_masks_never_show_more_than_allowed(digits: str, preset: str) -> None:
    out = mask(digits, "bank_card", preset)
    shown = sum(c.isdigit() for c in out)
    allowed = {"pci_bin6_last4": 10, "pci_bin8_last4": 12, "last4": 4, "stars": 0, "full": 0}
    assert shown <= allowed[preset]
    if len(digits) < 12:  # not a valid PAN length: at most a quarter, from the end
        assert shown <= len(digits) // 4
    if preset == "pci_bin8_last4" and len(digits) < 16:
        assert shown <= 10
    if len(digits) >= 12 and shown:
        assert shown < len(digits)


@given(st.text(max_size=40), st.sampled_from(sorted(MASK_KINDS)))
def test_mask_never_raises_and_hides_most_of_anything(value: str, kind: str) -> None:
    out = mask(value, kind)
    if kind in ("name", "address", "email"):
        return
    sig = [c for c in value if c.isalnum()]
    kept = sum(1 for a, b in zip(value, out, strict=False) if a.isalnum() and a == b)
    if len(out) == len(value) and sig:
        assert kept <= max(len(sig) - 4, len(sig) // 4) or kept <= 10


def test_invalid_values_are_still_masked() -> None:
    assert mask("1234", "bank_card") == "***4"
    assert mask("12", "cn_id") == "**"
    assert mask("not-an-email", "email") == "***-**-*****"
    assert luhn_valid("6222020200112233446")


@pytest.mark.parametrize("module", ["finprivacy.masking", "finprivacy.masking._mask",
                                    "finprivacy.masking._scan", "finprivacy.masking._redact"])
def test_doctests(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0
