"""MinIO adapter behind `ports.ObjectStorage`: streamed multipart uploads hashed on the way,
sealing, presigned downloads.

`put_stream` cuts the async request stream into parts of `part_size` bytes and uploads up to
`upload_concurrency` of them at once, each in a worker thread (the `minio` client is
synchronous; its own parallel `put_object` leaves its worker threads behind when an upload fails
and lets parts race the abort, so the multipart steps are driven here). The reader waits for a
free slot before it reads further, so memory stays O((upload_concurrency + 2) x part_size)
whatever the file size. The SHA-256 is computed part by part in a worker thread (hashlib lets go
of the GIL), beside the uploads. With `s3_payload_check="crc32"` (the default) a part is sent as
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
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import quote

import structlog
import urllib3
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


async def _parts(blocks: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """The stream again in parts of exactly `size` bytes, the last one shorter (one empty part
    for an empty stream). Each byte is copied once, by the join that makes its part (the blocks
    are held as they came, a block that straddles two parts as views of it): a buffer that
    grows and is then cut copied every byte twice (issue 15)."""
    pieces: list[bytes | memoryview] = []
    held, cut = 0, False
    async for block in blocks:
        rest = memoryview(block)
        while len(rest) >= size - held:
            need = size - held
            pieces.append(rest[:need])
            rest = rest[need:]
            yield b"".join(pieces)
            pieces, held, cut = [], 0, True
        if rest:
            pieces.append(rest)
            held += len(rest)
    if pieces or not cut:
        yield b"".join(pieces)


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

    def _payload_headers(self, data: bytes) -> DictType:
        """How MinIO checks a part's bytes: its CRC32 (zlib lets go of the GIL; ~4x cheaper
        than SHA-256 here), or, with `s3_payload_check="signed"`, minio-py's signed SHA-256."""
        if self._s.s3_payload_check == "signed":
            return {}
        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        return {CONTENT_SHA256: UNSIGNED, "x-amz-checksum-crc32": crc}

    def _put_sync(self, key: str, data: bytes, headers: DictType) -> Any:
        return self.client._put_object(
            self.bucket, key, data, {**headers, **self._payload_headers(data)}
        )

    def _part_sync(self, key: str, data: bytes, upload_id: str, number: int) -> str:
        return self.client._upload_part(
            self.bucket, key, data, self._payload_headers(data), upload_id, number
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
        `length` (when the client sent one) changes nothing here: the parts are cut as they
        come."""
        sha256, size = hashlib.sha256(), 0

        async def hashed() -> AsyncIterator[bytes]:
            # Each part is hashed in a worker thread while the next one is read (hashlib lets go
            # of the GIL): the parts are hashed in order, one at a time, and the stream only
            # waits for a hash when the next part is ready before it.
            nonlocal size
            hashing: asyncio.Future[None] | None = None
            async for part in _parts(blocks, self._s.part_size_bytes):
                if hashing is not None:
                    await hashing
                hashing = asyncio.ensure_future(asyncio.to_thread(sha256.update, part))
                size += len(part)
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
                result = await asyncio.to_thread(self._put_sync, key, first, headers)
            else:
                result = await self._multipart(key, headers, first, second, parts)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageUnavailable(type(exc).__name__) from exc
        return Stored(result.version_id, size, sha256.hexdigest(), result.etag or "")

    async def _multipart(
        self,
        key: str,
        headers: DictType,
        first: bytes,
        second: bytes,
        rest: AsyncIterator[bytes],
    ) -> Any:
        client, bucket = self.client, self.bucket
        upload_id: str = await asyncio.to_thread(
            client._create_multipart_upload, bucket, key, headers
        )
        slots = asyncio.Semaphore(self._s.upload_concurrency)
        etags: dict[int, str] = {}
        sending: set[asyncio.Task[None]] = set()

        async def send(number: int, data: bytes) -> None:
            try:
                etags[number] = await asyncio.to_thread(
                    self._part_sync, key, data, upload_id, number
                )
            finally:
                slots.release()

        try:
            number = 0
            part_or_none: bytes | None = first
            following: bytes | None = second
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
