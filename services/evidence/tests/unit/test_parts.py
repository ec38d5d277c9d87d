"""The request stream cut into multipart parts: exact sizes, nothing lost, nothing held back."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sipuma.evidence.storage import _parts

pytestmark = pytest.mark.unit


async def _stream(blocks: list[bytes]) -> AsyncIterator[bytes]:
    for block in blocks:
        yield block


async def _cut(blocks: list[bytes], size: int) -> list[bytes]:
    return [part async for part in _parts(_stream(blocks), size)]


@pytest.mark.parametrize("block", [1, 7, 1000, 2500, 4000])
async def test_parts_are_whole_and_in_order(block: int) -> None:
    data = bytes(range(256)) * 40  # 10,240 bytes
    blocks = [data[i : i + block] for i in range(0, len(data), block)]
    parts = await _cut(blocks, 2500)
    assert b"".join(parts) == data
    assert [len(p) for p in parts] == [2500, 2500, 2500, 2500, 240]


async def test_an_exact_multiple_ends_without_an_empty_part() -> None:
    assert [len(p) for p in await _cut([b"x" * 5000], 2500)] == [2500, 2500]


async def test_an_empty_stream_is_one_empty_part() -> None:
    assert await _cut([], 2500) == [b""]
    assert await _cut([b""], 2500) == [b""]


async def test_a_block_larger_than_several_parts_is_cut_across_them() -> None:
    data = bytes(range(256)) * 40
    blocks = [data[:3], data[3:9000], data[9000:]]  # the middle block spans three parts
    parts = await _cut(blocks, 2500)
    assert b"".join(parts) == data
    assert [len(p) for p in parts] == [2500, 2500, 2500, 2500, 240]
    assert all(type(p) is bytes for p in parts), "parts are bytes, not views of the blocks"
