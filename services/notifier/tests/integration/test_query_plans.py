"""Every query the notifier issues is served by an index, on a delivery log big enough for the
planner to care (thousands of deliveries, most of them final, as in a running system).

The filters come from `sipuma.notifier.store` itself (the same functions the log uses), so a
query changed there is checked here. Updates and `find_one_and_update` are explained through
the `find` with the same filter (same planner, same indexes; see `tests/harness/plans.py`).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from sipuma.notifier import domain as d
from sipuma.notifier import store as s
from sipuma.notifier.store import MongoDeliveryLog
from tests.harness.plans import assert_index_backed, explain_find

pytestmark = pytest.mark.integration

DELIVERIES = 6000


def _seed(now: datetime) -> list[dict[str, Any]]:
    """Deliveries in the proportions of a running log: nearly all final, a few open."""
    deliveries: list[dict[str, Any]] = []
    for n in range(DELIVERIES):
        key = f"{'email' if n % 2 else 'sms'}:{secrets.token_hex(16)}"
        age = timedelta(minutes=n)
        doc: dict[str, Any] = {
            "_id": key,
            "channel": key.split(":")[0],
            "attempts": 1,
            "created_at": now - age,
            "updated_at": now - age,
            "next_attempt_at": now - age,
            "outbox_pending": False,
            "outbox": {"event_id": secrets.token_hex(16)},
            "history": [{"attempt": 1, "outcome": "sent", "token": secrets.token_hex(16)}],
        }
        if n % 500 == 1:
            doc |= {"state": d.PENDING, "next_attempt_at": now + timedelta(seconds=n)}
        elif n % 500 == 2:
            doc |= {"state": d.CLAIMED, "owner": "o", "lease_until": now + timedelta(seconds=30)}
        elif n % 500 == 3:
            doc |= {"state": d.SENDING, "owner": "o", "lease_until": now - timedelta(seconds=n)}
        elif n % 500 == 4:
            doc |= {"state": d.SENT, "outbox_pending": True}
        else:
            doc["state"] = d.SENT if n % 7 else d.FAILED
        deliveries.append(doc)
    return deliveries


@pytest.fixture
async def log(settings: Any, deliveries: Any) -> Any:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    found = MongoDeliveryLog(client, settings.mongo_database, settings.deliveries_collection)
    await found.ensure_indexes()  # at start, before data: as the service does
    docs = _seed(datetime.now(UTC))
    for start in range(0, len(docs), 1000):
        await found.col.insert_many(docs[start : start + 1000])
    try:
        yield found
    finally:
        await client.close()


async def test_every_delivery_log_query_uses_an_index(log: MongoDeliveryLog) -> None:
    now = datetime.now(UTC)
    some = await log.col.find_one({"state": d.SENDING})
    assert some is not None
    key, owner, attempt = some["_id"], some["owner"], some["attempts"]
    by_key = [
        ("get", {"_id": key}),
        ("claim", s.claim_filter(key, now)),
        ("first claim", s.first_claim_filter(key, now)),
        ("commit", s.commit_filter(key, owner, attempt)),
        ("decide by the owner", s.decide_filter(key, attempt, "owner", owner, now)),
        ("decide by recovery", s.decide_filter(key, attempt, "recovery", owner, now)),
        ("mark published", s.published_filter(key, "e")),
    ]
    for name, query in by_key:
        plan = await explain_find(log.col, query, limit=1)
        try:
            assert_index_backed(plan)
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None

    due = await explain_find(log.col, s.due_filter(now), sort=[("next_attempt_at", 1)], limit=50)
    assert_index_backed(due, "state_next_attempt")
    # then the due ones the dispatcher does not hold yet, by key
    due_new = await explain_find(log.col, {**s.due_filter(now), "_id": {"$in": [key]}})
    assert_index_backed(due_new)
    expired = await explain_find(log.col, s.expired_filter(now), limit=50)
    assert_index_backed(expired, "state_lease")
    unpublished = await explain_find(
        log.col, s.unpublished_filter(now), projection={"outbox": 1}, limit=50
    )
    assert_index_backed(unpublished, "outbox_pending")
    # a delivery's attempt history is in its own document ("get" above)
