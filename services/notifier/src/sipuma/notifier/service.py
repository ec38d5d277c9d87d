"""Use cases: send the ticket number once per channel the complainant gave (SOP step 9).

For each channel: record the delivery in the log (unique key ticket + channel), claim it with a
lease (one atomic update: one winner), render, commit (right before the provider may get it),
send, decide the outcome (one atomic single-document update with the outcome event as its
outbox and the attempt's history line), then publish `NotificationSent` /
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

import dataclasses
import time
import uuid
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog

from sipuma.notifier import metrics, outcomes
from sipuma.notifier.domain import (
    EMAIL,
    PENDING,
    SENDING,
    SMS,
    ClaimLost,
    Decision,
    Delivery,
    Job,
    UnknownOutcome,
    delivery_id,
)
from sipuma.notifier.messages import MessageRenderer, TicketFacts
from sipuma.notifier.ports import (
    Commit,
    DeliveryLog,
    EmailSender,
    OutgoingEmail,
    OutgoingSms,
    Publish,
    Receipt,
    SmsGateway,
)
from sipuma.notifier.ratelimit import SendRateLimiter
from sipuma.notifier.retry import Backoff, DeliveryError, classify, permanent
from sipuma.shared import validators
from sipuma.shared.events import Event, TicketIssued
from sipuma.shared.events import parse_event as parse
from sipuma.shared.offices import OfficeDirectory
from sipuma.shared.payloads import NotificationFailure
from sipuma.shared.rules import RuleViolation

log = structlog.get_logger("sipuma.notifier")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Policy:
    backoff: Backoff
    lease: timedelta
    unknown_outcome: Mapping[str, UnknownOutcome]  # per channel: "resend" or "report"
    tracking_url: str
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)  # claims carry it


class Notifier:
    def __init__(
        self,
        deliveries: DeliveryLog,
        email: EmailSender,
        sms: SmsGateway,
        publish: Publish,
        policy: Policy,
        limits: Mapping[str, SendRateLimiter],
        offices: OfficeDirectory,
        renderer: MessageRenderer | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.log, self.email, self.sms, self.publish = deliveries, email, sms, publish
        self.policy, self.limits, self.offices = policy, limits, offices
        self.renderer = renderer or MessageRenderer()
        self.clock = clock
        self._cooling_until: dict[str, float] = {}  # provider failing: leave it to the schedule

    def provider(self, channel: str) -> str:
        return self.email.provider if channel == EMAIL else self.sms.provider

    # -- a TicketIssued -------------------------------------------------------------------------
    async def receive(self, event: TicketIssued) -> list[Delivery]:
        """Record a delivery per channel the ticket names; answer the ones that are new. Once
        this returned, the work is durable: the Kafka offset may be committed and whoever
        attempts the deliveries (this process or, after a crash, the dispatcher of any replica)
        finds them in the log."""
        now = self.clock()
        wanted = [
            Delivery(
                key=delivery_id(event.ticket_number, channel),
                channel=channel,
                state=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
                ticket_event_id=str(event.event_id),
                complaint_id=str(event.complaint_id),
                office_code=event.office_code,
                correlation_id=event.correlation_id,
                language=event.contact.language.value,
                job=Job(address, event.ticket_number, event.register_number),
            )
            for channel, address in ((EMAIL, event.contact.email), (SMS, event.contact.mobile))
            if address is not None
        ]
        inserted = await self.log.record(wanted)
        for delivery, is_new in zip(wanted, inserted, strict=True):
            if not is_new:
                metrics.DUPLICATES_SKIPPED.labels(delivery.channel).inc()
                log.info(
                    "delivery_already_recorded", channel=delivery.channel, delivery=delivery.key
                )
        return [delivery for delivery, is_new in zip(wanted, inserted, strict=True) if is_new]

    def cooling(self, channel: str) -> bool:
        """The provider failed recently: leave new deliveries to the dispatcher's schedule."""
        return self._cooling_until.get(channel, 0) >= time.monotonic()

    # -- one attempt ---------------------------------------------------------------------------
    async def attempt(self, delivery: Delivery) -> None:
        """One attempt of a delivery, if it is due and nobody holds it. `delivery`: as the
        caller has it (just recorded, or just read by the dispatcher); a final one is skipped
        without spending a rate-limit token. The claim itself is the read."""
        if delivery.final:
            return
        channel, policy = delivery.channel, self.policy
        await self.limits[channel].acquire()  # before the claim: waiting holds no lease
        found = await self.log.claim(
            delivery.key, policy.owner, self.clock(), policy.lease, delivery
        )
        if found is None:
            return  # another replica (or task) has it, it is final, or it is not due
        claimed: Delivery = found  # committed below: then it carries when the call began
        provider = self.provider(channel)
        started = time.monotonic()

        async def commit() -> None:
            nonlocal claimed
            now = self.clock()
            if not await self.log.commit(claimed, now, policy.lease):
                raise ClaimLost(claimed.key)
            claimed = dataclasses.replace(claimed, state=SENDING, attempt_started_at=now)

        try:
            receipt = await self._send(claimed, commit)
        except ClaimLost:
            log.warning("claim_lost_before_send", channel=channel, delivery=claimed.key)
            return
        except Exception as error:
            metrics.ATTEMPT_SECONDS.labels(channel, provider).observe(time.monotonic() - started)
            await self._failed(claimed, provider, classify(error))
        else:
            metrics.ATTEMPT_SECONDS.labels(channel, provider).observe(time.monotonic() - started)
            await self._sent(claimed, receipt)

    async def _send(self, claimed: Delivery, commit: Commit) -> Receipt:
        job, language = claimed.job, claimed.language
        if job is None:  # an open delivery keeps its job; a final one is never claimed
            raise permanent(NotificationFailure.OTHER, "delivery without its job")
        office = self.offices.get(claimed.office_code)
        facts = TicketFacts(
            ticket_number=job.ticket_number,
            register_number=job.register_number,
            office=office.name if office else claimed.office_code,
            tracking_url=self.policy.tracking_url,
        )
        if claimed.channel == EMAIL:
            try:
                address = validators.normalize_email(job.address)
            except RuleViolation:
                raise permanent(NotificationFailure.INVALID_RECIPIENT, "e-mail invalid") from None
            rendered = self.renderer.email(facts, language)
            mail = OutgoingEmail(
                address, rendered.subject, rendered.text, None, language, claimed.reference
            )
            return await self.email.send(mail, commit)
        try:
            number = validators.normalize_mobile(job.address)
        except RuleViolation as violation:
            raise permanent(NotificationFailure.INVALID_RECIPIENT, violation.rule.code) from None
        text = self.renderer.sms(facts, language)
        return await self.sms.send(OutgoingSms(number, text, claimed.reference), commit)

    async def _sent(self, claimed: Delivery, receipt: Receipt) -> None:
        decision, event = outcomes.sent(claimed, receipt)
        if await self._decide_final(claimed, decision, event):
            metrics.SENT.labels(claimed.channel, receipt.provider).inc()
            log.info("notification_sent", channel=claimed.channel, attempts=claimed.attempts)
        else:
            log.warning("claim_lost_after_send", channel=claimed.channel, delivery=claimed.key)

    async def _failed(self, claimed: Delivery, provider: str, error: DeliveryError) -> None:
        channel, attempts = claimed.channel, claimed.attempts
        if error.transient and not self.policy.backoff.exhausted(attempts):
            now, delay = self.clock(), self.policy.backoff.delay(attempts)
            self._cooling_until[channel] = time.monotonic() + delay
            retry = outcomes.retry(error, now + timedelta(seconds=delay))
            if await self.log.decide(claimed, retry, now):
                metrics.RETRIED.labels(channel, provider).inc()
                log.warning(
                    "notification_retry_scheduled",
                    channel=channel,
                    attempts=attempts,
                    retry_in_seconds=round(delay, 2),
                    error=error.detail,
                )
            return
        decision, failure = outcomes.failed(claimed, error)
        if await self._decide_final(claimed, decision, failure):
            metrics.FAILED.labels(channel, provider, failure.reason.value).inc()
            log.warning(
                "notification_failed",
                channel=channel,
                reason=failure.reason.value,
                attempts=attempts,
            )

    async def _decide_final(self, attempt: Delivery, decision: Decision, event: Event) -> bool:
        """Decide a final outcome; the winner publishes its event once the decision (with the
        event in its outbox) is durable, then marks it published. If Kafka does not take it,
        the outbox stays pending and the dispatcher publishes it later (same event id)."""
        if not await self.log.decide(attempt, decision, self.clock()):
            return False
        await self._publish(attempt.key, event)
        return True

    async def _publish(self, key: str, event: Event) -> None:
        try:
            await self.publish(event)
        except Exception as error:  # stays pending; the dispatcher publishes it later
            log.warning("outcome_publish_failed", error=type(error).__name__)
            return
        await self.log.mark_published(key, str(event.event_id))

    # -- what the dispatcher asks for ------------------------------------------------------------
    async def due(
        self, limit: int, known: Container[str] = frozenset()
    ) -> tuple[list[Delivery], int]:
        """Pending deliveries whose next attempt is due (retries, deliveries recorded before a
        crash, first attempts left to the schedule) but the `known` ones, and how many were due
        (the known ones counted)."""
        return await self.log.due(self.clock(), limit, known)

    async def expired(self, limit: int) -> list[Delivery]:
        """Attempts whose owner did not decide within the lease: `claimed` ones are claimed
        again (nothing reached the provider), `sending` ones go to `recover`."""
        return await self.log.expired(self.clock(), limit)

    async def recover(self, stale: Delivery) -> None:
        """A committed attempt whose lease ran out: the owner died (or hung) in the provider
        call. Resend or report, per channel (`Policy.unknown_outcome`)."""
        now, channel = self.clock(), stale.channel
        resend = self.policy.unknown_outcome.get(channel, "report") == "resend"
        if resend and not self.policy.backoff.exhausted(stale.attempts):
            won = await self.log.decide(stale, outcomes.resend(now), now)
            action = "resent"
        else:
            reason = NotificationFailure.RETRIES_EXHAUSTED if resend else NotificationFailure.OTHER
            decision, event = outcomes.unknown_reported(stale, reason)
            won = await self._decide_final(stale, decision, event)
            action = "reported"
        if won:
            metrics.UNKNOWN_OUTCOME.labels(channel, action).inc()
            if action == "reported":
                metrics.FAILED.labels(channel, self.provider(channel), "unknown_outcome").inc()
            log.warning("notification_outcome_unknown", channel=channel, action=action)
        else:  # the owner decided meanwhile: its decision stands
            log.info("notification_decided_by_owner", channel=channel)

    async def publish_pending(self, limit: int) -> int:
        """Publish outcome events still pending in the log (Kafka did not take them when they
        were decided; the last two seconds' are left to their deciders); answer how many were
        found."""
        pending = await self.log.unpublished(self.clock() - timedelta(seconds=2), limit)
        for entry in pending:
            outbox = entry.outbox
            try:
                await self.publish(parse(outbox.event_type, outbox.json))
            except Exception as error:  # stays pending; the next pass tries again
                log.warning("outcome_publish_failed", error=type(error).__name__)
                continue
            await self.log.mark_published(entry.key, outbox.event_id)
        return len(pending)
