"""Prometheus metrics shared by every service, and the `/metrics` answer.

Metric objects live in the process-wide default registry (the Prometheus convention: one
definition per process); they hold no connection, so defining them at import is harmless.
"""

from __future__ import annotations

from fastapi import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

EVENTS_PUBLISHED = Counter(
    "sipuma_events_published", "Events acknowledged by Kafka", ["topic", "event_type"]
)
EVENTS_CONSUMED = Counter(
    "sipuma_events_consumed",
    "Consumed messages by outcome: processed, dead_lettered or retried",
    ["group", "topic", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "sipuma_event_handler_seconds", "Time spent in event handlers", ["group", "topic"]
)
CONSUMER_LAG = Gauge(
    "sipuma_consumer_lag",
    "Messages behind the partition's high watermark after the last handled message",
    ["group", "topic", "partition"],
)
READINESS = Gauge(
    "sipuma_readiness_check",
    "1 when the readiness check passed at the last /readyz, 0 when it failed (per dependency:"
    " kafka, store, mongo, database, storage, spool)",
    ["check"],
)
OUTBOX_OLDEST = Gauge(
    "sipuma_outbox_oldest_unsent_seconds",
    "Age of the oldest outbox entry not yet published to Kafka (0 when none waits)",
    ["outbox"],
)


def metrics_response(registry: CollectorRegistry = REGISTRY) -> Response:
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
