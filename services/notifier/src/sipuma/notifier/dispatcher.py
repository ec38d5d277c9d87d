"""The dispatcher: the loop that makes scheduled retries happen and nothing stays open.

Every `interval` seconds it
1. recovers deliveries whose owner died mid-attempt (lease ran out; see `Notifier.recover`),
2. attempts the pending deliveries that are due (retries, and first attempts the consumer left
   to it while a provider was failing), at most `concurrency` at a time, never one delivery twice
   in this process (the claim in the log guards against other processes),
3. publishes outcome events still pending in the log (Kafka was down when they were recorded).

It runs beside the Kafka consumer, so a long retry schedule never holds a partition.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog

from sipuma.notifier.service import Notifier

log = structlog.get_logger("sipuma.notifier.dispatcher")


class Dispatcher:
    def __init__(
        self, notifier: Notifier, *, interval: float, batch: int, concurrency: int
    ) -> None:
        self.notifier, self.interval, self.batch = notifier, interval, batch
        self._slots = asyncio.Semaphore(concurrency)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._stop = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.create_task(self.run(), name="notifier-dispatcher")

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception as error:  # the store may be down: try again next tick
                log.warning("dispatcher_tick_failed", error=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval)

    async def tick(self) -> None:
        n = self.notifier
        now = n.clock()
        for stale in await n.log.stale(now, self.batch):
            await n.recover(stale)
        for key in await n.log.due(now, self.batch):
            if key not in self._running and not self._stop.is_set():
                await self._slots.acquire()
                task = asyncio.create_task(self._attempt(key), name=f"attempt-{key}")
                self._running[key] = task
        for doc in await n.log.unpublished(now - timedelta(seconds=2), self.batch):
            await n.publish_entry(doc)

    async def _attempt(self, key: str) -> None:
        try:
            await self.notifier.attempt(key)
        except Exception as error:
            log.warning("attempt_failed", delivery=key, error=type(error).__name__)
        finally:
            self._slots.release()
            self._running.pop(key, None)

    async def stop(self, grace_seconds: float) -> None:
        """Stop taking work; let in-flight attempts record their outcome (up to the grace)."""
        self._stop.set()
        if self._loop is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        running = list(self._running.values())
        if running:
            _, late = await asyncio.wait(running, timeout=grace_seconds)
            for task in late:
                task.cancel()
