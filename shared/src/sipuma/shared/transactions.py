"""Multi-document transactions that are retried on a write conflict, on every store we run on.

PyMongo's `with_transaction` retries a transaction whose error carries the
`TransientTransactionError` label, which MongoDB puts on a write conflict. The DocumentDB
gateway answers the same conflict (another transaction holds the row past the lock timeout)
with code 112 `WriteConflict` and *no* label, so `with_transaction` gives up at once. Here both
are retried, after a short random pause, until `give_up_after` seconds.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import OperationFailure

T = TypeVar("T")
WRITE_CONFLICT = 112


async def in_transaction(
    client: AsyncMongoClient[Any],
    work: Callable[[AsyncClientSession], Awaitable[T]],
    *,
    give_up_after: float = 30.0,
) -> T:
    """`work(session)` in one transaction: all of its writes or none. Raising inside `work`
    aborts (and re-raises); a write conflict is retried with the whole of `work`."""
    deadline = time.monotonic() + give_up_after
    pause = 0.002
    while True:
        try:
            async with client.start_session() as session:
                return await session.with_transaction(work)
        except OperationFailure as error:
            if error.code != WRITE_CONFLICT or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(random.uniform(0, pause))  # noqa: S311 (jitter, not a secret)
        pause = min(pause * 2, 0.2)
