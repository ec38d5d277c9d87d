"""The request stream cut into multipart parts: exact sizes, nothing lost, nothing held back,
each part's buffer reused once it is given back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import pytest

from sipuma.evidence.storage import _Buffers, _parts

pytestmark = pytest.mark.unit


async def _stream(blocks: list[bytes]) -> AsyncIterator[bytes]:
    for block in blocks:
        yield block


async def _cut(blocks: list[bytes], size: int) -> list[bytes]:
    # A copy of each part as it comes: nothing is given back, so no buffer is reused.
    return [bytes(part.data) async for part in _parts(_stream(blocks), _Buffers(size, 2))]


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


async def test_parts_are_copies_not_views_of_the_blocks() -> None:
    block = bytearray(b"a" * 3000)
    parts = [part async for part in _parts(_stream([cast(bytes, block)]), _Buffers(2500, 2))]
    block[:] = b"b" * 3000  # the client's buffer changes after it was read
    assert [bytes(p.data) for p in parts] == [b"a" * 2500, b"a" * 500]


async def test_a_buffer_given_back_is_filled_again_and_only_then() -> None:
    buffers = _Buffers(4, keep=1)
    seen: list[tuple[int, bytes]] = []
    async for part in _parts(_stream([b"aaaabbbbccccdd"]), buffers):
        seen.append((id(part.buffer), bytes(part.data)))
        buffers.give(part.buffer)  # uploaded and hashed: the next part may reuse it
    assert [data for _, data in seen] == [b"aaaa", b"bbbb", b"cccc", b"dd"]
    assert len({ident for ident, _ in seen}) == 1


async def test_buffers_kept_are_bounded() -> None:
    buffers = _Buffers(4, keep=2)
    held = [buffers.take() for _ in range(5)]
    for buffer in held:
        buffers.give(buffer)
    assert len({id(buffers.take()) for _ in range(3)} & {id(b) for b in held}) == 2


async def test_a_file_smaller_than_a_part_gets_a_buffer_of_its_size() -> None:
    parts = [part async for part in _parts(_stream([b"abc", b"de"]), _Buffers(2500, 2), 5)]
    assert [(len(p.buffer), bytes(p.data)) for p in parts] == [(5, b"abcde")]


@pytest.mark.parametrize("said", [0, 3, 2600])
async def test_a_stream_longer_than_its_length_is_still_cut_whole(said: int) -> None:
    data = bytes(range(256)) * 40
    blocks = [data[i : i + 700] for i in range(0, len(data), 700)]
    buffers = _Buffers(2500, 2)
    parts = [bytes(p.data) async for p in _parts(_stream(blocks), buffers, said)]
    assert b"".join(parts) == data
    assert [len(p) for p in parts] == [2500, 2500, 2500, 2500, 240]
    short = [p async for p in _parts(_stream([b"x" * 10]), buffers, 4)]
    buffers.give(short[0].buffer)  # a buffer that is not part-sized is not kept
    assert len(buffers.take()) == 2500
