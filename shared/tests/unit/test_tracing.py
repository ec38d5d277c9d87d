"""Trace context in CloudEvents headers (shared/tracing.py): injected while a span is current,
absent otherwise, and a consumer span continues the publisher's trace."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sipuma.shared.settings import ServiceSettings
from sipuma.shared.tracing import (
    TracingMiddleware,
    configure_tracing,
    consumer_span,
    trace_headers,
)

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


async def _headers_seen_by_app(request_headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    seen: dict[str, str] = {}

    async def app(scope: object, receive: object, send: object) -> None:
        seen.update(trace_headers())

    async def nothing() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def ignore(message: object) -> None:
        return None

    scope = {"type": "http", "method": "POST", "headers": request_headers}
    await TracingMiddleware(app)(scope, nothing, ignore)
    return seen


@pytest.mark.skipif(
    not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider),
    reason="a tracer provider is configured in this process",
)
async def test_tracing_off_still_passes_a_callers_trace_on() -> None:
    """No provider: no span is started (issue 15), but the caller's context reaches the
    events' headers, and without one there is none."""
    trace_id, parent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    given = [
        (b"content-type", b"application/json"),
        (b"traceparent", f"00-{trace_id}-{parent}-01".encode()),
    ]
    seen = await _headers_seen_by_app(given)
    assert seen["ce_traceparent"] == f"00-{trace_id}-{parent}-01"
    assert await _headers_seen_by_app([(b"content-type", b"application/json")]) == {}
    assert trace_headers() == {}  # the caller's context ended with the request
