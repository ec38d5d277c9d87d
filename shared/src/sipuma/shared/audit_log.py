"""The MongoDB side of a hash-chained audit log (`audit_chain`): one insert-only collection,
`_id` = `seq`. Registry (identity reads) and evidence (download links) keep their chains the same
way; what an entry holds, who may read it and how it is published stay in the service.

`hidden` names the service's outbox bookkeeping, the only part of an entry that is ever updated
and outside the hash: it is left out of what the audit page and the chain walk read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection

from sipuma.shared.mongo import insert_new

Doc = dict[str, Any]


class AuditLog(Protocol):
    """What a service's audit use case needs of its chain's store."""

    async def add(self, doc: Doc) -> bool:
        """False when entry `seq` exists (another writer appended first)."""
        ...

    async def last(self) -> Doc | None: ...

    async def entries(
        self, complaint_id: str | None, officer_id: str | None, limit: int
    ) -> list[Doc]:
        """Newest first, per complaint and/or per officer (the supervisors' audit page)."""
        ...

    def chain(self) -> AsyncIterator[Doc]:
        """Every entry in `seq` order."""
        ...


class MongoAuditLog:
    def __init__(self, collection: AsyncCollection[Doc], *, hidden: Sequence[str] = ()) -> None:
        self.collection = collection
        self._projection: Doc | None = {name: 0 for name in hidden} or None

    async def add(self, doc: Doc) -> bool:
        return await insert_new(self.collection, doc)

    async def last(self) -> Doc | None:
        return await self.collection.find_one({}, sort=[("_id", -1)])

    async def entries(
        self, complaint_id: str | None, officer_id: str | None, limit: int
    ) -> list[Doc]:
        query: Doc = {}
        if complaint_id is not None:
            query["complaint_id"] = complaint_id
        if officer_id is not None:
            query["officer_id"] = officer_id
        found = self.collection.find(query, self._projection)
        return await found.sort("_id", -1).limit(limit).to_list()

    async def chain(self) -> AsyncIterator[Doc]:
        async for doc in self.collection.find({}, self._projection).sort("_id", 1):
            yield doc
