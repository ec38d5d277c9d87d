"""`IdempotencyAnswers` on a MongoDB-wire store: one document per (scope, key), shared by every
replica, so a retry that lands on another replica is answered the same.

A request takes the key by inserting its document (`_id` unique: of two racing requests exactly
one inserts, the other reads it → in progress). The holder renews its lease (`lease_s`) every
third of it while it runs; a replica that died mid-request stops renewing, and a retry takes the
key over once the lease ran out (the service's own ids, derived from the key, keep that retry
from storing twice). `finish` puts the answer in;
`abandon` deletes the document. Documents expire `ttl_s` after they were made (TTL index
`expires`; the store's TTL task removes them some time later, so `begin` also treats an expired
document as absent).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from sipuma.shared.idempotency import DEFAULT_TTL_S, Outcome, StoredAnswer

Doc = dict[str, Any]
RUNNING, DONE = "running", "done"


def answer_indexes(ttl_s: float) -> list[IndexModel]:
    """The collection's one index besides `_id`: expiry (changing the TTL needs a `collMod`)."""
    return [IndexModel([("created_at", ASCENDING)], name="expires", expireAfterSeconds=int(ttl_s))]


def _doc_id(scope: str, key: str) -> str:
    # Hashed: fixed length, and the officer id and the client's key stay out of the document.
    return hashlib.sha256(f"{scope}\x1f{key}".encode()).hexdigest()


class MongoIdempotencyStore:
    """Implements `sipuma.shared.idempotency.IdempotencyAnswers`. Its indexes
    (`answer_indexes(ttl_s)`) are created by the owning service with its others."""

    def __init__(
        self, collection: AsyncCollection[Doc], *, ttl_s: float = DEFAULT_TTL_S, lease_s: float
    ) -> None:
        self.collection = collection
        self.ttl_s = ttl_s
        self.lease_s = lease_s

    @property
    def indexes(self) -> list[IndexModel]:
        return answer_indexes(self.ttl_s)

    @property
    def renew_every_s(self) -> float:
        return self.lease_s / 3

    async def renew(self, scope: str, key: str) -> None:
        lease_until = datetime.now(UTC) + timedelta(seconds=self.lease_s)
        await self.collection.update_one(
            {"_id": _doc_id(scope, key), "state": RUNNING}, {"$set": {"lease_until": lease_until}}
        )

    async def begin(self, scope: str, key: str, print_: str) -> tuple[Outcome, StoredAnswer | None]:
        doc_id = _doc_id(scope, key)
        for _ in range(3):  # an expired document found is removed, then the key taken anew
            now = datetime.now(UTC)
            try:
                await self.collection.insert_one(
                    {
                        "_id": doc_id,
                        "state": RUNNING,
                        "print": print_,
                        "created_at": now,
                        "lease_until": now + timedelta(seconds=self.lease_s),
                    }
                )
                return Outcome.NEW, None
            except DuplicateKeyError:
                pass
            found = await self.collection.find_one({"_id": doc_id})
            if found is None:
                continue  # expired and removed in between
            if _aware(found["created_at"]) < now - timedelta(seconds=self.ttl_s):
                await self.collection.delete_one({"_id": doc_id, "created_at": found["created_at"]})
                continue
            if found["print"] != print_:
                return Outcome.MISMATCH, None
            if found["state"] == DONE:
                answer = found["answer"]
                return Outcome.REPLAY, StoredAnswer(
                    answer["status"], answer["body"], answer["headers"]
                )
            if _aware(found["lease_until"]) > now:
                return Outcome.IN_PROGRESS, None
            taken = await self.collection.update_one(  # its holder is gone: take it over
                {"_id": doc_id, "state": RUNNING, "lease_until": found["lease_until"]},
                {"$set": {"lease_until": now + timedelta(seconds=self.lease_s)}},
            )
            return (Outcome.NEW if taken.modified_count == 1 else Outcome.IN_PROGRESS), None
        return Outcome.IN_PROGRESS, None

    async def finish(self, scope: str, key: str, print_: str, answer: StoredAnswer) -> None:
        await self.collection.update_one(
            {"_id": _doc_id(scope, key)},
            {
                "$set": {
                    "state": DONE,
                    "print": print_,
                    "answer": {
                        "status": answer.status,
                        "body": answer.body,
                        "headers": answer.headers,
                    },
                },
                "$setOnInsert": {"created_at": datetime.now(UTC)},
            },
            upsert=True,
        )

    async def abandon(self, scope: str, key: str) -> None:
        await self.collection.delete_one({"_id": _doc_id(scope, key), "state": RUNNING})


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
