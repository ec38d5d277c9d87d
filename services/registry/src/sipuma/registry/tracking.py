"""Public tracking: `GET /v1/track/{ticket}` → the status timeline and dates, nothing else.

No name, contact, text or register number leaves here. An unknown and a malformed ticket get
the same 404 body, after the same work (an HMAC and a database lookup) and a common time floor,
so neither the answer nor its timing tells which it was. Requests are rate-limited per client.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

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


class RateLimiter:
    """Sliding window per client key, in memory (each replica limits on its own)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> int:
        """0 when allowed (and counted), else seconds until the next request may pass."""
        now = self.clock()
        window = self._seen.setdefault(key, deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(self._seen) > 100_000:  # bound memory under a spray of addresses
            self._seen = {key: window}
        if len(window) >= self.per_minute:
            return max(1, int(60 - (now - window[0])) + 1)
        window.append(now)
        return 0


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


def tracking_router(store: Store, key: bytes, limiter: RateLimiter, floor: float) -> APIRouter:
    router = APIRouter(tags=["pelacakan publik / public tracking"])

    @router.get(
        "/v1/track/{ticket}",
        response_model=Tracking,
        summary="Lacak pengaduan dengan nomor tiket / Track a complaint by ticket number",
        responses={404: {"description": "Tiket tidak dikenal / unknown ticket"}, 429: {}},
    )
    async def track(ticket: str, request: Request) -> Any:
        started = time.monotonic()
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
        answer: Any = None
        if canonical is not None and found is not None:
            complaint = await store.complaint_dates(found["complaint_id"])
            if complaint is not None:
                steps = timeline(
                    complaint,
                    await store.number_of(found["complaint_id"]),
                    await store.changes_of(found["complaint_id"]),
                )
                last = steps[-1]
                answer = Tracking.model_validate(
                    {"status": last["status"], "label": last["label"], "timeline": steps}
                )
        await asyncio.sleep(max(0.0, floor - (time.monotonic() - started)))
        if answer is None:
            return _problem(
                404,
                "ticket_unknown",
                "Nomor tiket tidak dikenal. Periksa kembali nomor tiket Anda.",
                "Unknown ticket number. Please check your ticket number.",
            )
        return answer

    return router
