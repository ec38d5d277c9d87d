"""The headers a part is sent with: its CRC32 and UNSIGNED-PAYLOAD (signed headers, body not
hashed) by default; minio-py's own signed SHA-256 with `s3_payload_check="signed"`."""

from __future__ import annotations

import base64
import zlib

import pytest
from minio.credentials.credentials import Credentials

from sipuma.evidence.settings import EvidenceSettings
from sipuma.evidence.storage import EvidenceStorage

pytestmark = pytest.mark.unit
CREDS = Credentials("key", "secret")
BODY = b"evidence bytes " * 1000


def test_a_part_carries_its_crc32_and_is_not_hashed() -> None:
    storage = EvidenceStorage(EvidenceSettings(bucket="b"))
    headers = storage._payload_headers(BODY)
    crc = base64.b64decode(str(headers["x-amz-checksum-crc32"]))
    assert int.from_bytes(crc, "big") == zlib.crc32(BODY)
    built, _ = storage.client._build_headers("minio:9000", dict(headers), BODY, CREDS)
    assert built["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert built["Content-Length"] == str(len(BODY))
    assert "Content-MD5" not in built


def test_signed_keeps_minio_py_s_payload_hash() -> None:
    storage = EvidenceStorage(EvidenceSettings(bucket="b", s3_payload_check="signed"))
    assert storage._payload_headers(BODY) == {}
    built, _ = storage.client._build_headers("minio:9000", {}, BODY, CREDS)
    assert len(built["x-amz-content-sha256"]) == 64  # the hex SHA-256 of the body
