"""Detection on the files firms export: CSV, TSV, JSON Lines, fixed width (issue 16).

Each example named in the issue is a regression test that failed before the fix.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp
from finprivacy.identifiers import us_ssn
from finprivacy.identifiers._checksums import gb11643_check, luhn_valid, mod97
from finprivacy.logging import RedactingFilter
from finprivacy.testing import PIILeakError, assert_no_pii

CLOCK = fp.FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def spans(text: str) -> list[tuple[str, int, int]]:
    return [(f.kind, f.start, f.end) for f in fp.scan(text, clock=CLOCK)]


def found(text: str) -> list[tuple[str, str]]:
    return [(f.kind, text[f.start:f.end]) for f in fp.scan(text, clock=CLOCK)]


# ---------------------------------------------------------------- the examples

def test_csv_row_with_id_and_card() -> None:
    assert found("a,440306199001011236,6217001234567890122") == [
        ("cn_id", "440306199001011236"), ("bank_card", "6217001234567890122")]


def test_csv_row_card_then_phone() -> None:
    assert found("6222020200112233446,13812345678") == [
        ("bank_card", "6222020200112233446"), ("cn_phone", "13812345678")]


@pytest.mark.parametrize("row", [
    "440306199001011236,35,female",      # a short field after the ID
    "35,440306199001011236",             # a short field before it
    "1,440306199001011236,2",
])
def test_short_neighbouring_fields_do_not_hide_an_id(row: str) -> None:
    assert [k for k, _ in found(row)] == ["cn_id"]


def test_amounts_with_thousands_separators_are_not_identifiers() -> None:
    assert found("amount 1,234,567.00 and 12,345,678,901.50, qty 1,280") == []
    assert found("金额 123456789.50 元") == []


def test_ssn_followed_by_a_form_number() -> None:
    text = "Bill to Daniel Green, SSN 789-04-4433 (1099-NEC), amount"
    assert found(text) == [("us_ssn", "789-04-4433")]


@pytest.mark.parametrize("tail", [" (1099-NEC)", " (ref 2024-03)", " (2024-03-15)", " (W-9)"])
def test_identifier_followed_by_a_reference_is_found(tail: str) -> None:
    assert [k for k, _ in found(f"SSN 789-04-4433{tail}")] == ["us_ssn"]
    assert [k for k, _ in found(f"手机 138 1234 5678{tail}")] == ["cn_phone"]


@pytest.mark.parametrize("text", ["IBANDE89370400440532013000", "收款IBANCH9300762011623852957",
                                  "iban:DE89370400440532013000"])
def test_iban_glued_to_its_label(text: str) -> None:
    assert [k for k, _ in found(text)] == ["iban"]


@pytest.mark.parametrize("text", ["6258 0778 5828 1046", "DE89 3704 0044 0532 0130 01",
                                  "卡号 6258 0778 5828 1046 已挂失"])
def test_no_phone_inside_a_longer_run_of_groups(text: str) -> None:
    assert all(k != "cn_phone" for k, _ in found(text))


def test_phone_and_ssn_lists_still_split_where_the_separator_changes() -> None:
    assert found("ssn 789-04-4433 555-12-3456") == [
        ("us_ssn", "789-04-4433"), ("us_ssn", "555-12-3456")]
    assert found("Tel 010-62345678 13812345678 13912345678") == [
        ("cn_phone", "010-62345678"), ("cn_phone", "13812345678"), ("cn_phone", "13912345678")]
    assert found("电话：010-62345678-8001。") == [("cn_phone", "010-62345678")]
    assert found("+86 13812345678 13912345678") == [
        ("cn_phone", "+86 13812345678"), ("cn_phone", "13912345678")]


def test_integers_that_validate_are_redacted_whatever_the_key() -> None:
    assert fp.redact({"memo": 13812345678}) == {"memo": "138****5678"}
    assert fp.redact([6222020200112233446]) == ["622202*********3446"]
    assert fp.redact({"amount": 123456789012, "n": 5, "ok": True}) == {
        "amount": 123456789012, "n": 5, "ok": True}


@pytest.mark.parametrize("number", ["1112-23333", "11-122-3333", "111-22 3333", "1-1-1223333"])
def test_ssn_separators_only_in_their_positions(number: str) -> None:
    assert not us_ssn.is_valid(number)
    with pytest.raises(fp.errors.InvalidIdentifierError) as info:
        us_ssn.validate(number)
    assert number not in str(info.value)


@pytest.mark.parametrize("number", ["111-22-3333", "111 22 3333", "111223333"])
def test_ssn_written_forms(number: str) -> None:
    assert us_ssn.validate(number) == "111223333"


# ---------------------------------------------------------------- everything downstream

CSV = "name,id_no,card,phone\n张伟,440306199001011236,6217001234567890122,13812345678\n"


def test_redact_masks_a_csv_export() -> None:
    out = fp.redact(CSV)
    for raw in ("440306199001011236", "6217001234567890122", "13812345678"):
        assert raw not in out
    assert out.splitlines()[0] == "name,id_no,card,phone"


def test_assert_no_pii_fails_on_a_csv_row() -> None:
    with pytest.raises(PIILeakError):
        assert_no_pii(CSV)


def test_logging_filter_masks_a_csv_row() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("test_scan_exports")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("row %s", CSV.splitlines()[1])
    finally:
        logger.removeHandler(handler)
    assert "440306199001011236" not in stream.getvalue()
    assert "13812345678" not in stream.getvalue()


def test_pii_leak_error_names_the_public_module() -> None:
    assert PIILeakError.__module__ == "finprivacy.testing"


@pytest.mark.parametrize("genre", ["csv", "tsv", "jsonl", "fixed"])
def test_export_genres(genre: str) -> None:
    rows = [("张伟", "440306199001011236", "6217001234567890122", "13812345678"),
            ("Li Na", "11010519491231002X", "6222020200112233446", "13912345678")]
    if genre == "csv":
        text = "\n".join(",".join(r) for r in rows)
    elif genre == "tsv":
        text = "\n".join("\t".join(r) for r in rows)
    elif genre == "jsonl":
        text = "\n".join(json.dumps(dict(zip(("n", "a", "b", "c"), r, strict=True)),
                                    ensure_ascii=False) for r in rows)
    else:
        text = "\n".join("".join(f"{v:<22}" for v in r) for r in rows)
    kinds = [k for k, _ in found(text)]
    assert kinds == ["cn_id", "bank_card", "cn_phone"] * 2


# ---------------------------------------------------------------- the property

def _card(digits: str) -> str:
    body = "622202" + digits[:12]
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def _cn_id(year: int, seq: int) -> str:
    body = f"440305{year:04d}0315{seq:03d}"
    return body + gb11643_check(body)


def _iban(digits: str) -> str:
    bban = "37040044" + digits[:10]
    return f"DE{98 - mod97(bban + 'DE00'):02d}{bban}"


identifiers = st.one_of(
    st.builds(lambda d: ("bank_card", _card(d)), st.text("0123456789", min_size=12,
                                                          max_size=12)),
    st.builds(lambda y, s: ("cn_id", _cn_id(y, s)), st.integers(1950, 2005),
              st.integers(0, 999)),
    st.builds(lambda p, d: ("cn_phone", f"1{p}{d}"), st.sampled_from(["38", "39", "86", "50"]),
              st.text("0123456789", min_size=8, max_size=8)),
    st.builds(lambda d: ("iban", _iban(d)), st.text("0123456789", min_size=10, max_size=10)),
    st.just(("us_ssn", "536-90-4399")),
    st.just(("cn_uscc", "91110000600037341L")),
    st.just(("email", "zhang.wei@example.com")),
)
separators = st.sampled_from([",", ";", "\t", "|", '"', "'", " ", ", ", '","', "\t\t", " | "])
before_edges = st.sampled_from(["", "\n", "x,", ",", '"', "a b ", "name;", "\t"])
after_edges = st.sampled_from(["", "\n", ",x", ",", '"', " b", ";35\n", "\t0"])


@given(st.lists(identifiers, min_size=1, max_size=4), separators, before_edges, after_edges)
def test_identifiers_between_separators_are_all_found(
        items: list[tuple[str, str]], sep: str, before: str, after: str) -> None:
    text = before + sep.join(v for _, v in items) + after
    assert found(text) == items, text
