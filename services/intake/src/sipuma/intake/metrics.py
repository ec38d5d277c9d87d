"""Intake's own Prometheus metrics (the shared ones count published events)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

COMPLAINTS = Counter(
    "sipuma_intake_complaints",
    "Complaints accepted, by answer: registered (201), received (202) or queued (202, spool)",
    ["outcome"],
)
REGISTER_WAIT = Histogram(
    "sipuma_intake_register_wait_seconds",
    "Time from publishing ComplaintReceived to seeing its ComplaintRegistered",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
SPOOL_PENDING = Gauge("sipuma_intake_spool_pending", "Events waiting in the local spool")
KAFKA_AVAILABLE = Gauge("sipuma_intake_kafka_available", "1 while the producer is connected")
BOOK_LIVE = Gauge("sipuma_intake_status_book_live", "1 while the status book follows Kafka")
