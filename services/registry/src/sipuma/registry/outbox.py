"""The outbox: each emitted event is stored in the same insert as the change that causes it and
published from there (idempotent producer, acks=all). At-least-once: anything that went wrong
publishes the same event id again, which consumers de-duplicate.

Who makes sure a stored entry leaves, without ever scanning for unsent entries (on FerretDB a
query on `outbox.sent` decodes every document of the collection):
- changes made by the Kafka consumer (register numbers, tickets): the handler publishes them
  before it returns. If publishing fails the handler fails, nothing is committed, and the
  redelivered event publishes again what is not marked sent — a crash anywhere is the same case.
  A register number counts as sent once its complaint's listing entry exists (that insert
  follows the publish); a ticket once its payload is erased (below).
- changes made over HTTP (status steps, never redelivered): a marker in `outbox_pending` is
  inserted *before* the change and deleted once the event left; this relay retries what is
  still pending — at start, `grace` after a failed publish (then every `interval` until it gets
  through) and every `sweep` seconds. Only pending markers are read, and they stay few.
A `secret` entry (TicketIssued carries the plain ticket) loses its payload once sent, so the
plain ticket does not stay in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog

from sipuma.registry.store import Doc, Store
from sipuma.shared.events import Event, parse_event

log = structlog.get_logger(__name__)

Publish = Callable[[Event, str], Awaitable[None]]


def entry(event: Event, topic: str, *, secret: bool = False, marked: bool = True) -> Doc:
    """The outbox entry stored with a change. `marked`: its `sent` flag is set once published
    (an update); register numbers are not marked, their listing entry says it (an insert)."""
    found: Doc = {
        "event_id": str(event.event_id),
        "type": event.event_type,
        "topic": topic,
        "payload": event.model_dump_json(),
        "secret": secret,
        "created_at": datetime.now(UTC),
    }
    if marked:
        found["sent"] = False
    return found


def is_sent(doc: Doc) -> bool:
    """Marked sent, or (an unmarked entry) nothing left to send."""
    item = doc.get("outbox") or {}
    return bool(item["sent"]) if "sent" in item else item.get("payload") is None


class OutboxRelay:
    def __init__(
        self,
        store: Store,
        publish: Publish,
        interval: float = 1.0,
        batch: int = 200,
        grace: timedelta = timedelta(seconds=2),
        sweep: float = 30.0,
        orphan: timedelta = timedelta(minutes=10),
    ) -> None:
        self._grace = grace  # markers younger than this are still on their fast path
        self._orphan = orphan  # a marker whose change never came: its request died first
        self._store = store
        self._publish = publish
        self._interval = interval
        self._batch = batch
        self._sweep = sweep
        self._wake = asyncio.Event()
        self._due: float | None = None  # monotonic time of an early relay pass

    async def publish(self, doc: Doc) -> None:
        """Publish a document's entry (raises if Kafka did not take it); marks nothing."""
        item = doc["outbox"]
        await self._publish(parse_event(item["type"], item["payload"]), item["topic"])

    async def send(self, collection: str, doc: Doc) -> bool:
        """Publish a document's entry unless sent, then mark it (erasing a secret payload).
        False when there was nothing to send."""
        if is_sent(doc):
            return False
        await self.publish(doc)
        done: Doc = {"outbox.sent": True, "outbox.sent_at": datetime.now(UTC)}
        if doc["outbox"].get("secret"):
            done["outbox.payload"] = None
        await self._store.db[collection].update_one({"_id": doc["_id"]}, {"$set": done})
        return True

    # -- changes made outside the consumer: pending markers --------------------------------------
    @staticmethod
    def _marker_id(collection: str, doc_id: str) -> str:
        return f"{collection}/{doc_id}"

    async def expect(self, collection: str, doc_id: str) -> None:
        """Before inserting a change that no redelivery would repeat: mark it pending."""
        marker = {"collection": collection, "doc_id": doc_id, "at": datetime.now(UTC)}
        await self._store.insert_once(
            self._store.pending, {"_id": self._marker_id(collection, doc_id), **marker}
        )

    async def send_soon(self, collection: str, doc: Doc) -> None:
        """Publish a pending change's entry now; if that fails it stays pending for the relay
        loop (the change is stored all the same), so log it and wake the loop."""
        try:
            await self.send(collection, doc)
            await self._store.pending.delete_one({"_id": self._marker_id(collection, doc["_id"])})
        except Exception:
            log.warning("outbox.send_deferred", collection=collection, doc_id=str(doc["_id"]))
            self.kick()

    async def relay_once(self, grace: timedelta | None = None) -> int:
        """Send what pending markers older than `grace` point at; returns how many were sent."""
        sent = 0
        now = datetime.now(UTC)
        older = now - (self._grace if grace is None else grace)
        for marker in await self._store.pending.find({}).limit(self._batch).to_list():
            if marker["at"] > older:
                continue
            doc = await self._store.by_id(self._store.db[marker["collection"]], marker["doc_id"])
            if doc is None and marker["at"] > now - self._orphan:
                continue  # its change may still be on its way
            if doc is not None and await self.send(marker["collection"], doc):
                sent += 1
            await self._store.pending.delete_one({"_id": marker["_id"]})
        return sent

    def kick(self) -> None:
        """A fast path failed: relay once its marker is older than the grace."""
        self._soon(self._grace.total_seconds())
        self._wake.set()

    def _soon(self, delay: float) -> None:
        at = time.monotonic() + delay
        self._due = at if self._due is None else min(self._due, at)

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: relay at start, when due (after a kick, after a failure or when a pass
        sent something) and every `sweep` seconds; errors are logged and retried."""
        next_sweep = time.monotonic()
        first: timedelta | None = timedelta(0)  # at start nothing of ours is in flight
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_sweep or (self._due is not None and now >= self._due):
                self._due = None
                try:
                    if await self.relay_once(first):
                        self._soon(self._interval)  # a full pass may have left more
                    first = None
                    next_sweep = time.monotonic() + self._sweep
                except Exception:
                    log.exception("outbox.relay_failed")
                    self._soon(self._interval)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
