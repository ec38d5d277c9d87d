"""The language request, and the per-provider rate limit."""

from __future__ import annotations

import asyncio
import time

import pytest

from sipuma.notifier.handlers import requested_language
from sipuma.notifier.ratelimit import RateLimiter

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"language": "en"}', "en"),
        (b'{"contact": {"email": "a@b.c", "language": "EN-gb"}}', "en"),
        (b'{"language": "id"}', "id"),
        (b'{"language": "fr"}', None),
        (b"{}", None),
        (b"not json", None),
        (b"[1, 2]", None),
    ],
)
def test_requested_language(body, expected):
    assert requested_language(body) == expected


async def test_rate_limiter_spaces_calls_after_the_burst():
    limiter = RateLimiter(rate_per_second=20, burst=2)
    started = time.monotonic()
    await asyncio.gather(*(limiter.acquire() for _ in range(8)))
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 2.0  # 2 at once, then 6 at 20/s = 0.3 s
