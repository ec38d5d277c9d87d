"""Public tracking over HTTP: `POST /v1/track` {ticket} → the status timeline and dates, nothing
else.

No name, contact, text or register number leaves here. An unknown and a malformed ticket get
the same 404 body after the same work (`Queries.track`) and a common time floor, so neither the
answer nor its timing tells which it was. Requests are rate-limited per client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from sipuma.registry.problems import rate_limited
from sipuma.registry.queries import Queries
from sipuma.registry.rate_limit import TrackingRateLimiter
from sipuma.registry.views import COMMUNICATED


class Label(BaseModel):
    id: str
    en: str


class TimelineStep(BaseModel):
    status: str
    at: datetime
    label: Label


class Tracking(BaseModel):
    """Status tindak lanjut pengaduan / follow-up status of a complaint."""

    status: str
    label: Label
    timeline: list[TimelineStep]


class TicketLookup(BaseModel):
    """Nomor tiket di badan permintaan / the ticket number in the request body."""

    model_config = ConfigDict(extra="forbid")

    # Long enough for any way of writing a ticket (spaces, dashes); anything else that fits is
    # answered like an unknown ticket, so a malformed one is not told apart.
    ticket: str = Field(max_length=200, description="Nomor tiket / ticket number")


UNKNOWN_TICKET: dict[int | str, dict[str, Any]] = {
    404: {"description": "Tiket tidak dikenal / unknown ticket"},
    429: {},
}


def tracking_router(
    queries: Queries,
    limiter: TrackingRateLimiter,
    floor: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> APIRouter:
    """`POST /v1/track` takes the ticket in the body; `GET /v1/track/{ticket}` (deprecated, kept
    for links already sent) has it in the path. The ticket is a bearer secret: the access log
    shows route templates only, and nothing here logs it or echoes it."""
    router = APIRouter(tags=["pelacakan publik / public tracking"])

    async def answer(ticket: str, request: Request) -> Tracking:
        started = clock()
        # The peer address; uvicorn replaces it with the forwarded client only when the peer is
        # one of the configured trusted proxies (`SIPUMA_TRUSTED_PROXIES`, empty by default).
        client = request.client.host if request.client else "unknown"
        wait = limiter.retry_after(client)
        if wait:
            raise rate_limited(wait)
        try:
            steps = await queries.track(ticket)
        finally:  # found or not: the same floor (UnknownTicket becomes the 404 afterwards)
            await pause(max(0.0, floor - (clock() - started)))
        last = [s for s in steps if s["status"] not in COMMUNICATED.values()][-1]
        return Tracking.model_validate(
            {"status": last["status"], "label": last["label"], "timeline": steps}
        )

    @router.post(
        "/v1/track",
        response_model=Tracking,
        summary="Lacak pengaduan dengan nomor tiket / Track a complaint by ticket number",
        responses=UNKNOWN_TICKET,
    )
    async def track(body: TicketLookup, request: Request) -> Any:
        return await answer(body.ticket, request)

    @router.get(
        "/v1/track/{ticket}",
        response_model=Tracking,
        summary="Lacak (usang: tiket di alamat) / Track (deprecated: ticket in the URL)",
        description="Usang: gunakan `POST /v1/track`; alamat dapat tercatat di proksi dan "
        "riwayat peramban. / Deprecated: use `POST /v1/track`; a URL may be recorded by proxies "
        "and browser history.",
        deprecated=True,
        responses=UNKNOWN_TICKET,
    )
    async def track_by_path(ticket: str, request: Request) -> Any:
        return await answer(ticket, request)

    return router
