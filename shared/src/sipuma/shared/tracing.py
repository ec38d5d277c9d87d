"""OpenTelemetry traces across HTTP → Kafka → consumers, the same way in every service.

- `configure_tracing(settings)` in a service's `run()`: with `SIPUMA_OTEL_ENDPOINT` set (an
  OTLP/HTTP collector, e.g. `http://otel-collector:4318`), spans are exported in batches; unset
  (the default) nothing is recorded or sent, but a trace context that comes in is still passed on,
  so a trace is not cut by a service that does not export.
- `TracingMiddleware` (installed by `web.install_http_plumbing`): one SERVER span per request,
  continuing a W3C `traceparent` the caller sent; with tracing off, no span at all, only the
  caller's context made current. FastAPI's own telemetry stays off (`web.NATIVE_TELEMETRY_OFF`):
  it would add a second span per request, with the URL.
- `trace_headers()` (added by `cloudevents.to_headers`): the current context as the CloudEvents
  Distributed Tracing extension's attributes, in the Kafka binary binding `ce_traceparent` and
  `ce_tracestate`. Intake computes the headers while it answers the request, so a spooled event
  keeps the request's trace even when it is sent later.
- `consumer_span(...)` (used by `consumer.EventConsumer`): one CONSUMER span per handled event,
  child of the span that published it; with tracing off no span is built, only the incoming
  context (if any) is made current while the handler runs, so its publishes continue the trace.

Spans carry no personal data and no URL (paths can hold a tracking ticket): method, route
template, status; topic, partition, offset, event type.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sipuma.shared.settings import ServiceSettings

PREFIX = "ce_"  # CloudEvents attributes in the Kafka binary binding
_PROPAGATOR = TraceContextTextMapPropagator()  # W3C traceparent / tracestate only
TRACER = "sipuma"
_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate"})  # ASGI header names: lower case


def configure_tracing(
    settings: ServiceSettings, exporter: SpanExporter | None = None
) -> TracerProvider | None:
    """Once per process. `exporter` replaces OTLP (tests); without either, tracing stays off."""
    propagate.set_global_textmap(_PROPAGATOR)
    if exporter is None and not settings.otel_endpoint:
        return None
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint.rstrip("/") + "/v1/traces")
    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": f"sipuma-{settings.service}",
                "deployment.environment": settings.environment,
            }
        )
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


def trace_headers() -> dict[str, str]:
    """The current trace context as `ce_traceparent` (+ `ce_tracestate`); empty without one."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return {PREFIX + key: value for key, value in carrier.items()}


def context_from(headers: Mapping[str, str]) -> context.Context:
    carrier = {k.removeprefix(PREFIX): v for k, v in headers.items() if k.startswith(PREFIX)}
    return _PROPAGATOR.extract(carrier)


def tracing_on() -> bool:
    """A tracer provider is set (`configure_tracing`, or a test's): spans are recorded."""
    provider = trace.get_tracer_provider()
    return not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)


@contextmanager
def consumer_span(
    headers: Mapping[str, str], topic: str, partition: int, offset: int, event_type: str
) -> Iterator[trace.Span]:
    if not tracing_on():
        # What the no-op tracer would do, without building a span per record: an incoming
        # trace becomes the current one (what the handler publishes continues it), else nothing.
        if PREFIX + "traceparent" not in headers:
            yield trace.INVALID_SPAN
            return
        span = trace.get_current_span(context_from(headers))
        token = context.attach(trace.set_span_in_context(span))
        try:
            yield span
        finally:
            context.detach(token)
        return
    tracer = trace.get_tracer(TRACER)
    with tracer.start_as_current_span(
        f"{topic} process",
        context=context_from(headers),
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.destination.partition.id": str(partition),
            "messaging.kafka.offset": offset,
            "cloudevents.event_type": event_type,
        },
    ) as span:
        yield span


class TracingMiddleware:
    """One SERVER span per HTTP request (no URL recorded: see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not tracing_on():
            await self._pass_on(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        parent = _PROPAGATOR.extract(headers)
        method = scope.get("method", "")
        tracer = trace.get_tracer(TRACER)
        with tracer.start_as_current_span(
            f"HTTP {method}", context=parent, kind=trace.SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", method)

            async def remember_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    span.set_attribute("http.response.status_code", message["status"])
                await send(message)

            try:
                await self.app(scope, receive, remember_status)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", None)
                if template:
                    span.update_name(f"HTTP {method} {template}")
                    span.set_attribute("http.route", template)

    async def _pass_on(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Tracing off (no provider configured): no span is recorded, so none is started (a
        no-op span, its context manager and attributes cost every request; issue 15). A
        caller's trace context is still made current, so the events carry it on."""
        given = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k in _TRACE_HEADERS
        ]
        if not given:
            await self.app(scope, receive, send)
            return
        token = context.attach(_PROPAGATOR.extract(dict(given)))
        try:
            await self.app(scope, receive, send)
        finally:
            context.detach(token)
