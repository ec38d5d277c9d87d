"""Registry metrics (labels are reason codes only, never ids or personal data)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

NEEDS_ATTENTION = Counter(
    "sipuma_registry_needs_attention",
    "Complaints that could not be numbered and now wait for a person, by reason",
    ["reason"],
)
ATTENTION_RESOLVED = Counter(
    "sipuma_registry_attention_resolved",
    "Complaints that left the needs-attention state (numbered), by the reason they had",
    ["reason"],
)
ATTENTION_WAITING = Gauge(
    "sipuma_registry_needs_attention_waiting",
    "Complaints waiting for a person now (the whole store; every replica reports the same)",
)
