"""HTTP plumbing every service installs the same way: correlation id, problem+json errors,
health/readiness/metrics, and a request-body limit that answers 413 instead of reading on."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Final

import structlog
import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.telemetry import TelemetryConfig
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sipuma.shared.correlation import CorrelationIdMiddleware
from sipuma.shared.health import ReadinessCheck, health_router
from sipuma.shared.openapi import document_problems
from sipuma.shared.problems import (
    install_problem_handlers,
    payload_too_large,
    render,
    route_template,
)
from sipuma.shared.settings import ServiceSettings
from sipuma.shared.tracing import TracingMiddleware

UNMATCHED_ROUTE = "<unmatched>"
# For `FastAPI(telemetry=...)`: FastAPI's own OpenTelemetry spans and metrics stay off. The
# services trace with `TracingMiddleware` (no URL in a span: a path can hold a ticket), which
# they would otherwise get twice once a provider is configured, and FastAPI asks the global
# tracer, meter and logger providers on every request even when none is (issue 15).
NATIVE_TELEMETRY_OFF: Final[TelemetryConfig] = {"tracing": False, "metrics": False, "logs": False}
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class AccessLogMiddleware:
    """One log line per request with the route *template*, never the raw path or query string:
    a path can hold a ticket (`/v1/track/{ticket}`) and a query a file name with a name or an
    e-mail in it. Replaces uvicorn's access log, which prints both raw."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = structlog.get_logger("sipuma.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in _QUIET_PATHS:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises before starting a response

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            self.log.info(
                "http_request",
                method=scope.get("method"),
                route=route_template(scope) or UNMATCHED_ROUTE,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )


class BodyTooLarge(HTTPException):
    """Raised while the app reads a body past the limit. An HTTPException because FastAPI turns
    any other exception from reading a route's body into a 400 ("error parsing the body") and
    re-raises only these; `install_http_plumbing` answers it with the 413 problem."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413)
        self.max_bytes = max_bytes


async def _too_large(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BodyTooLarge)
    answer = render(payload_too_large(exc.max_bytes), request)
    answer.headers["connection"] = "close"  # the rest of the body is never read
    return answer


class BodySizeLimitMiddleware:
    """Refuses bodies over `max_bytes`, by Content-Length up front or while streaming (a chunked
    upload cannot lie its way past the limit). Routes that stream large files set their own."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = payload_too_large(self.max_bytes).problem()  # the raw path may carry secrets
        body = problem.model_dump_json(by_alias=True, exclude_none=True).encode()
        headers = [(b"content-type", b"application/problem+json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def install_http_plumbing(
    app: FastAPI,
    checks: Mapping[str, ReadinessCheck],
    *,
    max_body_bytes: int | None = 1_048_576,
    public_paths: tuple[str, ...] = (),
) -> None:
    """Call once in the composition root, after the routes are added. Operations under `/v1`
    need a staff token unless their path starts with one of `public_paths`."""
    install_problem_handlers(app)
    app.add_exception_handler(BodyTooLarge, _too_large)
    document_problems(
        app, authenticated=lambda path: path.startswith("/v1") and not path.startswith(public_paths)
    )
    app.include_router(health_router(checks))
    if max_body_bytes is not None:
        app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(AccessLogMiddleware)  # inside the correlation scope: lines carry the id
    app.add_middleware(CorrelationIdMiddleware)  # even a 413 carries the id
    app.add_middleware(TracingMiddleware)  # outermost: the span covers everything


# How every service's uvicorn runs, and the benchmark's raw baselines with it (bench/), so a
# ratio compares the same server: libuv's event loop and the C HTTP parser (h11 and the
# pure-Python loop cost intake much of its time per request; issue 15).
LOOP: Final = "uvloop"
HTTP: Final = "httptools"


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run a service's HTTP app until SIGTERM, the same way for all four services. Logging is
    the service's (`configure_logging` first); uvicorn's raw access log stays off
    (`AccessLogMiddleware` logs instead); forwarded headers are believed only from
    `settings.trusted_proxies`."""
    proxies = settings.trusted_proxies
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        loop=LOOP,
        http=HTTP,
    )


def install_cors(
    app: FastAPI,
    origins: list[str],
    *,
    methods: tuple[str, ...] = ("GET", "POST"),
    allow_headers: tuple[str, ...] = (),
    expose_headers: tuple[str, ...] = (),
) -> None:
    """Let the officer console (another origin) call this API; add last, so it is outermost and
    a preflight is answered before auth or size limits. No origins configured = nothing added."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=list(methods),
        allow_headers=["Authorization", "Content-Type", "X-Correlation-ID", *allow_headers],
        expose_headers=["X-Correlation-ID", *expose_headers],
        max_age=600,
    )
