"""OpenTelemetry (issue 17): span and event attributes are redacted before export,
checked with the SDK's in-memory exporter."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import Status, StatusCode

from finprivacy.otel import RedactingSpanProcessor

CARD = "6222020200112233446"
ID_NO = "11010519491231002X"


def _tracer(**kw: object) -> tuple[object, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RedactingSpanProcessor(SimpleSpanProcessor(exporter),
                                                       **kw))  # type: ignore[arg-type]
    return provider.get_tracer("test"), exporter


def test_attributes_events_names_and_status_are_redacted_before_export() -> None:
    tracer, exporter = _tracer()
    with tracer.start_as_current_span(f"lookup {CARD}") as span:  # type: ignore[attr-defined]
        span.set_attribute("client.id_number", ID_NO)
        span.set_attribute("payment.memo", f"paid with card {CARD}")
        span.set_attribute("http.status_code", 200)
        span.set_attribute("client.ids", [ID_NO, "C-1001"])
        span.add_event("card checked", {"card_no": CARD, "ok": True})
        span.set_status(Status(StatusCode.ERROR, f"card {CARD} declined"))
    (done,) = exporter.get_finished_spans()
    text = repr(done.to_json())
    assert CARD not in text and ID_NO not in text
    assert done.attributes["http.status_code"] == 200
    assert done.attributes["client.id_number"].endswith("002X")
    assert done.attributes["payment.memo"].startswith("paid with card 622202")
    assert done.attributes["client.ids"][1] == "C-1001"
    assert done.events[0].attributes["ok"] is True
    assert done.events[0].attributes["card_no"].endswith("3446")
    assert done.status.status_code is StatusCode.ERROR
    assert "declined" in (done.status.description or "")
    assert done.name.startswith("lookup 622202")


def test_keys_and_presets_are_those_of_redact() -> None:
    tracer, exporter = _tracer(keys={"staff_ref": "cn_id"}, presets={"bank_card": "last4"})
    with tracer.start_as_current_span("s") as span:  # type: ignore[attr-defined]
        span.set_attribute("app.staff_ref", "abc-110105")
        span.set_attribute("card", CARD)
    (done,) = exporter.get_finished_spans()
    assert done.attributes["app.staff_ref"] != "abc-110105"
    assert done.attributes["card"] == "***************3446"


def test_without_the_processor_the_exporter_sees_everything() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("card", CARD)
    assert exporter.get_finished_spans()[0].attributes["card"] == CARD
