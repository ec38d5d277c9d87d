"""`sipuma.shared.audit_log.MongoAuditLog` on the real store: a chain appended with
`audit_chain.append`, a taken `seq` refused, the audit page filtered and newest first, the
outbox bookkeeping left out of what is read, and the walk verified."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from sipuma.shared import audit_chain
from sipuma.shared.audit_log import MongoAuditLog

pytestmark = pytest.mark.integration

HASHED = ("complaint_id", "officer_id", "at")


async def test_append_read_and_verify_a_chain(
    endpoints: Any, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("audit").replace("-", "_")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_uri, tz_aware=True)
    try:
        log = MongoAuditLog(client[name]["audit"], hidden=("outbox",))
        assert await log.last() is None
        at = audit_chain.millis(datetime(2026, 12, 7, 9, 30, tzinfo=UTC))
        reads = [("c1", "198001"), ("c2", "198001"), ("c1", "198002")]
        for complaint_id, officer_id in reads:
            entry = {"complaint_id": complaint_id, "officer_id": officer_id, "at": at}
            await audit_chain.append(log.last, log.add, {**entry, "outbox": {"due": at}}, HASHED)

        last = await log.last()
        assert last is not None and last["seq"] == 3
        assert not await log.add({**last, "complaint_id": "c9"})  # seq 3 is taken
        page = await log.entries("c1", None, 10)
        assert [(d["seq"], d["officer_id"]) for d in page] == [(3, "198002"), (1, "198001")]
        assert [d["seq"] for d in await log.entries("c1", "198001", 10)] == [1]
        assert [d["seq"] for d in await log.entries(None, None, 2)] == [3, 2]
        assert all("outbox" not in d for d in page)
        assert await audit_chain.verify(log.chain(), HASHED) == {
            "intact": True,
            "entries": 3,
            "broken_at": None,
        }
        await log.collection.update_one({"_id": 2}, {"$set": {"officer_id": "199999"}})
        assert (await audit_chain.verify(log.chain(), HASHED))["broken_at"] == 2
    finally:
        await client.drop_database(name)
        await client.close()
