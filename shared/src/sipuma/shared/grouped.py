"""Grouped commands (group commit): what concurrent handlers write or read while a command is in
flight goes out together in the next one. Every command costs the store a round trip and a
transaction, so under load one `insert_many` / `update_many` / bulk write / `$in` read for many
handlers beats one command each (measured: the registry's throughput more than tripled when the
outbox's "sent" marks were grouped; the notifier's e-mails/s about doubled, issue 15). There is
no timer: a lone caller goes at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Grouped(Generic[T, R]):
    """`add(item)` returns that item's result from `run(batch)`, which returns one result per
    item in order (an exception instance: raised to that caller only). The first caller waits
    for nothing; an error of the whole command reaches every caller of that batch."""

    def __init__(
        self, run: Callable[[list[T]], Awaitable[list[R | BaseException]]], limit: int = 200
    ) -> None:
        self._run = run
        self._limit = limit
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def add(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._limit], self._queue[self._limit :]
                try:
                    results = await self._run([item for item, _ in batch])
                except BaseException as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    if not isinstance(error, Exception):
                        raise
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._flushing = None
            for _, future in self._queue:  # cancelled mid-way: nobody waits for ever
                if not future.done():
                    future.set_exception(asyncio.CancelledError())
            self._queue = []
