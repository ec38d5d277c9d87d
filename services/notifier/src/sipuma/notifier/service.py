"""Use case: send the ticket number once per channel the complainant gave (SOP step 9).

For each channel: record the delivery in the log (unique key ticket + channel), claim it with a
lease (one atomic update: one winner), render, commit (right before the provider may get it),
send, decide the outcome (one atomic update with the outcome event as a single-document outbox,
and the attempt's history line, in one transaction), then publish `NotificationSent` /
`NotificationFailed`.

Delivery guarantee, honestly:
- A redelivered or duplicated `TicketIssued`, a restart, a rebalance or a second replica never
  sends twice: the log entry exists, and only the one process whose claim matched sends (see
  `store.py`).
- The one window left is a crash *during* an attempt: after the sender's `commit()` moved the
  delivery to `sending` (right before the HTTP request, or before SMTP `DATA` once the
  recipient was accepted) and before the attempt's decision was written. The provider may or
  may not have accepted the message, and the notifier cannot know which. What recovery does
  then (after the lease) is chosen per channel (`Policy.unknown_outcome`):
  - `"resend"`: sent again with the same Idempotency-Key / Message-ID. For the generic SMS
    gateway this is exactly once (the gateway contract deduplicates on the key). For e-mail it
    is at least once: SMTP has no idempotency, so if the crash fell after the server accepted
    `DATA` (milliseconds) the complainant gets the same message, same Message-ID, twice —
    which mailbox stores that suppress duplicates fold into one. Default for both channels.
  - `"report"`: not resent; a final `NotificationFailed` (reason `other`, "outcome unknown") is
    published, so staff see it (at most once). Default for SMS providers without an
    idempotency key (Zenziva).
  A crash before `commit()` is safe (the claim's lease runs out and the delivery is claimed
  again; nothing was sent); one after the decision leaves it decided (its event, if not yet
  published, is published by the dispatcher); SIGTERM finishes in-flight attempts and leaves
  none open.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from sipuma.notifier import metrics
from sipuma.notifier.messages import MessageRenderer, TicketFacts
from sipuma.notifier.ratelimit import RateLimiter
from sipuma.notifier.retry import Backoff, DeliveryError, classify, permanent
from sipuma.notifier.senders import (
    Commit,
    EmailSender,
    OutgoingEmail,
    OutgoingSms,
    Receipt,
    SmsGateway,
)
from sipuma.notifier.settings import Language, UnknownOutcome
from sipuma.notifier.store import FAILED, PENDING, SENT, Attempt, DeliveryLog, Doc, delivery_id
from sipuma.shared import pii, validators
from sipuma.shared.events import Event, NotificationFailed, NotificationSent, TicketIssued
from sipuma.shared.events import parse_event as parse
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.payloads import NotificationChannel, NotificationFailure
from sipuma.shared.rules import RuleViolation

log = structlog.get_logger("sipuma.notifier")
Publish = Callable[[Event], Awaitable[object]]
EMAIL, SMS = NotificationChannel.EMAIL.value, NotificationChannel.SMS.value
UNKNOWN_DETAIL = "outcome unknown: the notifier stopped during the provider call; not resent"
Deliveries = list[tuple[str, Doc]]


class ClaimLost(Exception):
    """The attempt was claimed over (its lease ran out) before it could be committed."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Policy:
    backoff: Backoff
    lease: timedelta
    unknown_outcome: Mapping[str, UnknownOutcome]  # per channel: "resend" or "report"
    tracking_url: str
    default_language: Language
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)  # claims carry it


class Notifier:
    def __init__(
        self,
        deliveries: DeliveryLog,
        email: EmailSender,
        sms: SmsGateway,
        publish: Publish,
        policy: Policy,
        limits: dict[str, RateLimiter],
        offices: OfficeDirectory,
        renderer: MessageRenderer | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.log, self.email, self.sms, self.publish = deliveries, email, sms, publish
        self.policy, self.limits, self.offices = policy, limits, offices
        self.renderer = renderer or MessageRenderer()
        self.clock = clock
        self._cooling_until: dict[str, float] = {}  # provider failing: leave it to the dispatcher

    def provider(self, channel: str) -> str:
        return self.email.provider if channel == EMAIL else self.sms.provider

    # -- entry: one TicketIssued ------------------------------------------------------------
    async def record(self, event: TicketIssued, language: Language | None = None) -> Deliveries:
        """Record a delivery per channel in the log; answer the ones that are new (with the
        document as written). Once this returned, the work is durable: the Kafka offset may be
        committed and whoever attempts the deliveries (this process or, after a crash, the
        dispatcher of any replica) finds them there."""
        return await self.record_many([(event, language)])

    async def record_many(self, tickets: list[tuple[TicketIssued, Language | None]]) -> Deliveries:
        """`record` for several tickets in one write (a batch from Kafka)."""
        now = self.clock()
        docs = [
            self._new_delivery(
                delivery_id(event.ticket_number, channel), channel, address, event, language, now
            )
            for event, language in tickets
            for channel, address in ((EMAIL, event.contact.email), (SMS, event.contact.mobile))
            if address is not None
        ]
        inserted = await self.log.record_many(docs)
        new: Deliveries = []
        for doc, is_new in zip(docs, inserted, strict=True):
            if is_new:
                new.append((doc["_id"], doc))
            else:
                metrics.DUPLICATES_SKIPPED.labels(doc["channel"]).inc()
                log.info("delivery_already_recorded", channel=doc["channel"], delivery=doc["_id"])
        return new

    def cooling(self, channel: str) -> bool:
        """The provider failed recently: leave new deliveries to the dispatcher's schedule."""
        return self._cooling_until.get(channel, 0) >= time.monotonic()

    async def ticket_issued(self, event: TicketIssued, language: Language | None = None) -> None:
        """Record, then attempt every new delivery now (unless its provider is known to be
        failing). Returns once every outcome of this call is in the log. The Kafka handler does
        not use this (it records and hands the attempts to the dispatcher's workers)."""
        new = await self.record(event, language)
        inline = [(key, doc) for key, doc in new if not self.cooling(doc["channel"])]
        await asyncio.gather(*(self.attempt(key, doc) for key, doc in inline))

    def _new_delivery(
        self,
        key: str,
        channel: str,
        address: str,
        event: TicketIssued,
        language: Language | None,
        now: datetime,
    ) -> Doc:
        return {
            "_id": key,
            "channel": channel,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
            "ticket_event_id": str(event.event_id),
            "complaint_id": str(event.complaint_id),
            "office_code": event.office_code,
            "correlation_id": event.correlation_id,
            "language": language or self.policy.default_language,
            "job": {
                "address": address,
                "ticket_number": event.ticket_number,
                "register_number": event.register_number,
            },
            "outbox_pending": False,
        }

    # -- one attempt ---------------------------------------------------------------------------
    async def attempt(self, key: str, current: Doc | None = None) -> None:
        """One attempt of a delivery, if it is due and nobody holds it. `current`: the document
        as the caller has it (just recorded, or just read by the dispatcher); a final one is
        skipped without spending a rate-limit token. The claim itself is the read."""
        channel = key.split(":", 1)[0]
        if current is not None and current["state"] in (SENT, FAILED):
            return
        await self.limits[channel].acquire()  # before the claim: waiting holds no lease
        claimed = await self.log.claim(key, self.policy.owner, self.clock(), self.policy.lease)
        if claimed is None:
            return  # another replica (or task) has it, it is final, or it is not due
        provider = self.provider(channel)
        started = time.monotonic()

        async def commit() -> None:
            if not await self.log.commit(claimed, self.clock()):
                raise ClaimLost(key)

        try:
            receipt = await self._send(channel, claimed, commit)
        except ClaimLost:
            log.warning("claim_lost_before_send", channel=channel, delivery=key)
            return
        except Exception as error:
            failure = classify(error)
            metrics.ATTEMPT_SECONDS.labels(channel, provider).observe(time.monotonic() - started)
            await self._record_failure(claimed, provider, failure)
        else:
            metrics.ATTEMPT_SECONDS.labels(channel, provider).observe(time.monotonic() - started)
            await self._record_sent(claimed, receipt)

    async def _send(self, channel: str, doc: Doc, commit: Commit) -> Receipt:
        job, language = doc["job"], doc["language"]
        office = self.offices.get(doc["office_code"])
        facts = TicketFacts(
            ticket_number=job["ticket_number"],
            register_number=job.get("register_number"),
            office=office.name if office else doc["office_code"],
            tracking_url=self.policy.tracking_url,
        )
        reference = doc["_id"].replace(":", "-")
        if channel == EMAIL:
            try:
                address = validators.normalize_email(job["address"])
            except RuleViolation:
                raise permanent(NotificationFailure.INVALID_RECIPIENT, "e-mail invalid") from None
            rendered = self.renderer.email(facts, language)
            mail = OutgoingEmail(
                address, rendered.subject, rendered.text, None, language, reference
            )
            return await self.email.send(mail, commit)
        try:
            number = validators.normalize_mobile(job["address"])
        except RuleViolation as violation:
            raise permanent(NotificationFailure.INVALID_RECIPIENT, violation.rule.code) from None
        text = self.renderer.sms(facts, language)
        return await self.sms.send(OutgoingSms(number, text, reference), commit)

    async def _record_sent(self, claimed: Doc, receipt: Receipt) -> bool:
        now, channel = self.clock(), claimed["channel"]
        event = NotificationSent(
            **self._event_base(claimed),
            channel=channel,
            attempts=claimed["attempts"],
            provider=receipt.provider,
            provider_message_id=receipt.message_id,
        )
        update = self._final(SENT, event, now)
        update["$set"] |= {"provider": receipt.provider, "provider_message_id": receipt.message_id}
        attempt = Attempt("sent", "owner", provider_message_id=receipt.message_id)
        if await self._decide_final(claimed, update, event, attempt, now):
            metrics.SENT.labels(channel, receipt.provider).inc()
            log.info("notification_sent", channel=channel, attempts=claimed["attempts"])
            return True
        log.warning("claim_lost_after_send", channel=channel, delivery=claimed["_id"])
        return False

    async def _record_failure(self, claimed: Doc, provider: str, error: DeliveryError) -> bool:
        now, channel, attempts = self.clock(), claimed["channel"], claimed["attempts"]
        last_error = {
            "kind": error.kind.value,
            "reason": error.reason.value,
            "detail": error.detail,
        }
        if error.transient and not self.policy.backoff.exhausted(attempts):
            delay = self.policy.backoff.delay(attempts)
            self._cooling_until[channel] = time.monotonic() + delay
            update: Doc = {
                "$set": {
                    "state": PENDING,
                    "next_attempt_at": now + timedelta(seconds=delay),
                    "last_error": last_error,
                    "updated_at": now,
                },
                "$unset": {"owner": "", "lease_until": ""},
            }
            if await self.log.decide(claimed, update, Attempt("retry", "owner", last_error), now):
                metrics.RETRIED.labels(channel, provider).inc()
                log.warning(
                    "notification_retry_scheduled",
                    channel=channel,
                    attempts=attempts,
                    retry_in_seconds=round(delay, 2),
                    error=error.detail,
                )
                return True
            return False
        reason = NotificationFailure.RETRIES_EXHAUSTED if error.transient else error.reason
        event = self._failed_event(claimed, reason, error.detail)
        update = self._final(FAILED, event, now)
        update["$set"]["last_error"] = last_error
        attempt = Attempt("failed", "owner", last_error)
        if await self._decide_final(claimed, update, event, attempt, now):
            metrics.FAILED.labels(channel, provider, reason.value).inc()
            log.warning(
                "notification_failed", channel=channel, reason=reason.value, attempts=attempts
            )
            return True
        return False

    async def _decide_final(
        self, claimed: Doc, update: Doc, event: Event, attempt: Attempt, now: datetime
    ) -> bool:
        """Decide a final outcome; the winner publishes its event once the decision (with the
        event in its outbox) is durable, then marks it published. If Kafka does not take it,
        the outbox stays pending and the dispatcher publishes it later (same event id)."""
        if not await self.log.decide(claimed, update, attempt, now):
            return False
        await self._publish(claimed["_id"], event)
        return True

    async def _publish(self, key: str, event: Event) -> None:
        try:
            await self.publish(event)
        except Exception as error:  # stays pending; the dispatcher publishes it later
            log.warning("outcome_publish_failed", error=type(error).__name__)
            return
        await self.log.mark_published(key, str(event.event_id))

    # -- recovery of attempts whose owner died ---------------------------------------------------
    async def recover(self, stale: Doc) -> None:
        """A committed attempt whose lease ran out: the owner died (or hung) in the provider
        call. Resend or report, per channel (`Policy.unknown_outcome`)."""
        now, channel = self.clock(), stale["channel"]
        resend = self.policy.unknown_outcome.get(channel, "report") == "resend"
        if resend and not self.policy.backoff.exhausted(stale["attempts"]):
            update: Doc = {
                "$set": {"state": PENDING, "next_attempt_at": now, "updated_at": now},
                "$unset": {"owner": "", "lease_until": ""},
            }
            won = await self.log.decide(stale, update, Attempt("unknown_resent", "recovery"), now)
            action = "resent"
        else:
            reason = NotificationFailure.RETRIES_EXHAUSTED if resend else NotificationFailure.OTHER
            event = self._failed_event(stale, reason, UNKNOWN_DETAIL)
            attempt = Attempt("unknown_reported", "recovery")
            won = await self._decide_final(
                stale, self._final(FAILED, event, now), event, attempt, now
            )
            action = "reported"
        if won:
            metrics.UNKNOWN_OUTCOME.labels(channel, action).inc()
            if action == "reported":
                metrics.FAILED.labels(channel, self.provider(channel), "unknown_outcome").inc()
            log.warning("notification_outcome_unknown", channel=channel, action=action)
        else:  # the owner decided meanwhile: its decision stands
            log.info("notification_decided_by_owner", channel=channel)

    # -- outbox ------------------------------------------------------------------------------
    async def publish_entry(self, doc: Doc) -> None:
        """Publish an outcome event still pending in the log (Kafka did not take it before)."""
        outbox = doc["outbox"]
        try:
            await self.publish(parse(outbox["event_type"], outbox["json"]))
        except Exception as error:  # stays pending; the dispatcher publishes it later
            log.warning("outcome_publish_failed", error=type(error).__name__)
            return
        await self.log.mark_published(doc["_id"], outbox["event_id"])

    # -- helpers -----------------------------------------------------------------------------
    def _event_base(self, doc: Doc) -> dict[str, Any]:
        return {
            "source": "notifier",
            "correlation_id": doc["correlation_id"],
            "office_code": doc["office_code"],
            "complaint_id": uuid.UUID(doc["complaint_id"]),
            "ticket_event_id": uuid.UUID(doc["ticket_event_id"]),
        }

    def _failed_event(self, doc: Doc, reason: NotificationFailure, detail: str) -> Event:
        return NotificationFailed(
            **self._event_base(doc),
            channel=doc["channel"],
            attempts=max(1, doc["attempts"]),
            reason=reason,
            final=True,
            detail=pii.mask_text(detail)[:500],
        )

    def _final(self, state: str, event: Event, now: datetime) -> Doc:
        outbox = {
            "event_id": str(event.event_id),
            "event_type": event.event_type,
            "json": event.model_dump_json(),
        }
        return {
            "$set": {
                "state": state,
                "finished_at": now,
                "updated_at": now,
                "outbox": outbox,
                "outbox_pending": True,
            },
            "$unset": {"job": "", "owner": "", "lease_until": ""},
        }
