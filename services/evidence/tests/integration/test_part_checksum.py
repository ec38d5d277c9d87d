"""How MinIO checks the bytes of each part (README "Integrity of the stored object"): by default
a part carries an `x-amz-checksum-crc32` and is signed as UNSIGNED-PAYLOAD, so the only SHA-256
over the file is the evidence hash; MinIO refuses a part whose bytes do not match, and then
nothing is left. `s3_payload_check="signed"` keeps minio-py's signed SHA-256 of each part."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from typing import Any

import minio.helpers
import pytest

from services.evidence.tests.support import remove_everything, settings_for
from sipuma.evidence.domain import StorageUnavailable
from sipuma.evidence.storage import EvidenceStorage

pytestmark = pytest.mark.integration
MiB = 1024 * 1024
DATA = os.urandom(11 * MiB)  # three parts of 5 MiB (the last one short)


async def body() -> AsyncIterator[bytes]:
    for at in range(0, len(DATA), MiB):
        yield DATA[at : at + MiB]


def large_hashes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the bodies minio-py hashes for its signature (counted from 1 MiB on)."""
    seen: list[int] = []
    real = minio.helpers.sha256_hash

    def spy(data: Any) -> str:
        if data is not None and len(data) >= MiB:
            seen.append(len(data))
        return real(data)

    monkeypatch.setattr("minio.api.sha256_hash", spy)  # the name minio.api calls
    return seen


def incomplete_uploads(storage: EvidenceStorage, key: str) -> list[Any]:
    result = storage.client._list_multipart_uploads(storage.bucket, prefix=key)
    return list(result.uploads)


@pytest.mark.parametrize("check", ["crc32", "signed"])
async def test_parts_reach_minio_checked_and_whole(
    endpoints: Any, unique_name: Any, monkeypatch: pytest.MonkeyPatch, check: str
) -> None:
    settings = settings_for(endpoints, unique_name("evck"), s3_payload_check=check)
    storage = EvidenceStorage(settings)
    hashed = large_hashes(monkeypatch)
    try:
        await storage.ensure_bucket()
        stored = await storage.put_stream(
            "c/e", body(), length=len(DATA), content_type="video/mp4", metadata={}
        )
        assert stored.sha256 == hashlib.sha256(DATA).hexdigest()
        assert stored.size == len(DATA)
        answer = await asyncio.to_thread(storage.client.get_object, storage.bucket, "c/e")
        try:
            assert answer.read() == DATA
        finally:
            answer.close()
            answer.release_conn()
        # crc32: no part hashed for the signature; signed: each of the three parts once
        assert hashed == ([] if check == "crc32" else [5 * MiB, 5 * MiB, MiB])
    finally:
        await remove_everything(settings)


async def test_a_part_whose_bytes_do_not_match_is_refused_and_nothing_is_left(
    endpoints: Any, unique_name: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(endpoints, unique_name("evck"))
    storage = EvidenceStorage(settings)
    real = storage._payload_headers
    second = DATA[5 * MiB : 10 * MiB]

    def corrupt_second(data: memoryview) -> Any:
        # As if the second part's bytes had changed on the way: its checksum says otherwise.
        return real(data[1:] if data == second else data)

    monkeypatch.setattr(storage, "_payload_headers", corrupt_second)
    try:
        await storage.ensure_bucket()
        with pytest.raises(StorageUnavailable):
            await storage.put_stream(
                "c/bad", body(), length=len(DATA), content_type="video/mp4", metadata={}
            )
        objects = await asyncio.to_thread(
            lambda: list(storage.client.list_objects(storage.bucket, recursive=True))
        )
        assert objects == []
        assert await asyncio.to_thread(incomplete_uploads, storage, "c/bad") == []
    finally:
        await remove_everything(settings)


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_reused_part_buffers_never_mix_parts(
    endpoints: Any, unique_name: Any, concurrency: int
) -> None:
    # Nine parts through at most five buffers: every buffer is refilled, and the object must
    # still be the file byte for byte (a buffer refilled while its part was still being sent
    # or hashed would show here).
    settings = settings_for(endpoints, unique_name("evbuf"), upload_concurrency=concurrency)
    storage = EvidenceStorage(settings)
    data = os.urandom(43 * MiB)

    async def chunks() -> AsyncIterator[bytes]:
        for at in range(0, len(data), 300_000):  # chunks that straddle the parts
            yield data[at : at + 300_000]

    try:
        await storage.ensure_bucket()
        stored = await storage.put_stream(
            "c/reuse", chunks(), length=None, content_type="video/mp4", metadata={}
        )
        assert (stored.size, stored.sha256) == (len(data), hashlib.sha256(data).hexdigest())
        answer = await asyncio.to_thread(storage.client.get_object, storage.bucket, "c/reuse")
        try:
            assert hashlib.sha256(answer.read()).hexdigest() == stored.sha256
        finally:
            answer.close()
            answer.release_conn()
    finally:
        await remove_everything(settings)
