"""Object lock is asked for when the bucket is made; without it, versioning only."""

from __future__ import annotations

from typing import Any

import pytest
from minio.error import S3Error
from urllib3 import HTTPResponse

from sipuma.evidence.settings import EvidenceSettings
from sipuma.evidence.storage import EvidenceStorage

pytestmark = pytest.mark.unit


def s3_error(code: str) -> S3Error:
    return S3Error(HTTPResponse(status=501), code, "refused", "/b", "req", "host")


class FakeClient:
    def __init__(self, lock_supported: bool) -> None:
        self.lock_supported = lock_supported
        self.made: list[dict[str, Any]] = []
        self.versioning = False

    def bucket_exists(self, bucket: str) -> bool:
        return bool(self.made)

    def make_bucket(self, bucket: str, object_lock: bool = False) -> None:
        if object_lock and not self.lock_supported:
            raise s3_error("NotImplemented")
        self.made.append({"bucket": bucket, "object_lock": object_lock})

    def set_bucket_versioning(self, bucket: str, config: Any) -> None:
        self.versioning = True

    def set_bucket_encryption(self, bucket: str, config: Any) -> None:
        self.encryption = config

    def get_object_lock_config(self, bucket: str) -> object:
        if not self.made[-1]["object_lock"]:
            raise s3_error("ObjectLockConfigurationNotFoundError")
        return object()


@pytest.mark.parametrize("supported", [True, False])
async def test_lock_when_possible_versioning_always(supported: bool) -> None:
    storage = EvidenceStorage(EvidenceSettings(bucket="b"))
    fake = FakeClient(lock_supported=supported)
    storage.client = fake  # type: ignore[assignment]
    state = await storage.ensure_bucket()
    assert state.object_lock is supported
    assert state.versioning and fake.versioning
    assert fake.made == [{"bucket": "b", "object_lock": supported}]
