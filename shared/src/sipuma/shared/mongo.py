"""Store plumbing every service with a MongoDB-wire store uses the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError


async def create_indexes(
    db: AsyncDatabase[Any],
    indexes: Mapping[str, Sequence[IndexModel]],
    *,
    attempts: int = 8,
    pause_s: float = 0.5,
) -> None:
    """A service's declared indexes, created at start before any data (idempotent: an index
    with the same definition is left alone). Retried with a growing pause: replicas starting
    together create the same collections at once, and a store that is restarting (or
    recovering from a crash) answers a few seconds later — a service must not die of that."""
    for attempt in range(1, attempts + 1):
        try:
            for collection, models in indexes.items():
                await db[collection].create_indexes(list(models))
            return
        except PyMongoError:
            if attempt == attempts:
                raise
            await asyncio.sleep(pause_s * attempt)
