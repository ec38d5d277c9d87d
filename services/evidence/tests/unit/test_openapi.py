"""The upload route is documented as a raw, streamed binary body (no multipart, no UploadFile)."""

from __future__ import annotations

import pytest

from sipuma.evidence.main import build
from sipuma.evidence.settings import EvidenceSettings

pytestmark = pytest.mark.unit


def test_openapi_documents_the_evidence_routes() -> None:
    spec = build(EvidenceSettings()).app.openapi()
    paths = spec["paths"]
    upload = paths["/v1/complaints/{complaint_id}/evidence"]["post"]
    body = upload["requestBody"]["content"]
    assert body["application/octet-stream"]["schema"] == {"type": "string", "format": "binary"}
    assert "multipart/form-data" not in body
    assert {"413", "415", "503"} <= set(upload["responses"])
    names = {p["name"] for p in upload["parameters"]}
    assert {"kind", "filename", "x-file-name"} <= names
    assert "/v1/complaints/{complaint_id}/evidence/{evidence_id}/download" in paths


def test_default_settings_refuse_development_secrets_in_production() -> None:
    with pytest.raises(ValueError, match="SIPUMA_"):
        EvidenceSettings(environment="production")
