"""Stopping tasks for sure: a task that loses a cancellation (as Python 3.11's `wait_for` can
make it) is cancelled again, and no stop waits past its deadline."""

from __future__ import annotations

import asyncio
import time

import pytest

from sipuma.shared.tasks import bounded, cancel_and_wait, every

pytestmark = pytest.mark.unit


async def _swallows(times: int | list[int], ended: list[bool]) -> None:
    limit = times if isinstance(times, list) else [times]
    swallowed = 0
    try:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed > limit[0]:
                    raise
    finally:
        ended.append(True)


async def test_a_task_that_swallows_cancellations_is_cancelled_again() -> None:
    ended: list[bool] = []
    task = asyncio.create_task(_swallows(2, ended))
    await asyncio.sleep(0)
    assert await cancel_and_wait(task, interval_s=0.01)
    assert ended == [True] and task.cancelled()


async def test_a_task_that_never_ends_is_left_after_the_patience() -> None:
    ended: list[bool] = []
    limit = [10**9]
    task = asyncio.create_task(_swallows(limit, ended), name="stubborn")
    await asyncio.sleep(0)
    started = time.monotonic()
    assert not await cancel_and_wait(task, patience_s=0.2, interval_s=0.05)
    assert time.monotonic() - started < 2
    assert not task.done()
    limit[0] = 0  # let it go, so the test leaves nothing running
    assert await cancel_and_wait(task)


async def test_bounded_answers_whether_the_work_ended_by_itself() -> None:
    async def fails() -> None:
        raise RuntimeError("a client's stop failed")

    assert await bounded(asyncio.sleep(0.01), timeout_s=5)
    assert await bounded(fails(), timeout_s=5)  # errors are dropped at a stop
    ended: list[bool] = []
    started = time.monotonic()
    assert not await bounded(_swallows(1, ended), timeout_s=0.1)
    assert time.monotonic() - started < 5 and ended == [True]


class _Logger:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def exception(self, event: str) -> None:
        self.failures.append(event)


async def test_every_outlives_a_failing_pass_and_ends_at_stop() -> None:
    stop, logger = asyncio.Event(), _Logger()
    passes: list[int] = []

    async def work() -> None:
        passes.append(len(passes) + 1)
        if len(passes) == 1:
            raise ConnectionError("store away")
        if len(passes) == 3:
            stop.set()

    await every(0, stop, work, failed="job_failed", logger=logger)
    assert passes == [1, 2, 3]
    assert logger.failures == ["job_failed"]
