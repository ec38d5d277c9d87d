"""The hand-over between the async request stream and the minio client's worker thread."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from sipuma.evidence.storage import StreamAborted, _Feed

pytestmark = pytest.mark.unit


async def test_reads_whole_parts_hashes_and_stays_bounded() -> None:
    loop = asyncio.get_running_loop()
    feed = _Feed(loop, max_blocks=2)
    blocks = [bytes([i]) * 1000 for i in range(10)]
    parts: list[bytes] = []

    def reader() -> None:
        while part := feed.read(2500):
            parts.append(part)

    upload: asyncio.Future[Any] = asyncio.ensure_future(asyncio.to_thread(reader))
    for block in blocks:
        await feed.put(block, upload)
        assert feed._room._value >= 0  # never more than max_blocks waiting
    feed.finish()
    await upload
    whole = b"".join(blocks)
    assert [len(p) for p in parts] == [2500, 2500, 2500, 2500]
    assert b"".join(parts) == whole
    assert feed.size == len(whole)
    assert feed.sha256.hexdigest() == hashlib.sha256(whole).hexdigest()


async def test_abort_raises_inside_the_reader() -> None:
    loop = asyncio.get_running_loop()
    feed = _Feed(loop, max_blocks=2)

    def reader() -> None:
        while feed.read(10_000):
            pass

    upload: asyncio.Future[Any] = asyncio.ensure_future(asyncio.to_thread(reader))
    await feed.put(b"x" * 100, upload)
    feed.abort(ConnectionResetError())
    with pytest.raises(StreamAborted):
        await upload


async def test_a_failed_upload_stops_the_producer_instead_of_blocking_it() -> None:
    loop = asyncio.get_running_loop()
    feed = _Feed(loop, max_blocks=1)

    def failing_reader() -> None:
        raise OSError("minio went away")

    upload: asyncio.Future[Any] = asyncio.ensure_future(asyncio.to_thread(failing_reader))

    async def produce() -> None:
        for _ in range(5):  # the queue is full after one block; put must not hang
            await asyncio.wait_for(feed.put(b"y" * 10, upload), timeout=5)

    with pytest.raises(OSError, match="minio went away"):
        await produce()
