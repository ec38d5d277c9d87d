"""The per-provider rate limit."""

from __future__ import annotations

import asyncio
import time

import pytest

from sipuma.notifier.ratelimit import RateLimiter

pytestmark = pytest.mark.unit


async def test_rate_limiter_spaces_calls_after_the_burst():
    limiter = RateLimiter(rate_per_second=20, burst=2)
    started = time.monotonic()
    await asyncio.gather(*(limiter.acquire() for _ in range(8)))
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 2.0  # 2 at once, then 6 at 20/s = 0.3 s
