"""The outbox: each emitted event is stored in the same insert as the change that causes it, and
this relay publishes unsent entries (idempotent producer, acks=all) and marks them sent.

At-least-once: a crash between publish and mark re-publishes the same event id, which consumers
de-duplicate. A `secret` entry (TicketIssued carries the plain ticket) loses its payload once
sent, so the plain ticket does not stay in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog

from sipuma.registry.store import OUTBOX_COLLECTIONS, Doc, Store
from sipuma.shared.events import Event, parse_event

log = structlog.get_logger(__name__)

Publish = Callable[[Event, str], Awaitable[None]]


def entry(event: Event, topic: str, *, secret: bool = False) -> Doc:
    return {
        "event_id": str(event.event_id),
        "type": event.event_type,
        "topic": topic,
        "payload": event.model_dump_json(),
        "secret": secret,
        "sent": False,
        "created_at": datetime.now(UTC),
    }


class OutboxRelay:
    def __init__(
        self,
        store: Store,
        publish: Publish,
        interval: float = 1.0,
        batch: int = 200,
        grace: timedelta = timedelta(seconds=2),
    ) -> None:
        self._grace = grace  # entries younger than this are still on their fast path
        self._store = store
        self._publish = publish
        self._interval = interval
        self._batch = batch
        self._wake = asyncio.Event()

    async def send(self, collection: str, doc: Doc) -> None:
        """Publish one document's entry now (the fast path right after a change) and mark it."""
        item = doc.get("outbox") or {}
        if item.get("sent", True) or item.get("payload") is None:
            return
        event = parse_event(item["type"], item["payload"])
        await self._publish(event, item["topic"])
        done: Doc = {"outbox.sent": True, "outbox.sent_at": datetime.now(UTC)}
        if item.get("secret"):
            done["outbox.payload"] = None
        await self._store.db[collection].update_one({"_id": doc["_id"]}, {"$set": done})

    async def send_soon(self, collection: str, doc: Doc) -> None:
        """The fast path after a change: publish now; if that fails the change is stored with
        its entry all the same, so log it and leave it to the relay loop."""
        try:
            await self.send(collection, doc)
        except Exception:
            log.warning("outbox.send_deferred", collection=collection, doc_id=str(doc["_id"]))
            self.kick()

    async def relay_once(self, grace: timedelta | None = None) -> int:
        sent = 0
        older = datetime.now(UTC) - (self._grace if grace is None else grace)
        query = {"outbox.sent": False, "outbox.created_at": {"$lt": older}}
        for name in OUTBOX_COLLECTIONS:
            pending = await self._store.db[name].find(query).limit(self._batch).to_list()
            for doc in pending:
                await self.send(name, doc)
                sent += 1
        return sent

    def kick(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: relay, then wait for a kick or the interval. Errors are logged, retried."""
        while not stop.is_set():
            try:
                await self.relay_once()
            except Exception:
                log.exception("outbox.relay_failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
