"""finprivacy's checksum-validated recognizers for Microsoft Presidio (extra ``presidio``).

Presidio users gain Chinese identifiers — resident ID numbers (GB 11643), unified social
credit codes (GB 32100), UnionPay cards, mainland phones, passports, bank accounts —
validated the way :func:`finprivacy.scan` validates them (checksums, context words,
decoys such as order numbers and hotlines), plus the international kinds and any kind
registered with :func:`finprivacy.register_recognizer`::

    from finprivacy.presidio import analyzer

    engine = analyzer()                     # no spaCy model needed
    engine.analyze("身份证号11010519491231002X", language="zh")

Or add the recognizers to an engine you already have::

    for r in finprivacy.presidio.recognizers(language="en"):
        engine.registry.add_recognizer(r)

Entity names follow Presidio's where one exists (``CREDIT_CARD``, ``IBAN_CODE``,
``PHONE_NUMBER``, ``EMAIL_ADDRESS``, ``US_SSN``) and are ``CN_…`` otherwise
(:data:`ENTITY_NAMES`); scores are finprivacy's confidences.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ConfigurationError
from .identifiers import known_kinds
from .masking import scan

try:
    from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerResult
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_analyzer.recognizer_registry import RecognizerRegistry
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError("finprivacy.presidio needs presidio-analyzer: "
                      "pip install 'finprivacy[presidio]'") from None

__all__ = ["ENTITY_NAMES", "FinPrivacyRecognizer", "analyzer", "entity_for", "recognizers"]

ENTITY_NAMES: Mapping[str, str] = {
    "cn_id": "CN_RESIDENT_ID",
    "cn_uscc": "CN_USCC",
    "bank_card": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "cn_phone": "CN_PHONE_NUMBER",
    "phone": "PHONE_NUMBER",
    "email": "EMAIL_ADDRESS",
    "us_ssn": "US_SSN",
    "cn_passport": "CN_PASSPORT",
    "cn_bank_account": "CN_BANK_ACCOUNT",
}
"""Presidio entity name of each built-in kind; other kinds are upper-cased."""


def entity_for(kind: str) -> str:
    """Return the Presidio entity name of a finprivacy kind."""
    return ENTITY_NAMES.get(kind, kind.upper())


class FinPrivacyRecognizer(EntityRecognizer):
    """A Presidio recognizer for one finprivacy kind, backed by :func:`finprivacy.scan`."""

    def __init__(self, kind: str, *, language: str = "zh",
                 entity: str | None = None) -> None:
        if kind not in known_kinds():
            raise ConfigurationError(f"unknown finprivacy kind {kind!r}")
        self.kind = kind
        self.kind_name = f"finprivacy.{kind}"
        self.entity = entity or entity_for(kind)
        super().__init__(supported_entities=[self.entity], name=self.kind_name,
                         supported_language=language)

    def load(self) -> None:
        """Nothing to load: the recognizers are compiled on import."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None
                ) -> list[Any]:
        """Return Presidio results for this kind's checksum-validated findings in ``text``."""
        if entities and self.entity not in entities:
            return []
        return [RecognizerResult(entity_type=self.entity, start=f.start, end=f.end,
                                 score=f.confidence,
                                 recognition_metadata={
                                     RecognizerResult.RECOGNIZER_NAME_KEY: self.kind_name,
                                     RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id})
                for f in scan(text, kinds=[self.kind])]


def recognizers(kinds: Iterable[str] | None = None, *, language: str = "zh",
                entity_names: Mapping[str, str] | None = None) -> list[FinPrivacyRecognizer]:
    """Return one recognizer per kind (default: every known kind) for ``language``."""
    names = dict(entity_names or {})
    return [FinPrivacyRecognizer(k, language=language, entity=names.get(k))
            for k in (kinds if kinds is not None else known_kinds())]


def analyzer(languages: Iterable[str] = ("zh", "en"), *,
             kinds: Iterable[str] | None = None) -> Any:
    """Return a Presidio ``AnalyzerEngine`` with only finprivacy's recognizers.

    It uses Presidio's no-op NLP engine, so no spaCy model has to be downloaded;
    context words are finprivacy's own (applied inside :func:`finprivacy.scan`).
    """
    langs = list(languages)
    chosen = list(kinds) if kinds is not None else None
    registry = RecognizerRegistry(supported_languages=langs)
    for lang in langs:
        for r in recognizers(chosen, language=lang):
            registry.add_recognizer(r)
    engine = NoOpNlpEngine(models=[{"lang_code": lang, "model_name": "none"}
                                   for lang in langs])
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=langs)
