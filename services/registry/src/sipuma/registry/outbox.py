"""The outbox: each emitted event is stored in the same document as the change that causes it
(one insert: a register number, a ticket, a status step) and published from there (idempotent
producer, acks=all). At-least-once: anything that went wrong publishes the same event id again,
which consumers de-duplicate.

An unsent entry has `outbox.due`, the moment the relay may take it over; the sparse index on it
holds only unsent entries. The code that made the change publishes at once (`send`) and removes
`due`; if that fails (Kafka away, a crash), the relay publishes once `due` has passed: every
`interval` it claims due entries one at a time with an atomic `find_one_and_update` (pushing
`due` forward by a lease, so replicas do not publish the same entry together and a relay that
dies mid-way lets another take it after the lease), publishes, and removes `due`. An outbox
found empty is looked at again after 1, 3, then 7 passes (at most `8 x interval` later; a
kick, a failed fast publish, looks at every outbox at once): nine claims every second cost
3-5 % of bench (b)'s CPU, and the entries are the fallback path, due only `GRACE` after made.
The queries are the repository's (`claim_due`, `mark_sent`); this module decides when to send.
A `secret` entry (TicketIssued carries the plain ticket) loses its payload once sent, so the
plain ticket does not stay in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from sipuma.registry.domain import Doc
from sipuma.registry.ports import OUTBOX_KINDS, ComplaintRepository, OutboxKind, Publish
from sipuma.shared.events import Event, parse_event
from sipuma.shared.metrics import OUTBOX_OLDEST

log = structlog.get_logger(__name__)

# How long the code that made a change has to publish it before the relay takes over.
GRACE = timedelta(seconds=5)
# An empty outbox is skipped for 2**n - 1 passes after its n-th empty look in a row, n <= 3.
IDLE_DOUBLINGS = 3
# How often the relay measures the oldest unsent entry's age: one query per outbox, nine in
# all, cost ~4.5 % of bench (b)'s CPU when made every pass (each second); the alert waits for
# 300 s over five minutes, the scrape comes every 15-30 s.
AGE_INTERVAL = 15.0
# Events made by this process and not sent yet, kept so sending them needs no parse of the
# stored payload (issue 15: ~2 % of bench (b)); a bound, since an entry whose insert lost a
# race (another replica's ticket, a redrawn number) is never sent from here.
FRESH_LIMIT = 2048


def entry(event: Event, topic: str, *, secret: bool = False, now: datetime | None = None) -> Doc:
    """The outbox entry stored with a change, unsent."""
    created = now or datetime.now(UTC)
    return {
        "event_id": str(event.event_id),
        "type": event.event_type,
        "topic": topic,
        "payload": event.model_dump_json(),
        "secret": secret,
        "created_at": created,
        "due": created + GRACE,
    }


def _aware(moment: datetime) -> datetime:
    """The store may hand back naive UTC datetimes."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_sent(doc: Doc) -> bool:
    return "due" not in (doc.get("outbox") or {})


class OutboxRelay:
    def __init__(
        self,
        store: ComplaintRepository,
        publish: Publish,
        interval: float = 1.0,
        lease: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        age_interval: float = AGE_INTERVAL,
    ) -> None:
        self._store = store
        self._publish = publish
        self._interval = interval
        self._lease = lease
        self._clock = clock
        self._age_interval = age_interval
        self._wake = asyncio.Event()
        self._fresh: OrderedDict[str, Event] = OrderedDict()
        self._idle = dict.fromkeys(OUTBOX_KINDS, 0)  # empty looks in a row
        self._skip = dict.fromkeys(OUTBOX_KINDS, 0)  # passes left before the next look

    def entry(
        self, event: Event, topic: str, *, secret: bool = False, now: datetime | None = None
    ) -> Doc:
        """`entry`, and the event kept in memory until sent (not a secret one: its plain
        ticket is not held longer than the publish)."""
        made = entry(event, topic, secret=secret, now=now)
        if not secret:
            self._fresh[made["event_id"]] = event
            if len(self._fresh) > FRESH_LIMIT:
                self._fresh.popitem(last=False)
        return made

    async def send(self, kind: OutboxKind, doc: Doc) -> bool:
        """Publish a document's entry unless sent (raises if Kafka did not take it), then mark
        it sent. False when there was nothing to send."""
        if is_sent(doc):
            return False
        await self._publish_and_mark(kind, doc)
        return True

    async def send_soon(self, kind: OutboxKind, doc: Doc) -> None:
        """Publish now if Kafka takes it; otherwise the relay does once the entry is due (the
        change is stored all the same), so log it and wake the relay."""
        try:
            await self.send(kind, doc)
        except Exception:
            log.warning("outbox.send_deferred", collection=kind, doc_id=str(doc["_id"]))
            self.kick()

    async def _publish_and_mark(self, kind: OutboxKind, doc: Doc) -> None:
        item = doc["outbox"]
        # The event as made here, or as stored (the relay, another process): its stored JSON
        # is what goes out either way, not encoded again.
        event = self._fresh.pop(item["event_id"], None)
        if event is None:
            event = parse_event(item["type"], item["payload"])
        await self._publish(event, item["topic"], payload=item["payload"])
        secret = bool(item.get("secret"))
        await self._store.mark_sent(kind, doc["_id"], secret=secret)
        item.pop("due", None)
        if secret:
            item["payload"] = None

    async def relay_once(self, at: datetime | None = None, limit: int = 500) -> int:
        """Publish what is due (at `at`, default now) in every outbox; returns how many were
        sent."""
        sent = 0
        for kind in OUTBOX_KINDS:
            sent += await self._relay_kind(kind, at, limit)
        return sent

    async def _relay_kind(self, kind: OutboxKind, at: datetime | None, limit: int) -> int:
        sent = 0
        for _ in range(limit):
            doc = await self._store.claim_due(kind, at or self._clock(), self._lease)
            if doc is None:
                break
            await self._publish_and_mark(kind, doc)
            sent += 1
        return sent

    async def _pass(self, kicked: bool) -> None:
        """One pass of `run`: the outboxes due a look (all when kicked), each skipped for longer
        while it stays empty (module docstring)."""
        for kind in OUTBOX_KINDS:
            if self._skip[kind] and not kicked:
                self._skip[kind] -= 1
                continue
            sent = await self._relay_kind(kind, None, 500)
            self._idle[kind] = 0 if sent else min(self._idle[kind] + 1, IDLE_DOUBLINGS)
            self._skip[kind] = 2 ** self._idle[kind] - 1

    async def observe_age(self) -> None:
        """Export how long the oldest unsent entry has waited (the "outbox age" alert)."""
        now = self._clock()
        for kind in OUTBOX_KINDS:
            created = await self._store.oldest_unsent(kind)
            age = 0.0 if created is None else (now - _aware(created)).total_seconds()
            OUTBOX_OLDEST.labels(kind).set(max(age, 0.0))

    def kick(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: a pass every `interval` (or when kicked), the age every `age_interval`;
        errors are logged, retried."""
        loop = asyncio.get_running_loop()
        aged = -math.inf
        while not stop.is_set():
            kicked = self._wake.is_set()
            self._wake.clear()  # a kick during the pass brings the next one at once
            try:
                await self._pass(kicked)
            except Exception:
                log.exception("outbox.relay_failed")
            if loop.time() - aged >= self._age_interval:
                aged = loop.time()
                try:
                    await self.observe_age()
                except Exception:
                    log.warning("outbox.age_unknown")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
