"""Store plumbing every service with a MongoDB-wire store uses the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

# DocumentDB's index option for its ordered (composite) index: a sort that follows the index's
# key order is then read from the index (with `documentdb.enableIndexOrderbyPushdown`, see
# docs/store.md) instead of sorting every match, so a page costs the same at any data size.
ORDERED_OPTION = "enableOrderedIndex"
# MongoDB's answer to an index option it does not know (InvalidIndexSpecificationOption).
_UNKNOWN_INDEX_OPTION = 197
_INDEX_NOT_FOUND = 27


async def insert_new(collection: AsyncCollection[Any], doc: Mapping[str, Any]) -> bool:
    """Insert an insert-only fact; False when its key exists (written before: a redelivery, a
    replay, or a racing writer that came first). Any other error raises."""
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


def ordered_index(keys: Sequence[tuple[str, int]], name: str, **options: Any) -> IndexModel:
    """An index a sorted page is read from in key order (DocumentDB's ordered index). On a
    store without the option (MongoDB) it is created as a plain index of the same keys, which
    MongoDB reads in order anyway."""
    return IndexModel(list(keys), name=name, **{ORDERED_OPTION: True, **options})


def _without_ordered_option(model: IndexModel) -> IndexModel:
    document = dict(model.document)
    keys = list(document.pop("key").items())
    document.pop(ORDERED_OPTION, None)
    return IndexModel(keys, **document)


async def _create(db: AsyncDatabase[Any], collection: str, models: Sequence[IndexModel]) -> None:
    try:
        await db[collection].create_indexes(list(models))
    except OperationFailure as refused:
        if refused.code != _UNKNOWN_INDEX_OPTION:
            raise
        await db[collection].create_indexes([_without_ordered_option(m) for m in models])


async def _drop_retired(db: AsyncDatabase[Any], retired: Mapping[str, Sequence[str]]) -> None:
    # An index a newer definition replaced (kept data from an older release): left in place the
    # planner may still pick it and sort in memory.
    for collection, names in retired.items():
        for name in names:
            try:
                await db[collection].drop_index(name)
            except OperationFailure as failure:
                if failure.code != _INDEX_NOT_FOUND and "not found" not in str(failure).lower():
                    raise


async def create_indexes(
    db: AsyncDatabase[Any],
    indexes: Mapping[str, Sequence[IndexModel]],
    *,
    retired: Mapping[str, Sequence[str]] | None = None,
    attempts: int = 8,
    pause_s: float = 0.5,
) -> None:
    """A service's declared indexes, created at start before any data (idempotent: an index
    with the same definition is left alone), and the `retired` ones dropped where an older
    release left them. Retried with a growing pause: replicas starting together create the same
    collections at once, and a store that is restarting (or recovering from a crash) answers a
    few seconds later — a service must not die of that."""
    for attempt in range(1, attempts + 1):
        try:
            for collection, models in indexes.items():
                await _create(db, collection, models)
            if retired:
                await _drop_retired(db, retired)
            return
        except PyMongoError:
            if attempt == attempts:
                raise
            await asyncio.sleep(pause_s * attempt)
