"""MinIO adapter behind `ports.ObjectStorage`: streamed multipart uploads hashed on the way,
sealing, presigned downloads.

The `minio` client is synchronous. `put_stream` runs `put_object(length=-1 or N, part_size=P)` in a
worker thread and feeds it from the async request stream through a bounded hand-over (`_Feed`):
at most `queue_blocks` blocks wait, and the client holds one part, so memory stays
O(part_size + queue_blocks × block) whatever the file size. The SHA-256 is computed in the worker
thread while the client reads. When the stream fails (client gone, too large) the feed raises
inside the client, which aborts its multipart upload; `put_stream` waits for that before answering.
"""

from __future__ import annotations

import asyncio
import hashlib
import queue
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO, cast
from urllib.parse import quote

import structlog
import urllib3
from minio import Minio
from minio.commonconfig import ENABLED, GOVERNANCE, Tags
from minio.error import MinioException, S3Error
from minio.retention import Retention
from minio.sseconfig import Rule, SSEConfig
from minio.versioningconfig import VersioningConfig

from sipuma.evidence.domain import StorageUnavailable
from sipuma.evidence.ports import Stored
from sipuma.evidence.settings import EvidenceSettings


class StreamAborted(Exception):
    """Raised inside the upload thread when the request stream ended badly."""


@dataclass(frozen=True)
class BucketState:
    versioning: bool
    object_lock: bool
    encrypted: bool = False  # a default server-side encryption rule is set on the bucket


_EOF = object()
_ALREADY_THERE = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
log = structlog.get_logger("sipuma.evidence.storage")


class _Feed:
    """File-like object the minio client reads from, filled from the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_blocks: int) -> None:
        self._loop = loop
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._room = asyncio.Semaphore(max_blocks)
        self._pending = b""
        self._done = False
        self.sha256 = hashlib.sha256()
        self.size = 0

    # -- event-loop side
    async def put(self, block: bytes, upload: asyncio.Future[Any]) -> None:
        acquire = asyncio.ensure_future(self._room.acquire())
        done, _ = await asyncio.wait({acquire, upload}, return_when=asyncio.FIRST_COMPLETED)
        if acquire not in done:
            acquire.cancel()
            await upload  # raises the upload's error
            raise StorageUnavailable("upload ended before the stream")
        self._queue.put(block)

    def finish(self) -> None:
        self._queue.put(_EOF)

    def abort(self, reason: BaseException) -> None:
        self._queue.put(StreamAborted(type(reason).__name__))

    # -- worker-thread side (called by the minio client)
    def read(self, size: int = -1) -> bytes:
        pieces: list[bytes] = []
        wanted = size if size >= 0 else 1 << 62
        have = 0
        while have < wanted and not self._done:
            if not self._pending:
                item = self._queue.get()
                if item is _EOF:
                    self._done = True
                    break
                if isinstance(item, StreamAborted):
                    raise item
                self._loop.call_soon_threadsafe(self._room.release)
                self._pending = item
            take = self._pending[: wanted - have]
            self._pending = self._pending[len(take) :]
            self.sha256.update(take)
            pieces.append(take)
            have += len(take)
        self.size += have
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


class EvidenceStorage:
    def __init__(self, settings: EvidenceSettings) -> None:
        self._s = settings
        self.bucket = settings.bucket
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(
                connect=min(3.0, settings.s3_timeout_s), read=settings.s3_timeout_s
            ),
            retries=urllib3.Retry(
                total=settings.s3_retries,
                backoff_factor=0.2,
                status_forcelist=[500, 502, 503, 504],
            ),
            maxsize=16,
        )
        secret = settings.s3_secret_key.get_secret_value()
        self.client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=secret,
            secure=settings.s3_secure,
            region=settings.s3_region,
            http_client=http,
        )
        public = settings.s3_public_endpoint
        self._presigner = (
            Minio(
                public,
                access_key=settings.s3_access_key,
                secret_key=secret,
                secure=settings.s3_secure
                if settings.s3_public_secure is None
                else settings.s3_public_secure,
                region=settings.s3_region,
            )
            if public
            else self.client
        )
        self._state: BucketState | None = None
        self._lock = asyncio.Lock()

    @property
    def presign_ttl_s(self) -> int:
        return self._s.presign_ttl_s

    @property
    def state(self) -> BucketState | None:
        return self._state

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageUnavailable(type(exc).__name__) from exc

    async def ensure_bucket(self) -> BucketState:
        """Create the bucket (with object lock when possible) and turn versioning on, once."""
        if self._state is not None:
            return self._state
        async with self._lock:
            if self._state is None:
                self._state = await self._call(self._ensure_bucket_sync)
        return self._state

    def _ensure_bucket_sync(self) -> BucketState:
        client = self.client
        if not client.bucket_exists(self.bucket):
            try:
                client.make_bucket(self.bucket, object_lock=self._s.object_lock)
            except S3Error as exc:
                if exc.code in _ALREADY_THERE:
                    pass  # another replica made it a moment ago
                elif self._s.object_lock:
                    log.warning("object_lock_unsupported", code=exc.code)
                    client.make_bucket(self.bucket)  # this server cannot lock: versioning only
                else:
                    raise
        client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
        try:
            lock = client.get_object_lock_config(self.bucket) is not None
        except S3Error:
            lock = False  # "ObjectLockConfigurationNotFoundError": a bucket without lock
        return BucketState(versioning=True, object_lock=lock, encrypted=self._encrypt_bucket())

    def _encrypt_bucket(self) -> bool:
        """Default encryption for every object written from now on (SSE with the KMS)."""
        mode = self._s.s3_encryption
        if mode == "off":
            return False
        key = self._s.s3_kms_key_id
        rule = Rule.new_sse_kms_rule(key) if key else Rule.new_sse_s3_rule()
        try:
            self.client.set_bucket_encryption(self.bucket, SSEConfig(rule))
        except S3Error as exc:
            if mode == "required":
                raise
            log.warning("bucket_encryption_unavailable", code=exc.code)
            return False
        return True

    async def ping(self) -> bool:
        try:
            await self._call(self.client.bucket_exists, self.bucket)
        except StorageUnavailable:
            return False
        return True

    async def put_stream(
        self,
        key: str,
        blocks: AsyncIterator[bytes],
        *,
        length: int | None,
        content_type: str,
        metadata: dict[str, str],
    ) -> Stored:
        """Stream `blocks` into `key`; on any failure nothing is left (no object, no parts)."""
        loop = asyncio.get_running_loop()
        feed = _Feed(loop, self._s.queue_blocks)
        headers: dict[str, str | list[str] | tuple[str]] = {**metadata}  # minio's `DictType`
        upload: asyncio.Future[Any] = asyncio.ensure_future(
            asyncio.to_thread(
                self.client.put_object,
                self.bucket,
                key,
                cast(BinaryIO, feed),
                length if length is not None else -1,
                content_type=content_type,
                metadata=headers,
                part_size=self._s.part_size_bytes,
                num_parallel_uploads=1,
            )
        )
        try:
            async for block in blocks:
                await feed.put(block, upload)
            feed.finish()
            result = await asyncio.shield(upload)
        except BaseException as exc:
            feed.abort(exc)
            # Let the client abort its multipart upload before anyone is answered.
            await asyncio.gather(asyncio.shield(upload), return_exceptions=True)
            if isinstance(exc, MinioException | urllib3.exceptions.HTTPError | OSError):
                raise StorageUnavailable(type(exc).__name__) from exc
            raise
        return Stored(result.version_id, feed.size, feed.sha256.hexdigest(), result.etag)

    def retention_until(self, now: datetime) -> datetime | None:
        """The retention date an object stored `now` gets; None when the bucket cannot lock."""
        state = self._state
        if state is None or not state.object_lock:
            return None
        return (now + timedelta(days=self._s.retention_days)).replace(microsecond=0)

    async def seal(
        self, key: str, version_id: str | None, sha256: str, until: datetime | None
    ) -> None:
        """Record the hash as object tags and, when `until` is given, the retention date.
        Idempotent: sealing again sets the same tag and date."""
        tags = Tags.new_object_tags()
        tags["sha256"] = sha256
        await self._call(self.client.set_object_tags, self.bucket, key, tags, version_id=version_id)
        if until is None:
            return
        mode = GOVERNANCE if self._s.retention_mode == "GOVERNANCE" else "COMPLIANCE"
        await self._call(
            self.client.set_object_retention,
            self.bucket,
            key,
            Retention(mode, until),
            version_id=version_id,
        )

    async def remove(self, key: str, version_id: str | None) -> None:
        await self._call(self.client.remove_object, self.bucket, key, version_id=version_id)

    def download_url(
        self, key: str, version_id: str | None, filename: str, content_type: str
    ) -> str:
        """Short-lived link served as an attachment, never inline."""
        ascii_name = (
            filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
        )
        disposition = (
            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
        )
        return self._presigner.presigned_get_object(
            self.bucket,
            key,
            expires=timedelta(seconds=self._s.presign_ttl_s),
            response_headers={
                "response-content-disposition": disposition,
                "response-content-type": content_type,
            },
            version_id=version_id,
        )
