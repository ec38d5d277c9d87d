"""Evidence configuration from SIPUMA_* environment variables (12-factor)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from sipuma.evidence.domain import Limits
from sipuma.shared import topics
from sipuma.shared.payloads import EvidenceKind
from sipuma.shared.settings import StaffApiSettings, StoreSettings

MiB = 1024 * 1024
GiB = 1024 * MiB


class EvidenceSettings(StaffApiSettings, StoreSettings):
    service: str = "evidence"
    http_port: int = Field(8003, ge=1, le=65535)

    # MongoDB (own database): the complaints this service has heard of, evidence records, outbox
    mongo_database: str = "sipuma_evidence"

    # MinIO / S3
    s3_endpoint: str = "127.0.0.1:9000"  # host:port
    s3_access_key: str = "sipuma-dev"
    s3_secret_key: SecretStr = SecretStr("sipuma-dev-secret")
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    s3_public_endpoint: str | None = None  # host:port browsers reach, for presigned URLs
    s3_public_secure: bool | None = None
    s3_timeout_s: float = Field(10.0, gt=0)
    s3_retries: int = Field(1, ge=0, le=10)
    bucket: str = "sipuma-evidence"
    object_lock: bool = True  # asked for when the bucket is created; falls back if refused
    # Server-side encryption at rest (bucket default, set at start; docs/identity.md): SSE with
    # the server's KMS (MinIO: MINIO_KMS_SECRET_KEY or KES), under `s3_kms_key_id` if named.
    # "auto": asked for, a server without KMS is logged and tolerated (development only);
    # "required": a server that refuses it stops the start.
    s3_encryption: Literal["off", "auto", "required"] = "auto"
    s3_kms_key_id: str | None = None
    retention_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    retention_days: int = Field(3650, ge=1)
    # Multipart parts sent at once: memory is about (upload_concurrency + 2) x part_size (parts
    # in flight, the one read ahead and the one being filled; buffers reused within an upload),
    # see README "Performance".
    part_size_bytes: int = Field(8 * MiB, ge=5 * MiB)
    upload_concurrency: int = Field(3, ge=1, le=16)
    # How MinIO checks the bytes of each part it receives (README "Integrity of the stored
    # object"): "crc32" = x-amz-checksum-crc32, body not signed (one SHA-256 per byte: the
    # evidence hash); "signed" = minio-py's SigV4 SHA-256 of each part over plain HTTP (MD5 over
    # HTTPS), for a plain-HTTP path to MinIO that must also resist deliberate tampering.
    s3_payload_check: Literal["crc32", "signed"] = "crc32"
    presign_ttl_s: int = Field(300, ge=10, le=3600)

    # The registry's HTTP API: staff address complaints by register number; it answers which
    # complaint that is, under the caller's own token (SIPUMA_REGISTRY_URL).
    registry_url: str = "http://127.0.0.1:8002"
    registry_timeout_s: float = Field(5.0, gt=0, le=60)
    # limits
    max_scan_bytes: int = Field(100 * MiB, ge=1)
    max_soft_copy_bytes: int = Field(100 * MiB, ge=1)
    max_photo_bytes: int = Field(50 * MiB, ge=1)
    max_sound_bytes: int = Field(500 * MiB, ge=1)
    max_video_bytes: int = Field(2 * GiB, ge=1)
    max_other_bytes: int = Field(100 * MiB, ge=1)
    max_files_per_complaint: int = Field(100, ge=1)
    max_bytes_per_complaint: int = Field(10 * GiB, ge=1)
    complaint_wait_s: float = Field(3.0, ge=0, le=30)
    # Idempotency-Key answers: kept this long (TTL index), as intake keeps its own. A running
    # upload renews its hold on the key every third of the lease; a replica that died mid-upload
    # stops renewing, and a retry may take the key over after the lease.
    idempotency_ttl_s: float = Field(48 * 3600, gt=0)
    idempotency_lease_s: float = Field(30.0, ge=3)

    # Kafka (topic_prefix and the prefixed `group_id` come from the shared settings)
    consumer_group: str = "sipuma-evidence"
    # Complaint events per poll (one commit each poll; their upserts one bulk write), and how
    # long Kafka may hold a fetch to fill it: a poll per event cost a fetch, a bulk write and a
    # commit each (bench (p)); an upload waits `complaint_wait_s` for its complaint anyway.
    consumer_batch_size: int = Field(200, ge=1, le=10_000)
    consumer_fetch_wait_ms: int = Field(100, ge=0, le=1000)
    create_topics: bool = True
    outbox_interval_s: float = Field(5.0, gt=0)

    @property
    def topic_evidence_stored(self) -> str:
        return self.topic(topics.EVIDENCE_STORED)

    def limits(self) -> Limits:
        return Limits(
            per_kind={
                EvidenceKind.SCAN: self.max_scan_bytes,
                EvidenceKind.SOFT_COPY: self.max_soft_copy_bytes,
                EvidenceKind.PHOTO: self.max_photo_bytes,
                EvidenceKind.SOUND: self.max_sound_bytes,
                EvidenceKind.VIDEO: self.max_video_bytes,
                EvidenceKind.OTHER: self.max_other_bytes,
            },
            max_files=self.max_files_per_complaint,
            max_total_bytes=self.max_bytes_per_complaint,
        )

    def _production_problems(self) -> list[str]:
        problems = super()._production_problems()
        if self.s3_encryption != "required":
            problems.append("SIPUMA_S3_ENCRYPTION must be 'required' (evidence encrypted at rest)")
        return problems
