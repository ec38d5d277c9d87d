"""The dispatcher: a bounded pool of workers that make the attempts, and the loop that makes
scheduled retries happen and leaves nothing open.

Work reaches the workers two ways:
- **hand-off**: the Kafka handler records a ticket's deliveries and `hand_over`s the new ones
  here (as just written, so the first attempt needs no read), then returns and the offset is
  committed: the log, not the handler, holds the work from then on. Nothing here waits; when
  the queue is full, or the provider failed recently (`Notifier.cooling`), the delivery simply
  stays in the log for the loop below;
- **the loop**, every `interval` seconds (at once again while it finds a full batch), asks the
  notifier three (index-backed) questions and
  1. recovers deliveries whose owner died mid-attempt (committed, lease ran out; see
     `Notifier.recover`), and queues those whose owner died before committing (claimed again);
  2. queues the pending deliveries that are due (retries, deliveries recorded before a crash or
     left by a full queue, first attempts the handler skipped while a provider was failing);
  3. publishes outcome events still pending in the log (Kafka was down when they were decided).

A delivery is queued or running at most once per process (`_held`); the claim in the log
guards against other processes. At most `concurrency` attempts run at a time, so the pool bounds
the load on the providers and the store, and it runs beside the Kafka consumer, so a slow or
failing provider never holds a partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable

import structlog

from sipuma.notifier.domain import SENDING, Delivery
from sipuma.notifier.service import Notifier
from sipuma.shared.tasks import cancel_and_wait

log = structlog.get_logger("sipuma.notifier.dispatcher")
_STOP = None  # wakes an idle worker so it can see the stop


class Dispatcher:
    def __init__(
        self,
        notifier: Notifier,
        *,
        interval: float,
        batch: int,
        concurrency: int,
        queue_size: int = 1000,
    ) -> None:
        self.notifier, self.interval, self.batch = notifier, interval, batch
        self.concurrency = concurrency
        # room for the stop signals too, whatever the settings
        self._queue: asyncio.Queue[Delivery | None] = asyncio.Queue(max(queue_size, concurrency))
        self._held: set[str] = set()  # queued or running in this process
        self._finished: dict[str, float] = {}  # key -> when its attempt ended (monotonic)
        self._workers: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._workers = [
            asyncio.create_task(self._work(), name=f"notifier-worker-{n}")
            for n in range(self.concurrency)
        ]
        self._loop = asyncio.create_task(self.run(), name="notifier-dispatcher")

    # -- hand-off ---------------------------------------------------------------------------------
    def hand_over(self, new: Iterable[Delivery]) -> None:
        """Queue the first attempts of deliveries just recorded, unless their provider failed
        recently (then the loop sends them when due, and the workers do not pile up on it)."""
        for delivery in new:
            if not self.notifier.cooling(delivery.channel):
                self.offer(delivery)

    def offer(self, delivery: Delivery) -> bool:
        """Queue one attempt without waiting; False when it was not queued (the queue is full
        or the dispatcher is stopping: the delivery waits in the log for the loop)."""
        if delivery.key in self._held:
            return True
        if self._stop.is_set():
            return False
        try:
            self._queue.put_nowait(delivery)
        except asyncio.QueueFull:
            return False
        self._held.add(delivery.key)
        return True

    async def _work(self) -> None:
        while not self._stop.is_set():
            delivery = await self._queue.get()
            if delivery is None:
                continue  # the stop signal
            try:
                await self.notifier.attempt(delivery)
            except Exception as error:  # the store may be down: the log keeps the delivery
                log.warning("attempt_failed", delivery=delivery.key, error=type(error).__name__)
            finally:
                self._held.discard(delivery.key)
                self._finished[delivery.key] = time.monotonic()

    # -- the loop ---------------------------------------------------------------------------------
    async def run(self) -> None:
        while not self._stop.is_set():
            busy = False
            try:
                busy = await self.tick()
            except Exception as error:  # the store may be down: try again next tick
                log.warning("dispatcher_tick_failed", error=type(error).__name__)
            if busy:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval)

    async def tick(self) -> bool:
        """One pass over the log; True when it may have left due work behind that the queue
        could take (a full batch, all of it queued): then the loop looks again at once."""
        n, asked = self.notifier, time.monotonic()
        limit = self.batch + len(self._held)  # what is queued here still looks due in the log
        expired = await n.expired(self.batch)
        due, due_count = await n.due(limit, self._held)
        self._finished = {k: t for k, t in self._finished.items() if t >= asked - 60}
        claimable: list[Delivery] = []
        for delivery in expired:
            if delivery.state == SENDING:
                await n.recover(delivery)
            else:  # claimed, never committed: nothing reached the provider, claim it again
                claimable.append(delivery)
        queued, refused = 0, False
        for delivery in [*claimable, *due]:
            if delivery.key in self._held or self._finished.get(delivery.key, 0) >= asked:
                continue  # queued or running here, or ended while the log was being read
            if not self.offer(delivery):
                refused = True
                break
            queued += 1
        unpublished = await n.publish_pending(self.batch)
        full = due_count >= limit or len(expired) >= self.batch or unpublished >= self.batch
        return full and queued > 0 and not refused

    async def stop(self, grace_seconds: float) -> None:
        """Stop taking work; let in-flight attempts record their outcome (up to the grace).
        Queued attempts that did not start stay pending in the log (nothing was claimed)."""
        self._stop.set()
        if self._loop is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        while not self._queue.empty():
            queued = self._queue.get_nowait()
            if queued is not None:
                self._held.discard(queued.key)
        for _ in self._workers:
            self._queue.put_nowait(_STOP)
        if self._workers:
            _, late = await asyncio.wait(self._workers, timeout=grace_seconds)
            await cancel_and_wait(late)
