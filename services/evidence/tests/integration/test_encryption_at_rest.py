"""Evidence encrypted at rest: the bucket's default encryption (SSE with MinIO's KMS) is set at
start, objects come back in clear through the API's storage, and MinIO's files on disk hold none
of the planted bytes. Runs on a private MinIO with a KMS key (tests/harness/private_minio.py)
until the shared one is started with MINIO_KMS_SECRET_KEY (deploy/local/infra.sh)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack

import pytest

from sipuma.evidence.settings import EvidenceSettings
from sipuma.evidence.storage import EvidenceStorage
from tests.harness.private_minio import KMS_KEY_NAME, PrivateMinio, start_private_minio

pytestmark = pytest.mark.integration
PLANTED = b"planted-KTP-scan-NIK-3171099988877761-" * 64


@pytest.fixture(scope="module")
def kms_minio() -> Iterator[PrivateMinio]:
    with ExitStack() as stack:
        found = start_private_minio(stack)
        if found is None:
            pytest.skip("no local MinIO binary (deploy/local/infra.sh builds it)")
        yield found


async def blocks() -> AsyncIterator[bytes]:
    yield PLANTED


@pytest.mark.parametrize("kms_key", [None, KMS_KEY_NAME], ids=["sse-s3", "sse-kms"])
async def test_evidence_objects_are_encrypted_at_rest(
    kms_minio: PrivateMinio, kms_key: str | None
) -> None:
    storage = EvidenceStorage(
        EvidenceSettings(
            s3_endpoint=kms_minio.endpoint,
            s3_access_key=kms_minio.access_key,
            s3_secret_key=kms_minio.secret_key,
            bucket=f"evidence-{'kms' if kms_key else 's3'}",
            s3_encryption="required",
            s3_kms_key_id=kms_key,
        )
    )
    state = await storage.ensure_bucket()
    assert state.encrypted
    stored = await storage.put_stream(
        "c/identity.bin",
        blocks(),
        length=len(PLANTED),
        content_type="application/octet-stream",
        metadata={},
    )
    assert stored.sha256 == hashlib.sha256(PLANTED).hexdigest()
    answer = storage.client.get_object(storage.bucket, "c/identity.bin")
    try:
        assert answer.read() == PLANTED  # the service reads it in clear
        assert answer.headers.get("x-amz-server-side-encryption") in ("AES256", "aws:kms")
    finally:
        answer.close()
        answer.release_conn()
    on_disk = [p.read_bytes() for p in kms_minio.data_dir.rglob("*") if p.is_file()]
    assert on_disk and not [raw for raw in on_disk if b"planted-KTP-scan" in raw]


async def test_a_server_without_kms_stops_a_required_start(endpoints, unique_name) -> None:
    # The shared MinIO (no KMS until the lead restarts it with MINIO_KMS_SECRET_KEY): "auto"
    # tolerates it, "required" refuses to start.
    s3 = {
        "s3_endpoint": endpoints.s3_endpoint,
        "s3_access_key": endpoints.s3_access_key,
        "s3_secret_key": endpoints.s3_secret_key,
        "bucket": unique_name("enc"),
    }
    tolerant = EvidenceStorage(EvidenceSettings(**s3, s3_encryption="auto"))
    state = await tolerant.ensure_bucket()
    if state.encrypted:
        pytest.skip("the shared MinIO has a KMS now: nothing to refuse")
    strict = EvidenceStorage(EvidenceSettings(**s3, s3_encryption="required"))
    with pytest.raises(Exception):  # noqa: B017, PT011 - S3Error or StorageUnavailable
        await strict.ensure_bucket()


async def test_the_disk_check_would_see_an_unencrypted_object(kms_minio: PrivateMinio) -> None:
    """The control: the same bytes in a bucket without encryption are found on disk, so the
    check above can fail."""
    storage = EvidenceStorage(
        EvidenceSettings(
            s3_endpoint=kms_minio.endpoint,
            s3_access_key=kms_minio.access_key,
            s3_secret_key=kms_minio.secret_key,
            bucket="evidence-plain",
            s3_encryption="off",
        )
    )
    assert not (await storage.ensure_bucket()).encrypted
    await storage.put_stream(
        "c/plain.bin", blocks(), length=len(PLANTED), content_type="text/plain", metadata={}
    )
    folder = kms_minio.data_dir / "evidence-plain"
    assert [p for p in folder.rglob("*") if p.is_file() and b"planted-KTP-scan" in p.read_bytes()]
