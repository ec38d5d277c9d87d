"""`Grouped`: what concurrent callers ask while a command is in flight shares the next one."""

from __future__ import annotations

import asyncio

import pytest

from sipuma.shared.grouped import Grouped
from tests.harness.state import eventually

pytestmark = pytest.mark.unit


async def test_callers_waiting_behind_a_command_share_the_next_one() -> None:
    batches: list[list[int]] = []
    release = asyncio.Event()

    async def run(items: list[int]) -> list[int | BaseException]:
        batches.append(items)
        await release.wait()
        return [ValueError(i) if i == 3 else i * 10 for i in items]

    grouped: Grouped[int, int] = Grouped(run)
    queued: list[int] = []

    async def caller(item: int) -> int:
        queued.append(item)
        return await grouped.add(item)  # queued before `add` first waits

    calls = [asyncio.create_task(caller(0))]
    await eventually("the first command in flight", lambda: batches)
    calls += [asyncio.create_task(caller(i)) for i in range(1, 5)]
    await eventually("four callers queued behind it", lambda: len(queued) == 5)
    release.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert batches == [[0], [1, 2, 3, 4]]
    assert results[:3] == [0, 10, 20] and results[4] == 40
    assert isinstance(results[3], ValueError)  # only that caller gets its item's error


async def test_an_error_of_the_whole_command_reaches_each_of_its_callers() -> None:
    async def run(items: list[int]) -> list[int | BaseException]:
        raise ConnectionError("store away")

    grouped: Grouped[int, int] = Grouped(run)
    results = await asyncio.gather(grouped.add(1), grouped.add(2), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)

    async def echo(items: list[int]) -> list[int | BaseException]:
        return list(items)

    assert await Grouped(echo).add(7) == 7
