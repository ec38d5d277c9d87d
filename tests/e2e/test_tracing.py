"""OpenTelemetry across the pipeline (issue 17): the four services as processes with
`SIPUMA_OTEL_ENDPOINT` pointing at an OTLP/HTTP receiver in this test process (the protobuf
`ExportTraceServiceRequest` that every collector takes). One complaint with a tracking contact goes
in through intake's HTTP API; its trace id must be on intake's HTTP span, on the registry's span
handling its ComplaintReceived and on the notifier's span handling its TicketIssued: the context
rode in the CloudEvents headers (`ce_traceparent`) from hop to hop."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.chaos.load import _body
from tests.e2e.stack import Stack, running_stack
from tests.harness.endpoints import Endpoints
from tests.harness.state import eventually_sync

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@dataclass(frozen=True)
class Span:
    service: str
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    attributes: dict[str, Any]


class Collector:
    """An OTLP/HTTP trace receiver: POST /v1/traces, protobuf body."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector.take(request)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self, request: ExportTraceServiceRequest) -> None:
        found = []
        for resource in request.resource_spans:
            attrs = {a.key: a.value.string_value for a in resource.resource.attributes}
            for scope in resource.scope_spans:
                for span in scope.spans:
                    found.append(
                        Span(
                            attrs.get("service.name", ""),
                            span.trace_id.hex(),
                            span.span_id.hex(),
                            span.parent_span_id.hex(),
                            span.name,
                            {
                                a.key: a.value.string_value or a.value.int_value
                                for a in span.attributes
                            },
                        )
                    )
        with self.lock:
            self.spans += found

    def of(self, trace_id: str) -> list[Span]:
        with self.lock:
            return [s for s in self.spans if s.trace_id == trace_id]


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    found = Collector()
    yield found
    found.server.shutdown()


@pytest.fixture(scope="module")
def stack(
    endpoints: Endpoints, collector: Collector, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with running_stack(
        endpoints,
        tmp_path_factory.mktemp("otel-stack"),
        "otel",
        ("intake", "registry", "notifier"),
        # Export every 200 ms instead of 5 s: the test reads what arrived, it does not wait.
        env={"SIPUMA_OTEL_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "200"},
    ) as started:
        yield started


def test_one_trace_id_across_intake_registry_and_notifier(
    stack: Stack, collector: Collector, tmp_path: Path
) -> None:
    # The caller starts the trace (as a browser with OpenTelemetry, or the ingress, would).
    trace_id = uuid.uuid4().hex
    body = _body(
        random.Random(1),
        {"email": f"c{uuid.uuid4().hex[:12]}@example.co.id", "mobile": "+6281234567890"},
    )
    answer = httpx.post(
        f"{stack.url('intake')}/v1/complaints",
        json=body,
        headers={
            "Authorization": f"Bearer {stack.token()}",
            "Idempotency-Key": str(uuid.uuid4()),
            "traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01",
        },
        timeout=30,
    )
    assert answer.status_code in (201, 202), answer.text

    def services_in_trace() -> set[str] | None:
        spans = collector.of(trace_id)
        names = {s.service for s in spans}
        wanted = {"sipuma-intake", "sipuma-registry", "sipuma-notifier"}
        return names if wanted <= names else None

    eventually_sync("intake, registry and notifier spans in one trace", services_in_trace, 120)
    spans = collector.of(trace_id)
    by_service = {s.service: s for s in spans}
    assert by_service["sipuma-intake"].name.startswith("HTTP POST")
    received = [s for s in spans if s.service == "sipuma-registry" and "complaint" in s.name]
    assert received, [s.name for s in spans]
    ticket = [s for s in spans if s.service == "sipuma-notifier"]
    assert any("ticket" in s.name for s in ticket), [s.name for s in ticket]
    # Each hop is the child of the one before: the notifier's parent is a registry span.
    ids = {s.span_id: s for s in spans}
    parents = {ids[s.parent_id].service for s in ticket if s.parent_id in ids}
    assert "sipuma-registry" in parents
    # No URL, no personal data on any span.
    text = repr(spans)
    assert body["complainant"]["name"] not in text
    assert body["tracking_contact"]["email"] not in text
    assert "/v1/complaints/" not in text
