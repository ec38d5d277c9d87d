"""Correlation ids: read or create `X-Correlation-ID` at the HTTP edge, carry it through every
event (`Event.correlation_id`) and every log line (structlog contextvars)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Correlation-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # same pattern as Event.correlation_id
_current: ContextVar[str | None] = ContextVar("sipuma_correlation_id", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def current_correlation_id() -> str:
    """The request's (or event's) correlation id; a fresh one outside any scope."""
    return _current.get() or new_correlation_id()


def usable(value: str | None) -> str:
    """A caller's id when it is safe to log and forward, otherwise a new one."""
    return value if value and _VALID.match(value) else new_correlation_id()


@contextmanager
def correlation_scope(correlation_id: str, **log_context: object) -> Iterator[str]:
    token = _current.set(correlation_id)
    # Tokens restore exactly what was bound before, as `bound_contextvars` does, without its
    # two copies of the whole context (once per consumed record: bench/consumer_counts.py).
    bound = structlog.contextvars.bind_contextvars(correlation_id=correlation_id, **log_context)
    try:
        yield correlation_id
    finally:
        structlog.contextvars.reset_contextvars(**bound)
        _current.reset(token)


class CorrelationIdMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware), so streaming uploads are not buffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(HEADER.lower().encode())
        correlation_id = usable(raw.decode("latin-1") if raw else None)
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((HEADER.lower().encode(), correlation_id.encode()))
                message["headers"] = headers
            await send(message)

        with correlation_scope(correlation_id):
            await self.app(scope, receive, send_with_header)
