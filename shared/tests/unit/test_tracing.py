"""Trace context in CloudEvents headers (shared/tracing.py): injected while a span is current,
absent otherwise, and a consumer span continues the publisher's trace."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sipuma.shared.settings import ServiceSettings
from sipuma.shared.tracing import configure_tracing, consumer_span, trace_headers

pytestmark = pytest.mark.unit


def test_off_by_default_records_nothing() -> None:
    assert ServiceSettings().otel_endpoint == ""
    assert configure_tracing(ServiceSettings()) is None
    assert trace_headers() == {}  # no current trace: no header


def test_headers_carry_the_trace_and_the_consumer_continues_it() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("publish") as publishing:
        headers = trace_headers()
    context = publishing.get_span_context()
    version, trace_id, parent_id, _flags = headers["ce_traceparent"].split("-")
    assert (version, trace_id, parent_id) == (
        "00",
        f"{context.trace_id:032x}",
        f"{context.span_id:016x}",
    )
    # The global provider may be the no-op one (tracing off): the context still passes through.
    with consumer_span(headers, "t", 0, 7, "complaint.received") as span:
        continued = span.get_span_context()
        assert continued.trace_id == context.trace_id
        assert trace_headers()["ce_traceparent"].split("-")[1] == f"{context.trace_id:032x}"
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider | TracerProvider)
