"""The outbox: each emitted event is stored in the same document as the change that causes it
(one insert: a register number, a ticket, a status step) and published from there (idempotent
producer, acks=all). At-least-once: anything that went wrong publishes the same event id again,
which consumers de-duplicate.

An unsent entry has `outbox.due`, the moment the relay may take it over; the sparse index on it
holds only unsent entries. The code that made the change publishes at once (`send`) and removes
`due`; if that fails (Kafka away, a crash), the relay publishes once `due` has passed: every
`interval` it claims due entries one at a time with an atomic `find_one_and_update` (pushing
`due` forward by a lease, so replicas do not publish the same entry together and a relay that
dies mid-way lets another take it after the lease), publishes, and removes `due`.
A `secret` entry (TicketIssued carries the plain ticket) loses its payload once sent, so the
plain ticket does not stay in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import structlog
from pymongo import ReturnDocument

from sipuma.registry.batching import Grouped
from sipuma.registry.store import OUTBOX_COLLECTIONS, Doc, Store
from sipuma.shared.events import Event, parse_event

log = structlog.get_logger(__name__)

Publish = Callable[[Event, str], Awaitable[None]]
# How long the code that made a change has to publish it before the relay takes over.
GRACE = timedelta(seconds=5)


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


def is_sent(doc: Doc) -> bool:
    return "due" not in (doc.get("outbox") or {})


class OutboxRelay:
    def __init__(
        self,
        store: Store,
        publish: Publish,
        interval: float = 1.0,
        lease: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._publish = publish
        self._interval = interval
        self._lease = lease
        self._clock = clock
        self._wake = asyncio.Event()
        # "Sent" marks of concurrent handlers share one update_many per collection.
        self._marks: dict[tuple[str, bool], Grouped[str, None]] = {}

    async def send(self, collection: str, doc: Doc) -> bool:
        """Publish a document's entry unless sent (raises if Kafka did not take it), then mark
        it sent. False when there was nothing to send."""
        if is_sent(doc):
            return False
        item = doc["outbox"]
        await self._publish(parse_event(item["type"], item["payload"]), item["topic"])
        await self._mark_sent(collection, doc)
        return True

    async def send_soon(self, collection: str, doc: Doc) -> None:
        """Publish now if Kafka takes it; otherwise the relay does once the entry is due (the
        change is stored all the same), so log it and wake the relay."""
        try:
            await self.send(collection, doc)
        except Exception:
            log.warning("outbox.send_deferred", collection=collection, doc_id=str(doc["_id"]))
            self.kick()

    async def _mark_sent(self, collection: str, doc: Doc) -> None:
        secret = bool(doc["outbox"].get("secret"))
        key = (collection, secret)
        marks = self._marks.get(key)
        if marks is None:
            marks = self._marks[key] = Grouped(partial(self._mark_all, collection, secret))
        await marks.add(doc["_id"])
        doc["outbox"].pop("due", None)
        if secret:
            doc["outbox"]["payload"] = None

    async def _mark_all(
        self, collection: str, secret: bool, keys: list[str]
    ) -> list[BaseException | None]:
        done: Doc = {"outbox.sent_at": self._clock()}
        if secret:
            done["outbox.payload"] = None
        await self._store.db[collection].update_many(
            {"_id": {"$in": keys}}, {"$set": done, "$unset": {"outbox.due": ""}}
        )
        return [None] * len(keys)

    async def _claim(self, collection: str, now: datetime) -> Doc | None:
        """One due entry, its `due` pushed a lease ahead (atomically: one claimer wins)."""
        return await self._store.db[collection].find_one_and_update(
            {"outbox.due": {"$lte": now}},
            {"$set": {"outbox.due": now + self._lease}},
            sort=[("outbox.due", 1)],
            return_document=ReturnDocument.AFTER,
        )

    async def relay_once(self, at: datetime | None = None, limit: int = 500) -> int:
        """Publish what is due (at `at`, default now) in every outbox collection; returns how
        many were sent."""
        sent = 0
        for collection in OUTBOX_COLLECTIONS:
            for _ in range(limit):
                doc = await self._claim(collection, at or self._clock())
                if doc is None:
                    break
                item = doc["outbox"]
                await self._publish(parse_event(item["type"], item["payload"]), item["topic"])
                await self._mark_sent(collection, doc)
                sent += 1
        return sent

    def kick(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: a pass every `interval` (or when kicked); errors are logged, retried."""
        while not stop.is_set():
            try:
                await self.relay_once()
            except Exception:
                log.exception("outbox.relay_failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
