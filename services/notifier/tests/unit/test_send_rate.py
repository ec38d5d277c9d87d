"""The per-provider rate limit, on an injected clock: the spacing is read from the clock the
limiter sees, never measured."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from sipuma.notifier.ratelimit import SendRateLimiter

pytestmark = pytest.mark.unit


class FakeClock:
    """Time that passes only when the limiter sleeps; every call is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_the_burst_goes_at_once_then_calls_are_spaced_at_the_rate():
    clock = FakeClock()
    limiter = SendRateLimiter(rate_per_second=20, burst=2, clock=clock, sleep=clock.sleep)
    granted: list[float] = []

    async def take() -> None:
        await limiter.acquire()
        granted.append(clock.now)

    await asyncio.gather(*(take() for _ in range(8)))
    start = 1000.0
    assert granted[:2] == [start, start], "the burst needs no wait"
    gaps = [round(b - a, 9) for a, b in itertools.pairwise(granted[1:])]
    assert gaps == [0.05] * 6, "then one call per 1/20 s"
    assert round(clock.now - start, 9) == 0.3


async def test_tokens_refill_with_idle_time_up_to_the_burst():
    clock = FakeClock()
    limiter = SendRateLimiter(rate_per_second=5, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await limiter.acquire()
    assert clock.sleeps == []
    clock.now += 60  # a long idle time refills only up to the burst
    for _ in range(3):
        await limiter.acquire()
    assert clock.sleeps == []
    await limiter.acquire()
    assert [round(s, 9) for s in clock.sleeps] == [0.2]
