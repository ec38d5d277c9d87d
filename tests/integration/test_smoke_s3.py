"""The S3 server is real: a 12 MiB object goes up in parts, is stat'ed and read back intact."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from minio import Minio

from tests.harness.endpoints import Endpoints

pytestmark = pytest.mark.integration


def test_multipart_put_stat_get(endpoints: Endpoints, unique_name) -> None:
    client = Minio(
        endpoints.s3_endpoint,
        access_key=endpoints.s3_access_key,
        secret_key=endpoints.s3_secret_key,
        secure=False,
    )
    bucket = unique_name("smoke")
    client.make_bucket(bucket)
    payload = os.urandom(12 * 1024 * 1024)
    try:
        # Unknown length + 5 MiB parts forces the multipart upload path.
        client.put_object(
            bucket, "evidence.bin", io.BytesIO(payload), length=-1, part_size=5 * 1024 * 1024
        )
        stat = client.stat_object(bucket, "evidence.bin")
        assert stat.size == len(payload)
        assert stat.etag is not None and stat.etag.endswith("-3")  # 3 parts: 5 + 5 + 2 MiB
        response = client.get_object(bucket, "evidence.bin")
        try:
            assert hashlib.sha256(response.read()).digest() == hashlib.sha256(payload).digest()
        finally:
            response.close()
            response.release_conn()
    finally:
        client.remove_object(bucket, "evidence.bin")
        client.remove_bucket(bucket)
