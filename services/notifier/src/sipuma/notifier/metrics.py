"""Prometheus metrics of the notifier: sent, failed, retried, by channel and provider.

Defined once per process in the default registry (the `/metrics` route of `sipuma.shared.health`
serves it). `failed` counts final failures only; `retried` counts every scheduled retry.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SENT = Counter(
    "sipuma_notifier_sent", "Ticket notifications accepted by a provider", ["channel", "provider"]
)
FAILED = Counter(
    "sipuma_notifier_failed",
    "Ticket notifications given up on (final), by reason",
    ["channel", "provider", "reason"],
)
RETRIED = Counter(
    "sipuma_notifier_retried",
    "Transient failures that scheduled another attempt",
    ["channel", "provider"],
)
UNKNOWN_OUTCOME = Counter(
    "sipuma_notifier_unknown_outcome",
    "Attempts whose owner died mid-call (the duplicate window), by what recovery did",
    ["channel", "action"],
)
DUPLICATES_SKIPPED = Counter(
    "sipuma_notifier_duplicates_skipped",
    "TicketIssued for a ticket and channel already in the delivery log",
    ["channel"],
)
ATTEMPT_SECONDS = Histogram(
    "sipuma_notifier_attempt_seconds", "Time of one provider call", ["channel", "provider"]
)
