"""fp.scan: Chinese text without word boundaries, full-width digits, context, hard negatives."""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

import finprivacy as fp

CLOCK = fp.FixedClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
CARD19 = "6222020200112233446"  # UnionPay, 19 digits, Luhn-valid
ID18 = "11010519491231002X"


def kinds(text: str) -> list[tuple[str, str]]:
    return [(f.kind, text[f.start:f.end]) for f in fp.scan(text, clock=CLOCK)]


def test_no_word_boundary_needed_after_chinese() -> None:
    assert kinds(f"卡号{CARD19}，身份证{ID18}，手机13812345678。") == [
        ("bank_card", CARD19), ("cn_id", ID18), ("cn_phone", "13812345678")]


def test_nineteen_digit_unionpay_grouped_and_contiguous() -> None:
    assert kinds(f"card {CARD19}") == [("bank_card", CARD19)]
    assert kinds("card 6222 0202 0011 2233 446 ok") == [("bank_card", "6222 0202 0011 2233 446")]
    assert kinds("卡号6222-0202-0011-2233-446") == [("bank_card", "6222-0202-0011-2233-446")]


def test_full_width_digits_and_ideographic_space_keep_original_offsets() -> None:
    text = ("客户卡号：６２２２　０２０２　００１１　２２３３　４４６，"
            "身份证１１０１０５１９４９１２３１００２Ｘ")
    found = fp.scan(text, clock=CLOCK)
    assert [f.kind for f in found] == ["bank_card", "cn_id"]
    assert text[found[0].start:found[0].end] == "６２２２　０２０２　００１１　２２３３　４４６"
    assert found[0].value.reveal() == CARD19
    assert text[found[1].start:found[1].end] == "１１０１０５１９４９１２３１００２Ｘ"


@pytest.mark.parametrize(("text", "expected"), [
    ("IBAN GB82 WEST 1234 5698 7654 32, thanks", ("iban", "GB82 WEST 1234 5698 7654 32")),
    ("SSN 536-90-4399.", ("us_ssn", "536-90-4399")),
    ("tel +44 20 7946 0958", ("phone", "+44 20 7946 0958")),
    ("手机 +86 138-1234-5678", ("cn_phone", "+86 138-1234-5678")),
    ("座机(010) 8888-6666", ("cn_phone", "(010) 8888-6666")),
    ("邮箱zhang.wei@example.com，", ("email", "zhang.wei@example.com")),
    ("税号91110000600037341L", ("cn_uscc", "91110000600037341L")),
    ("护照E12345678", ("cn_passport", "E12345678")),
    ("开户行：招商银行深圳分行 账号：755912345610801", ("cn_bank_account", "755912345610801")),
    ("phone (415) 555-2671", ("phone", "(415) 555-2671")),
])
def test_kinds(text: str, expected: tuple[str, str]) -> None:
    assert kinds(text) == [expected]


def test_bank_account_only_with_context_word() -> None:
    assert kinds("账号 755912345610801") == [("cn_bank_account", "755912345610801")]
    assert kinds("备注 755912345610801") == []
    assert kinds("account no. 755912345610801") == [("cn_bank_account", "755912345610801")]


def test_context_raises_confidence() -> None:
    (bare,) = fp.scan("13812345678")
    (ctx,) = fp.scan("手机13812345678")
    assert ctx.confidence > bare.confidence
    assert ctx.context == "手机" and bare.context == ""


def test_negative_context_lowers_confidence() -> None:
    assert fp.scan("订单号13812345678") == []
    low = fp.scan("订单号13812345678", min_confidence=0.0)
    assert low and low[0].confidence < 0.5


@pytest.mark.parametrize("text", [
    "客服热线95588，或拨打400-820-8820、800-830-8888", "hotline 4006998888",
    "订单号202403151234567890", "发票号码24112000000012345678", "金额¥12,345,678.90",
    "日期2024-03-15，2024年3月15日", "身份证号110105194912310021（校验位错）",
    "卡号6222020200112233445", "IBAN GB82 WEST 1234 5698 7654 33", "税号91110000600037341M",
    "SN: C02XK1ABJG5H", "快递单号SF123456789012", "version 10.0.19045.3803",
    "order A-20240315-13812345678x", "时间 10:30:15，数量 1,234,567",
    "call 1-800-275-2273", "epoch 1700000000 ms 1700000000000",
    "uuid 550e8400-e29b-41d4-a716-446655440000", "ISBN 978-7-111-54742-6",
    "流水号 6222020200112233446", "价格 1380000000 元",
])
def test_hard_negatives_not_flagged(text: str) -> None:
    assert fp.scan(text, clock=CLOCK) == []


def test_findings_never_overlap_email_beats_phone() -> None:
    text = "13812345678@qq.com"
    assert kinds(text) == [("email", text)]


def test_kinds_filter_and_unknown_kind() -> None:
    text = f"卡号{CARD19} 手机13812345678"
    assert [f.kind for f in fp.scan(text, kinds=["cn_phone"])] == ["cn_phone"]
    with pytest.raises(fp.ConfigurationError):
        fp.scan(text, kinds=["credit_card"])
    with pytest.raises(fp.InvalidInputError):
        fp.scan(b"bytes")  # type: ignore[arg-type]


def test_finding_repr_hides_value() -> None:
    (f,) = fp.scan(f"卡号{CARD19}")
    assert CARD19 not in repr(f) and "622202" not in repr(f)
    assert f.kind == "bank_card" and (f.start, f.end) == (2, 21)


@given(st.text(max_size=300))
def test_scan_never_raises_and_spans_are_sane(text: str) -> None:
    found = fp.scan(text)
    last = 0
    for f in found:
        assert last <= f.start < f.end <= len(text)
        assert 0.5 <= f.confidence <= 1.0
        last = f.end


noisy = st.text(
    alphabet=st.sampled_from(list("0123456789 -+()@.XxEG卡号账号手机身份证：，abcAB１２３　")),
    max_size=120)


@given(noisy)
def test_scan_never_raises_on_digit_heavy_text(text: str) -> None:
    found = fp.scan(text, min_confidence=0.0)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


# ---------------------------------------------------------------- labelled corpus quality

def _corpus() -> ModuleType:
    path = Path(__file__).parent.parent / "benchmarks" / "_corpus.py"
    spec = importlib.util.spec_from_file_location("finprivacy_bench_corpus", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_corpus_quality_fixed_seed() -> None:
    corpus = _corpus()
    samples = corpus.generate(2000, seed=20260101)
    score = corpus.evaluate(samples, lambda t: [(f.start, f.end, f.kind) for f in fp.scan(t)])
    for lang in ("zh", "en"):
        for kind in corpus.KINDS:
            if score.support(kind, lang):
                assert score.prf(kind, lang)[2] >= 0.99, (kind, lang, score.prf(kind, lang))
        assert score.prf(None, lang)[2] >= 0.99
    assert score.negatives > 500
    assert score.negative_rate <= 0.01, score.flagged_by_category


def test_export_corpus_quality_fixed_seed() -> None:
    """CSV, TSV, JSON Lines and fixed-width rows: F1 >= 0.99 in zh and en (issue 16)."""
    corpus = _corpus()
    samples = corpus.generate_exports(2000, seed=20261207)
    score = corpus.evaluate(samples, lambda t: [(f.start, f.end, f.kind) for f in fp.scan(t)])
    for lang in ("zh", "en"):
        assert score.prf(None, lang)[2] >= 0.99, (lang, score.prf(None, lang))
    assert score.negatives > 300
    assert score.negative_rate <= 0.01, score.flagged_by_category


# ---------------------------------------------------------------- embedded identifiers

def _valid_card(rng_digits: str) -> str:
    from finprivacy.identifiers._checksums import luhn_valid

    body = "622202" + rng_digits[:12]
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def _valid_id(year: int, month: int, day: int, seq: int) -> str:
    from finprivacy.identifiers._checksums import gb11643_check

    body = f"440305{year:04d}{month:02d}{day:02d}{seq:03d}"
    return body + gb11643_check(body)


cjk = st.text(alphabet=st.sampled_from(list("客户卡号身份证手机的是请查询谢谢，。：（）　")),
              max_size=6)
width = st.sampled_from([str, lambda s: s.translate(str.maketrans("0123456789X",
                                                                    "０１２３４５６７８９Ｘ"))])


@given(cjk, cjk, st.text("0123456789", min_size=12, max_size=12), width)
def test_card_found_inside_chinese_text(before: str, after: str, digits: str,
                                        fold: object) -> None:
    card = fold(_valid_card(digits))  # type: ignore[operator]
    text = before + card + after
    found = fp.scan(text)
    assert [(f.kind, f.start, f.end) for f in found] == [
        ("bank_card", len(before), len(before) + len(card))]


@given(cjk, cjk, st.integers(1950, 2005), st.integers(1, 12), st.integers(1, 28),
       st.integers(0, 999), width)
def test_id_found_inside_chinese_text(before: str, after: str, year: int, month: int,
                                      day: int, seq: int, fold: object) -> None:
    number = fold(_valid_id(year, month, day, seq))  # type: ignore[operator]
    text = before + number + after
    found = fp.scan(text, clock=CLOCK)
    # After 卡号 a number that is also a valid card is reported as a card.
    card_context = "卡号" in before and fp.identifiers.bank_card.is_valid(number)
    assert [(f.kind, f.start, f.end) for f in found] == [
        ("bank_card" if card_context else "cn_id", len(before), len(before) + len(number))]


def test_large_text_with_many_findings() -> None:
    line = f"客户手机13812345678，卡号{CARD19}，邮箱a.b@example.com。\n"
    text = line * 3000
    found = fp.scan(text)
    assert len(found) == 9000
    assert [f.kind for f in found[:3]] == ["cn_phone", "bank_card", "email"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))
    assert fp.redact(text) == fp.redact(line) * 3000


def test_fast_finding_constructor_equals_dataclass() -> None:
    from finprivacy.identifiers._finding import Finding, finding_of

    value = fp.Secret("13812345678")
    fast = finding_of(3, 14, ("cn_phone", 0.9, "13812345678"), "手机")
    slow = Finding("cn_phone", 3, 14, 0.9, value, "手机")
    assert fast == slow and repr(fast) == repr(slow) and hash(fast) == hash(slow)
    assert fast.value.reveal() == "13812345678" and fast.context == "手机"
    with pytest.raises(AttributeError):
        fast.start = 4  # type: ignore[misc]


def test_system_clock_today_follows_the_date(monkeypatch: pytest.MonkeyPatch) -> None:
    from finprivacy.identifiers import _detect

    born_today = dt.datetime.now(dt.UTC).date()
    body = "110105" + born_today.strftime("%Y%m%d") + "002"
    from finprivacy.identifiers._checksums import gb11643_check

    number = body + gb11643_check(body)
    assert [f.kind for f in fp.scan(f"身份证{number}")] == ["cn_id"]  # born today: valid
    today = _detect._SystemToday()
    key = today.key
    assert key == born_today.strftime("%Y%m%d") and today.key is key  # cached
    # a day later (or a clock set back), the cached day is not used
    monkeypatch.setattr(_detect.time, "time", lambda: 0.0)
    monkeypatch.setattr(_detect, "SystemClock", lambda: fp.FixedClock(
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC)))
    assert today.key == "19700101"


_words = st.sampled_from(["card", "no", "id", "number", "account", "a/c", "s/n", "sn", "mail",
                          "e-mail", "tel", "ph", "phone", "iban", "ssn", "ref", "order", "Card",
                          "IBAN", "x", "4"])
_seps = st.sampled_from([" ", "", "-", "_", "/", ":", "1", ".", "  "])


@given(st.lists(st.tuples(_words, _seps), max_size=6))
def test_context_words_in_ascii_text_match_the_general_pattern(parts: list[tuple[str, str]]
                                                               ) -> None:
    from finprivacy.identifiers._detect import _Context

    text = "".join(w + s for w, s in parts)
    # The same text with a trailing non-ASCII character takes the general path.
    ascii_ctx, general = _Context(text), _Context(text + "。")
    for start in range(len(text) + 1):
        assert ascii_ctx.at(start) == general.at(start)
