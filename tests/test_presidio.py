"""finprivacy.presidio (issue 17): finprivacy's recognizers inside a real Presidio analyzer."""

from __future__ import annotations

import pytest

pytest.importorskip("presidio_analyzer")

import finprivacy as fp
from finprivacy.presidio import (
    FinPrivacyRecognizer,
    analyzer,
    entity_for,
    recognizers,
)

TEXT = ("客户林小梅，身份证号11010519491231002X，统一社会信用代码91350100M000100Y43，"
        "卡号6222020200112233446，手机13812345678，订单号440306199001011236。")


def _found(results: list[object], text: str) -> set[tuple[str, str]]:
    return {(r.entity_type, text[r.start:r.end]) for r in results}  # type: ignore[attr-defined]


def test_the_analyzer_finds_chinese_identifiers_without_a_spacy_model() -> None:
    engine = analyzer()
    found = _found(engine.analyze(TEXT, language="zh", score_threshold=0.6), TEXT)
    assert found == {("CN_RESIDENT_ID", "11010519491231002X"),
                     ("CN_USCC", "91350100M000100Y43"),
                     ("CREDIT_CARD", "6222020200112233446"),
                     ("CN_PHONE_NUMBER", "13812345678")}  # the order number is a decoy
    bad = "身份证号11010519491231002Y"  # wrong check digit
    assert engine.analyze(bad, language="zh") == []


def test_entities_filter_and_english() -> None:
    engine = analyzer()
    only = engine.analyze(TEXT, language="zh", entities=["CN_USCC"])
    assert [TEXT[r.start:r.end] for r in only] == ["91350100M000100Y43"]
    text = "Send to GB82 WEST 1234 5698 7654 32 or mail lin@example.com"
    assert _found(engine.analyze(text, language="en"), text) == {
        ("IBAN_CODE", "GB82 WEST 1234 5698 7654 32"), ("EMAIL_ADDRESS", "lin@example.com")}


def test_recognizers_join_an_existing_engine_with_user_kinds() -> None:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.recognizer_registry import RecognizerRegistry

    rec = fp.Recognizer(kind="staff_no", pattern=r"EMP-\d{6}", validate=lambda text: text.upper(),
                        context=("工号",), confidence=0.9)
    fp.register_recognizer(rec)
    try:
        registry = RecognizerRegistry(supported_languages=["zh"])
        registry.load_predefined_recognizers(languages=["zh"])
        registry.remove_recognizer("SpacyRecognizer")  # needs a spaCy model
        before = AnalyzerEngine(registry=registry, supported_languages=["zh"],
                                nlp_engine=NoOpNlpEngine(models=[{"lang_code": "zh",
                                                                  "model_name": "none"}]))
        assert not any(r.entity_type == "CN_RESIDENT_ID"
                       for r in before.analyze(TEXT, language="zh"))  # Presidio's issue #746
        for r in recognizers(["cn_id", "staff_no"], language="zh"):
            registry.add_recognizer(r)
        text = "工号EMP-004211，身份证号11010519491231002X"
        assert _found(before.analyze(text, language="zh"), text) >= {
            ("STAFF_NO", "EMP-004211"), ("CN_RESIDENT_ID", "11010519491231002X")}
    finally:
        fp.unregister_recognizer("staff_no")


def test_names_and_bad_kinds() -> None:
    assert entity_for("cn_id") == "CN_RESIDENT_ID" and entity_for("x_y") == "X_Y"
    custom = recognizers(["bank_card"], entity_names={"bank_card": "CN_BANK_CARD"})
    assert custom[0].supported_entities == ["CN_BANK_CARD"]
    with pytest.raises(fp.ConfigurationError):
        FinPrivacyRecognizer("no_such_kind")
