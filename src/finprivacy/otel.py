"""OpenTelemetry: redact span and event attributes before any exporter sees them.

>>> from opentelemetry.sdk.trace import TracerProvider
>>> from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
>>> from finprivacy.otel import RedactingSpanProcessor
>>> provider = TracerProvider()
>>> provider.add_span_processor(
...     RedactingSpanProcessor(BatchSpanProcessor(ConsoleSpanExporter())))

:class:`RedactingSpanProcessor` wraps the processor that exports (batch or simple):
when a span ends it hands that processor a copy whose attributes, event attributes,
span name and status description are redacted as :func:`finprivacy.redact` does (by
attribute name: ``client.id_number``, ``card_no`` …, and by value: checksum-valid
identifiers anywhere in text). Attributes set on a span never reach an exporter
unredacted through it; other processors added to the provider directly still see the
original span, so put every exporting processor inside one.

Requires the ``otel`` extra (``pip install 'finprivacy[otel]'``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from .clock import Clock
from .identifiers import DEFAULT_MIN_CONFIDENCE
from .masking import redact

try:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
    from opentelemetry.trace.status import Status
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError("finprivacy.otel needs the OpenTelemetry SDK: "
                      "pip install 'finprivacy[otel]'") from None

__all__ = ["RedactingSpanProcessor"]


class RedactingSpanProcessor(SpanProcessor):
    """A span processor that passes redacted copies of ended spans to ``inner``.

    ``presets``, ``kinds``, ``min_confidence`` and ``keys`` are those of
    :func:`finprivacy.redact`; ``keys`` maps attribute names (the part after the
    last dot is matched too) to kinds.
    """

    def __init__(self, inner: SpanProcessor, *, presets: Mapping[str, str] | None = None,
                 kinds: Collection[str] | None = None,
                 min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                 keys: Mapping[str, str] | None = None, clock: Clock | None = None) -> None:
        self._inner = inner
        self._options: dict[str, Any] = {"presets": presets, "kinds": kinds,
                                         "min_confidence": min_confidence, "keys": keys,
                                         "clock": clock}

    def _redact(self, value: Any) -> Any:
        return redact(value, **self._options)

    def _attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        """Redact each attribute by the last part of its name and by its value."""
        out: dict[str, Any] = {}
        for name, value in (attributes or {}).items():
            last = name.rsplit(".", 1)[-1]
            out[name] = self._redact({last: value})[last]
        return out

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Pass the start on unchanged (nothing is exported yet)."""
        self._inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        """Hand ``inner`` a copy of ``span`` with its text redacted."""
        status = span.status
        description = status.description
        if description:
            status = Status(status.status_code, self._redact(description))
        events = [Event(self._redact(event.name),
                        self._attributes(event.attributes), timestamp=event.timestamp)
                  for event in span.events]
        copy = ReadableSpan(
            name=self._redact(span.name), context=span.context, parent=span.parent,
            resource=span.resource, attributes=self._attributes(span.attributes),
            events=events, links=span.links, kind=span.kind, status=status,
            start_time=span.start_time, end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope)
        self._inner.on_end(copy)

    def shutdown(self) -> None:
        """Shut ``inner`` down."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush ``inner``."""
        return bool(self._inner.force_flush(timeout_millis))
