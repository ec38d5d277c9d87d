"""Per-provider send rate limit: an asyncio token bucket shared by every task of one process.

Providers throttle (SMTP relays per minute, SMS gateways per second, often billed per burst). The
limit is per process; with several replicas set each one's rate to the provider's limit divided by
the replica count. Waiting happens *before* a delivery is claimed, so a queued send never holds a
lease and a crash while waiting cannot leave an "unknown outcome" behind.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class SendRateLimiter:
    """`clock` and `sleep` are injectable so tests check the spacing without measuring time."""

    def __init__(
        self,
        rate_per_second: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.rate = rate_per_second
        self.capacity = burst if burst is not None else max(1.0, rate_per_second)
        self._clock, self._sleep = clock, sleep
        self._tokens = self.capacity
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self) -> None:
        async with self._lock:  # FIFO: waiters are served in arrival order
            self._refill()
            if self._tokens < 1:
                await self._sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1
