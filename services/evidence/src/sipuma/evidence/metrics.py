"""The evidence service's Prometheus metrics (served on /metrics by the shared plumbing).
Labels never carry anything a client sent: only the answer's status."""

from __future__ import annotations

from prometheus_client import Counter

UPLOADS = Counter("sipuma_evidence_uploads", "Evidence uploads by answer status", ["status"])
UPLOADED_BYTES = Counter("sipuma_evidence_uploaded_bytes", "Bytes of evidence stored")
