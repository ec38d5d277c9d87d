"""Group commit: concurrent calls of the same store operation become one round trip.

The store's cost is per round trip (TLS, the gateway, a PostgreSQL statement each), far more than
per document, and the workers make the same few writes at the same moments. A `Coalescer`
takes calls one at a time into a queue; whenever no batch is in flight, everything queued so far
(up to `max_batch`) goes to `flush` as one batch. There is no timer: a lone call goes at once,
exactly as without it, and under load the batch grows by itself while the previous one is in
flight. Each caller gets its own result, or the batch's exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class Coalescer(Generic[In, Out]):
    def __init__(
        self, flush: Callable[[Sequence[In]], Awaitable[Sequence[Out]]], max_batch: int = 64
    ) -> None:
        self._flush, self._max = flush, max_batch
        self._queue: list[tuple[In, asyncio.Future[Out]]] = []
        self._running: asyncio.Task[None] | None = None

    async def submit(self, item: In) -> Out:
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._drain())
        # shield: a caller cancelled (shutdown) does not cancel its neighbours' batch
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        try:
            await self._drain_queue()
        except BaseException:  # cancelled (the loop is closing): nobody waits forever
            for _, future in self._queue:
                future.cancel()
            self._queue = []
            raise

    async def _drain_queue(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max], self._queue[self._max :]
            try:
                results = await self._flush([item for item, _ in batch])
            except Exception as error:  # every caller of the batch gets it, as if alone
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
