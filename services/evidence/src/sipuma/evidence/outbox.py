"""The outbox relay (a timer entry point): every `outbox_interval_s`, once Kafka is connected,
the use case finishes the committed records whose seal or event did not happen right after their
commit (MinIO or Kafka away, a crash): seal first, then publish, same event id."""

from __future__ import annotations

import asyncio

import structlog

from sipuma.evidence.publisher import KafkaEvidencePublisher
from sipuma.evidence.service import EvidenceService
from sipuma.shared.metrics import OUTBOX_OLDEST

log = structlog.get_logger("sipuma.evidence")


async def relay_forever(
    service: EvidenceService, publisher: KafkaEvidencePublisher, every_s: float
) -> None:
    while True:
        await asyncio.sleep(every_s)  # a timer, not a synchronisation
        try:  # measured also while Kafka is away: that is when it grows (alert SipumaOutboxStale)
            OUTBOX_OLDEST.labels("evidence").set(await service.outbox_age_s())
        except Exception as exc:
            log.warning("outbox_age_unknown", error=type(exc).__name__)
        if not publisher.connected:
            continue
        try:
            sent = await service.relay_once(older_than_s=every_s)
            sent += await service.relay_audits_once(older_than_s=every_s)
            if sent:
                log.info("outbox_relayed", count=sent)
        except Exception as exc:
            log.warning("outbox_relay_failed", error=type(exc).__name__)
