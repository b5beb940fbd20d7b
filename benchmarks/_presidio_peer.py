"""The issue-18 peers, and a labelled legacy schema to score them and finprivacy.

* presidio-structured, as described below;
* piicatcher's approach — column names, then sampled values against regular
  expressions, no checksums — written here from its documented behaviour, since its
  last release (0.17.0) no longer installs on Python 3.11 (a pinned dependency's build
  needs ``pkg_resources``, which current setuptools no longer ships).

presidio-structured's default analyzer loads a spaCy model, which is not on the package
registries here; the peer runs on Presidio's no-op NLP engine with all of Presidio's
predefined recognizers instead. That removes spaCy's cost, so the peer is *faster* here
than as usually deployed (the issue quotes under 1,000 cells/s with spaCy). Its e-mail
recognizer's ``tldextract`` is pointed at its bundled suffix list, so nothing tries the
network.
"""

from __future__ import annotations

import logging
import random
from typing import Any

__all__ = ["PRESIDIO_KINDS", "labelled_tables", "names_and_regexes", "peer", "score"]

PRESIDIO_KINDS = {"CREDIT_CARD": "bank_card", "EMAIL_ADDRESS": "email",
                  "PHONE_NUMBER": "cn_phone", "IBAN_CODE": "iban"}
"""Presidio entity types that name one of finprivacy's kinds."""

Truth = dict[tuple[str, str], str | None]


def peer() -> tuple[Any, Any] | None:
    """Return (PandasAnalysisBuilder, StructuredEngine) or ``None`` when not installed."""
    try:
        import tldextract.tldextract as tld
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NoOpNlpEngine
        from presidio_structured import (
            PandasAnalysisBuilder,
            PandasDataProcessor,
            StructuredEngine,
        )
    except ImportError:
        return None
    tld.TLD_EXTRACTOR = tld.TLDExtract(suffix_list_urls=())
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=nlp)
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])
    return (PandasAnalysisBuilder(analyzer=analyzer),
            StructuredEngine(data_processor=PandasDataProcessor()))


def labelled_tables(rows: int, seed: int = 11) -> tuple[dict[str, dict[str, list[str]]], Truth]:
    """A legacy Chinese bookkeeping schema with pinyin, Chinese and English column names,
    decoys by name (``id_no`` holding a sequence) and by shape (order numbers, amounts,
    hotlines), and the truth per column (a finprivacy kind, or ``None``)."""
    from faker import Faker

    from finprivacy.faker import FinPrivacyProvider

    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    fake.add_provider(FinPrivacyProvider)
    rng = random.Random(seed)
    tables = {
        "khxx": {
            "sfzh": [fake.cn_resident_id() for _ in range(rows)],
            "sjhm": [fake.cn_mobile() for _ in range(rows)],
            "yhkh": [fake.unionpay_card() for _ in range(rows)],
            "ye": [f"{rng.randint(0, 10**6)}.{rng.randint(0, 99):02d}" for _ in range(rows)],
        },
        "customers": {
            "id_no": [str(1000 + i) for i in range(rows)],
            "card_no": [f"VIP{i:06d}" for i in range(rows)],
            "mobile": [fake.cn_mobile() for _ in range(rows)],
            "email": [fake.email() for _ in range(rows)],
            "credit_code": [fake.cn_uscc() for _ in range(rows)],
        },
        "订单": {
            "订单号": [str(rng.randint(10**17, 10**18 - 1)) for _ in range(rows)],
            "金额": [f"{rng.randint(1, 99999)}.00" for _ in range(rows)],
            "客服电话": ["400-820-8820"] * rows,
            "账户": [fake.iban() for _ in range(rows)],
        },
    }
    truth: Truth = {
        ("khxx", "sfzh"): "cn_id", ("khxx", "sjhm"): "cn_phone",
        ("khxx", "yhkh"): "bank_card", ("khxx", "ye"): None,
        ("customers", "id_no"): None, ("customers", "card_no"): None,
        ("customers", "mobile"): "cn_phone", ("customers", "email"): "email",
        ("customers", "credit_code"): "cn_uscc",
        ("订单", "订单号"): None, ("订单", "金额"): None, ("订单", "客服电话"): None,
        ("订单", "账户"): "iban",
    }
    return tables, truth


def score(found: dict[tuple[str, str], str | None], truth: Truth, *,
          kinds: bool = True) -> tuple[float, float, float]:
    """Column precision, recall and F1; ``kinds=False`` scores personal-or-not only."""
    tp = fp = fn = 0
    for key, want in truth.items():
        got = found.get(key)
        if not kinds:
            got = "personal" if got is not None else None
            want = "personal" if want is not None else None
        if got is not None and got == want:
            tp += 1
        elif got is not None:
            fp += 1
        if want is not None and got != want:
            fn += 1
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    f1 = 2 * precision * recall / max(1e-9, precision + recall)
    return precision, recall, f1


_NAME_PATTERNS = [  # English names only, as in piicatcher's name scanner
    (r"(national|citizen)?_?id_?(no|num|number)?$|ssn", "cn_id"),
    (r"phone|mobile|tel", "cn_phone"),
    (r"card", "bank_card"),
    (r"e?_?mail", "email"),
    (r"iban|account", "iban"),
]
_VALUE_PATTERNS = [  # shapes only: no checksums
    (r"\d{17}[\dXx]", "cn_id"),
    (r"1\d{10}", "cn_phone"),
    (r"\d{16,19}", "bank_card"),
    (r"[^@\s]+@[^@\s]+\.[a-z]{2,}", "email"),
    (r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", "iban"),
    (r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}", "cn_uscc"),
]


def names_and_regexes(tables: dict[str, dict[str, list[str]]],
                      sample: int = 1000) -> dict[tuple[str, str], str | None]:
    """piicatcher's approach: a column is personal if its name matches, else if at least
    half its sampled values match one value pattern whole."""
    import re

    names = [(re.compile(p, re.IGNORECASE), k) for p, k in _NAME_PATTERNS]
    values = [(re.compile(p), k) for p, k in _VALUE_PATTERNS]
    found: dict[tuple[str, str], str | None] = {}
    for table, cols in tables.items():
        for column, data in cols.items():
            kind = next((k for rx, k in names if rx.search(column)), None)
            if kind is None:
                cells = [str(v) for v in data[:sample] if v is not None]
                for rx, k in values:
                    if cells and sum(bool(rx.fullmatch(c)) for c in cells) * 2 >= len(cells):
                        kind = k
                        break
            found[(table, column)] = kind
    return found
