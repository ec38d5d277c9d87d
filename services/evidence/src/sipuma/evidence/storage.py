"""MinIO adapter behind `ports.ObjectStorage`: streamed multipart uploads hashed on the way,
sealing, presigned downloads.

`put_stream` cuts the async request stream into parts of `part_size` bytes and uploads up to
`upload_concurrency` of them at once, each in a worker thread (the `minio` client is
synchronous; its own parallel `put_object` leaves its worker threads behind when an upload fails
and lets parts race the abort, so the multipart steps are driven here). The reader waits for a
free slot before it reads further, so memory stays O((upload_concurrency + 2) x part_size)
whatever the file size; each byte is copied once, into a part buffer reused within the
upload. The SHA-256 is computed part by part in a worker thread (hashlib lets go of the GIL),
beside the uploads. With `s3_payload_check="crc32"` (the default) a part is sent as
`UNSIGNED-PAYLOAD` with an `x-amz-checksum-crc32` that MinIO checks before it keeps the part,
instead of minio-py's SigV4 SHA-256 of every part over plain HTTP (MD5 over HTTPS): one
SHA-256 over every byte (the evidence hash) instead of two; why that proves as much, README
"Integrity of the stored object". When the stream fails (client gone, too large) or a part fails,
the parts in flight are awaited and then the multipart upload is aborted, before anyone is
answered: nothing is left.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import quote

import structlog
import urllib3
from isal import isal_zlib
from minio import Minio
from minio.commonconfig import ENABLED, GOVERNANCE, Tags
from minio.credentials.credentials import Credentials
from minio.datatypes import Part
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error
from minio.helpers import DictType, genheaders
from minio.retention import Retention
from minio.sseconfig import Rule, SSEConfig
from minio.versioningconfig import VersioningConfig

from sipuma.evidence.domain import StorageUnavailable
from sipuma.evidence.ports import Stored
from sipuma.evidence.settings import EvidenceSettings


@dataclass(frozen=True)
class BucketState:
    versioning: bool
    object_lock: bool
    encrypted: bool = False  # a default server-side encryption rule is set on the bucket


_ALREADY_THERE = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
log = structlog.get_logger("sipuma.evidence.storage")
UNSIGNED = "UNSIGNED-PAYLOAD"
CONTENT_SHA256 = "x-amz-content-sha256"


class _Client(Minio):
    """minio-py hashes every body it signs (SHA-256 over HTTP, MD5 over HTTPS) and offers no
    switch; a request that already says `x-amz-content-sha256: UNSIGNED-PAYLOAD` (a part that
    carries its own CRC32 checksum, `_payload_headers`) is signed without hashing its body."""

    def _build_headers(
        self,
        host: str,
        headers: DictType | None = None,
        body: bytes | None = None,
        creds: Credentials | None = None,
    ) -> tuple[DictType, datetime]:
        if not headers or headers.get(CONTENT_SHA256) != UNSIGNED:
            return super()._build_headers(host, headers, body, creds)
        built, date = super()._build_headers(host, headers, None, creds)  # no body: no hash
        built["Content-Length"] = str(len(body or b""))
        built[CONTENT_SHA256] = UNSIGNED
        return built, date


@dataclass
class _Part:
    """One part: `data`, a view of `buffer` (the last part shorter), and its SHA-256 step."""

    buffer: bytearray
    data: memoryview
    hashed: asyncio.Future[None] | None = None


class _Buffers:
    """Part-sized buffers reused within one upload. A new 5 MiB object per part cost an mmap,
    ~1,300 page faults (the kernel zeroing every page) and a munmap each time: the join that
    made each part took three times as long as the same copy into memory already touched
    (issue 15). A buffer comes back only once its upload and its hash have both ended well."""

    def __init__(self, size: int, keep: int) -> None:
        self.size, self._keep, self._free = size, keep, list[bytearray]()

    def take(self) -> bytearray:
        return self._free.pop() if self._free else bytearray(self.size)

    def give(self, buffer: bytearray) -> None:
        if len(buffer) == self.size and len(self._free) < self._keep:
            self._free.append(buffer)


async def _parts(
    blocks: AsyncIterator[bytes], buffers: _Buffers, length: int | None = None
) -> AsyncIterator[_Part]:
    """The stream again in parts of exactly `buffers.size` bytes, the last one shorter (one
    empty part for an empty stream). Each byte is copied once, from the block it came in
    straight into its part's buffer (issue 15: before, blocks were first regrouped into 1 MiB
    and then joined into a new part, two copies). A stream said to be shorter than a part
    (`length`, its Content-Length) gets a buffer of its own size: a photo does not cost a part."""
    size = buffers.size
    buffer = bytearray(length) if length is not None and length < size else buffers.take()
    into, held, cut = memoryview(buffer), 0, False
    async for block in blocks:
        rest = memoryview(block)
        while rest:
            if held == len(buffer):  # longer than said (a short first buffer only): a whole one
                buffer = buffers.take()
                buffer[:held] = into
                into = memoryview(buffer)
            n = min(len(rest), len(buffer) - held)
            into[held : held + n] = rest[:n]
            held += n
            rest = rest[n:]
            if held == size:
                yield _Part(buffer, into)
                buffer = buffers.take()
                into, held, cut = memoryview(buffer), 0, True
    if held or not cut:
        yield _Part(buffer, into[:held])
    else:
        buffers.give(buffer)


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
        self.client = _Client(
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

    def _payload_headers(self, data: bytes | memoryview) -> DictType:
        """How MinIO checks a part's bytes: its CRC32 (ISA-L's, ~5x zlib's speed here and the same
        checksum), or, with `s3_payload_check="signed"`, minio-py's signed SHA-256."""
        if self._s.s3_payload_check == "signed":
            return {}
        crc = base64.b64encode(isal_zlib.crc32(data).to_bytes(4, "big")).decode()
        return {CONTENT_SHA256: UNSIGNED, "x-amz-checksum-crc32": crc}

    def _put_sync(self, key: str, data: memoryview, headers: DictType) -> Any:
        body = cast(bytes, data)  # minio-py's hints say bytes; any buffer goes to the socket
        return self.client._put_object(
            self.bucket, key, body, {**headers, **self._payload_headers(data)}
        )

    def _part_sync(self, key: str, data: memoryview, upload_id: str, number: int) -> str:
        body = cast(bytes, data)
        return self.client._upload_part(
            self.bucket, key, body, self._payload_headers(data), upload_id, number
        )

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
        """Stream `blocks` into `key`; on any failure nothing is left (no object, no parts).
        The parts are cut as they come; `length` (when the client sent one) only sizes the
        buffer of a file smaller than a part."""
        sha256, size = hashlib.sha256(), 0
        buffers = _Buffers(self._s.part_size_bytes, self._s.upload_concurrency + 2)

        async def hashed() -> AsyncIterator[_Part]:
            # Each part is hashed in a worker thread while the next one is read (hashlib lets go
            # of the GIL): the parts are hashed in order, one at a time, and the stream only
            # waits for a hash when the next part is ready before it.
            nonlocal size
            hashing: asyncio.Future[None] | None = None
            async for part in _parts(blocks, buffers, length):
                if hashing is not None:
                    await hashing
                hashing = part.hashed = asyncio.ensure_future(
                    asyncio.to_thread(sha256.update, part.data)
                )
                size += len(part.data)
                yield part
            if hashing is not None:
                await hashing

        parts = hashed()
        headers = genheaders(cast(DictType, dict(metadata)), None, None, None, False)
        headers["Content-Type"] = content_type
        first = await anext(parts)
        second = await anext(parts, None)
        try:
            if second is None:  # one part: a plain PUT
                result = await asyncio.to_thread(self._put_sync, key, first.data, headers)
            else:
                result = await self._multipart(key, headers, buffers, first, second, parts)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageUnavailable(type(exc).__name__) from exc
        return Stored(result.version_id, size, sha256.hexdigest(), result.etag or "")

    async def _multipart(
        self,
        key: str,
        headers: DictType,
        buffers: _Buffers,
        first: _Part,
        second: _Part,
        rest: AsyncIterator[_Part],
    ) -> Any:
        client, bucket = self.client, self.bucket
        upload_id: str = await asyncio.to_thread(
            client._create_multipart_upload, bucket, key, headers
        )
        slots = asyncio.Semaphore(self._s.upload_concurrency)
        etags: dict[int, str] = {}
        sending: set[asyncio.Task[None]] = set()

        async def send(number: int, part: _Part) -> None:
            try:
                etags[number] = await asyncio.to_thread(
                    self._part_sync, key, part.data, upload_id, number
                )
                if part.hashed is not None:
                    await part.hashed
                # Only now is no thread reading it: a part that failed keeps its buffer.
                buffers.give(part.buffer)
            finally:
                slots.release()

        try:
            number = 0
            part_or_none: _Part | None = first
            following: _Part | None = second
            while part_or_none is not None:
                await slots.acquire()  # no more than upload_concurrency parts in memory
                for failed in [t for t in sending if t.done() and t.exception() is not None]:
                    raise cast(BaseException, failed.exception())
                number += 1
                sending.add(asyncio.create_task(send(number, part_or_none)))
                part_or_none, next_one = following, None
                if part_or_none is not None:
                    next_one = await anext(rest, None)
                following = next_one
            await asyncio.gather(*sending)
            ordered = [Part(n, etags[n]) for n in sorted(etags)]
            return await asyncio.to_thread(
                client._complete_multipart_upload, bucket, key, upload_id, ordered
            )
        except BaseException:
            # Let every part in flight end, then abort: no part can land after the abort.
            await asyncio.shield(self._abort(key, upload_id, sending))
            raise

    async def _abort(self, key: str, upload_id: str, sending: set[asyncio.Task[None]]) -> None:
        await asyncio.gather(*sending, return_exceptions=True)
        try:
            await asyncio.to_thread(
                self.client._abort_multipart_upload, self.bucket, key, upload_id
            )
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            log.warning("multipart_abort_failed", error=type(exc).__name__)

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

    async def erase(self, key: str, version_id: str | None) -> bool:
        """Erasure of an identity document: delete that version for good, past a GOVERNANCE
        retention (this service's key may bypass it); COMPLIANCE retention cannot be bypassed
        by anyone, so the object stays until its retention ends (False)."""

        def delete() -> list[Any]:
            target = [DeleteObject(key, version_id)]
            return list(
                self.client.remove_objects(self.bucket, target, bypass_governance_mode=True)
            )

        errors = await self._call(delete)
        return not errors

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
