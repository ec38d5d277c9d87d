"""Public tracking: `POST /v1/track` {ticket} → the status timeline and dates, nothing else.

No name, contact, text or register number leaves here. An unknown and a malformed ticket get
the same 404 body, after the same work (an HMAC and a database lookup) and a common time floor,
so neither the answer nor its timing tells which it was. Requests are rate-limited per client.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sipuma.registry import tickets
from sipuma.registry.store import Store
from sipuma.registry.views import timeline

NOT_A_TICKET = "0" * (tickets.DATA_SYMBOLS + 1)  # looked up when the input is malformed


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


class TrackingRateLimiter:
    """Public tracking requests per client address: a sliding one-minute window each, in memory
    (each replica limits on its own).

    At most `max_clients` addresses are remembered, least recently seen first out: addresses
    whose window is empty are forgotten as they age out, and only when more than `max_clients`
    addresses asked within one minute is the least recently seen one dropped — never the
    others, so rotating addresses cannot reset a client that keeps asking."""

    def __init__(
        self,
        per_minute: int,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.max_clients = max_clients
        self.clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def retry_after(self, key: str) -> int:
        """0 when allowed (and counted), else seconds until the next request may pass."""
        now = self.clock()
        start = now - 60
        window = self._seen.get(key)
        if window is None:
            window = self._seen[key] = deque()
        else:
            self._seen.move_to_end(key)
        while window and window[0] <= start:
            window.popleft()
        self._forget(start, keep=key)
        if len(window) >= self.per_minute:
            return max(1, int(60 - (now - window[0])) + 1)
        window.append(now)
        return 0

    def _forget(self, start: float, keep: str) -> None:
        """Drop idle addresses from the least recently seen end, then any beyond the bound;
        `keep` (the one asking now, the most recent) stays."""
        while len(self._seen) > 1:
            oldest, window = next(iter(self._seen.items()))
            if oldest == keep:
                return
            idle = not window or window[-1] <= start
            if not idle and len(self._seen) <= self.max_clients:
                return
            del self._seen[oldest]


def _problem(status: int, code: str, id_text: str, en_text: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"urn:sipuma:problem:{code}",
        "title": en_text,
        "status": status,
        "detail": id_text,
        "code": code,
        "messages": {"id": id_text, "en": en_text},
    }
    return JSONResponse(body, status, media_type="application/problem+json", **extra)


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
    store: Store, key: bytes, limiter: TrackingRateLimiter, floor: float
) -> APIRouter:
    """`POST /v1/track` takes the ticket in the body; `GET /v1/track/{ticket}` (deprecated, kept
    for links already sent) has it in the path. The ticket is a bearer secret: the access log
    shows route templates only, and nothing here logs it or echoes it."""
    router = APIRouter(tags=["pelacakan publik / public tracking"])

    async def answer(ticket: str, request: Request) -> Any:
        started = time.monotonic()
        # The peer address; uvicorn replaces it with the forwarded client only when the peer is
        # one of the configured trusted proxies (`SIPUMA_TRUSTED_PROXIES`, empty by default).
        client = request.client.host if request.client else "unknown"
        wait = limiter.retry_after(client)
        if wait:
            return _problem(
                429,
                "rate_limited",
                "Terlalu banyak permintaan. Coba lagi nanti.",
                "Too many requests. Try again later.",
                headers={"Retry-After": str(wait)},
            )
        canonical = tickets.parse(ticket[:64])
        found = await store.find_ticket(tickets.ticket_hash(key, canonical or NOT_A_TICKET))
        result: Any = None
        if canonical is not None and found is not None:
            complaint_id = found["complaint_id"]
            complaint = await store.complaint_dates(complaint_id)
            if complaint is not None:
                number, changes = await asyncio.gather(
                    store.number_of(complaint_id), store.changes_of(complaint_id)
                )
                steps = timeline(complaint, number, changes)
                last = steps[-1]
                result = Tracking.model_validate(
                    {"status": last["status"], "label": last["label"], "timeline": steps}
                )
        await asyncio.sleep(max(0.0, floor - (time.monotonic() - started)))
        if result is None:
            return _problem(
                404,
                "ticket_unknown",
                "Nomor tiket tidak dikenal. Periksa kembali nomor tiket Anda.",
                "Unknown ticket number. Please check your ticket number.",
            )
        return result

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
