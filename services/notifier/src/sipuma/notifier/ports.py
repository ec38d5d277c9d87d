"""What the use cases depend on, in the notifier's words: the delivery log, the two kinds of
provider, and the outcome publisher. Adapters: `store.py` (MongoDB), `senders.py` (SMTP, SMS
gateways), Kafka (`main.py`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sipuma.notifier.domain import Decision, Delivery, PendingOutcome
from sipuma.shared.events import Event

Publish = Callable[[Event], Awaitable[object]]
# Awaited by a sender right before the provider may get the message; raises `ClaimLost` when
# the attempt is no longer ours (then nothing is sent).
Commit = Callable[[], Awaitable[None]]


class DeliveryLog(Protocol):
    """One entry per ticket and channel; every change of an entry is atomic: of several racing
    callers exactly one wins (see `domain.py` for the states)."""

    async def record(self, deliveries: Sequence[Delivery]) -> list[bool]:
        """Insert every delivery that is new; per delivery, True when it was (one that exists,
        in any state, is left alone)."""
        ...

    async def claim(
        self,
        key: str,
        owner: str,
        now: datetime,
        lease: timedelta,
        known: Delivery | None = None,
    ) -> Delivery | None:
        """Take the delivery for its next attempt if it is due and nobody holds it (`attempts`
        + 1, a lease); None when it is not ours to send. `known`: the caller's copy of the
        delivery. Its job (jobs never change, only go) is used while the delivery still has
        one, so it need not be opened again; a copy of a first attempt as recorded need not be
        read back at all when nothing changed since."""
        ...

    async def commit(self, claimed: Delivery, now: datetime, lease: timedelta) -> bool:
        """`claimed` → `sending`, only by that attempt's owner and only once: from here a crash
        leaves the outcome unknown. False: claimed over, do not call the provider."""
        ...

    async def decide(self, attempt: Delivery, decision: Decision, now: datetime) -> bool:
        """Record what `attempt` came to and its history line, together (one atomic update of
        the delivery); False when the other party (owner or recovery) decided this attempt
        first: then nothing is written."""
        ...

    async def mark_published(self, key: str, event_id: str) -> None: ...

    async def due(
        self, now: datetime, limit: int, known: Container[str] = frozenset()
    ) -> tuple[list[Delivery], int]:
        """Pending deliveries whose next attempt is due, oldest first, except those whose key is
        in `known` (the caller has them already); and how many were due (up to `limit`), the
        known ones counted."""
        ...

    async def expired(self, now: datetime, limit: int) -> list[Delivery]:
        """Claimed or sending deliveries whose lease ran out: their owner died or hung."""
        ...

    async def unpublished(self, older_than: datetime, limit: int) -> list[PendingOutcome]:
        """Decided outcomes whose event Kafka has not taken yet."""
        ...


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str | None
    language: str
    reference: str  # stable per delivery: becomes the Message-ID, so resends are recognisable


@dataclass(frozen=True)
class OutgoingSms:
    to: str  # E.164
    text: str
    reference: str  # stable per delivery: idempotency key for gateways that honour one


@dataclass(frozen=True)
class Receipt:
    provider: str
    message_id: str | None


class EmailSender(Protocol):
    provider: str

    async def send(self, message: OutgoingEmail, commit: Commit = ...) -> Receipt: ...


class SmsGateway(Protocol):
    provider: str

    async def send(self, message: OutgoingSms, commit: Commit = ...) -> Receipt: ...
