"""Every query evidence issues is served by an index, on collections big enough for the planner
to care (thousands of complaints and records, almost all of them published).

The filters come from `sipuma.evidence.store` itself (the functions the store uses), so a query
changed there is checked here. Updates and `find_one_and_update` are explained through the
`find` with the same filter (same planner, same indexes; see `tests/harness/plans.py`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.evidence.tests.support import OFFICE, remove_everything, settings_for
from sipuma.evidence import store as s
from sipuma.evidence.store import EvidenceStore
from tests.harness.endpoints import Endpoints
from tests.harness.plans import assert_index_backed, explain_find

pytestmark = pytest.mark.integration

COMPLAINTS = 3000
PER_COMPLAINT = 2


@pytest.fixture
async def store(endpoints: Endpoints) -> Any:
    settings = settings_for(endpoints, f"ev-{uuid.uuid4().hex[:12]}")
    found = EvidenceStore(settings.mongo_uri, settings.mongo_database)
    await found.prepare()  # at start, before data: as the service does
    now = datetime.now(UTC)
    complaints, records = [], []
    for n in range(COMPLAINTS):
        cid = str(uuid.uuid4())
        complaints.append(
            {"_id": cid, "office_code": OFFICE, "evidence_count": 2, "evidence_bytes": 2000}
        )
        for k in range(PER_COMPLAINT):
            records.append(
                {
                    "_id": str(uuid.uuid4()),
                    "complaint_id": cid,
                    "size_bytes": 1000,
                    "uploaded_at": now - timedelta(minutes=n, seconds=k),
                    "sealed": True,
                    "outbox_pending": n % 1000 == 0,  # a few still to publish
                    "outbox_event": "{}",
                }
            )
    for start in range(0, len(records), 1000):
        await found.evidence.insert_many(records[start : start + 1000])
    for start in range(0, len(complaints), 1000):
        await found.complaints.insert_many(complaints[start : start + 1000])
    try:
        yield found
    finally:
        await found.close()
        await remove_everything(settings)


async def test_every_evidence_query_uses_an_index(store: EvidenceStore) -> None:
    some = await store.evidence.find_one({"outbox_pending": False})
    assert some is not None
    cid, eid = some["complaint_id"], some["_id"]
    complaint_queries = [
        ("complaint by id (view upsert, lookup)", {"_id": cid}),
        ("reserve within limits", s.reserve_filter(cid, 1000, 100, 10**9)),
    ]
    for name, query in complaint_queries:
        try:
            assert_index_backed(await explain_find(store.complaints, query, limit=1))
        except AssertionError as error:
            raise AssertionError(f"{name}: {error}") from None
    by_id = await explain_find(store.evidence, {"_id": eid}, limit=1)  # sealed / published
    assert_index_backed(by_id)
    one = await explain_find(store.evidence, s.record_filter(cid, eid), limit=1)
    assert_index_backed(one)
    listing = await explain_find(store.evidence, s.list_filter(cid), sort=[("uploaded_at", 1)])
    assert_index_backed(listing, "complaint")
    pending = await explain_find(store.evidence, s.pending_filter(datetime.now(UTC)), limit=100)
    assert_index_backed(pending, "outbox_pending")
    oldest = await explain_find(
        store.evidence, s.OLDEST_PENDING_FILTER, sort=s.OLDEST_PENDING_SORT, limit=1
    )
    assert_index_backed(oldest, "outbox_pending")
    assert await store.oldest_pending() is not None  # the seeded records include pending ones


async def test_the_declared_indexes_are_made_and_the_first_releases_goes(
    endpoints: Endpoints,
) -> None:
    settings = settings_for(endpoints, f"ev-{uuid.uuid4().hex[:12]}")
    store = EvidenceStore(settings.mongo_uri, settings.mongo_database)
    try:
        await store.evidence.create_index([("outbox_pending", 1)])  # as the first release did
        await store.prepare()
        assert set(await store.evidence.index_information()) == {
            "_id_",
            "complaint",
            "outbox_pending",
        }
        answers = await store.answers.collection.index_information()
        assert answers["expires"]["expireAfterSeconds"] == int(store.answers.ttl_s)
    finally:
        await store.close()
        await remove_everything(settings)
