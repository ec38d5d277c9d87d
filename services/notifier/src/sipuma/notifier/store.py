"""The delivery log on MongoDB: the one adapter behind `ports.DeliveryLog`, and the only module
that touches the notifier's collections.

One document per ticket and channel (`_id` = `domain.delivery_id`), in the notifier's own
database.

**Insert-only facts**
- the delivery itself: inserted once per ticket and channel (a duplicate `_id` is refused, which
  is how a redelivered or repeated `TicketIssued` is recognised);
- the attempt history: one line per decided attempt in the delivery's own `history` array,
  pushed by the very update that writes the decision (one atomic single-document update: the
  history and the state never disagree, and no transaction is needed). Append-only; at most
  one line per attempt (`SIPUMA_RETRY_MAX_ATTEMPTS` bounds it). It holds no personal data
  (outcome, error kind and code, provider message id, times).

**The atomic view**: the delivery's state, changed only by conditional single-document updates
(each one atomic, so exactly one of several racing callers matches):
- **claim**: a conditional update of a due `pending` delivery (or a `claimed` one whose lease
  ran out: its owner died before the provider could get anything) to `claimed`, `attempts + 1`,
  with the claimer as owner, a lease and a token of its own (grouped: see `claim`);
- **commit**: `claimed` → `sending`, right before the provider may get the message, only by the
  owner of that attempt: a claimer that stalled and was claimed over cannot commit any more;
- **decide**: the owner (state `claimed` or `sending`, its own attempt number), or recovery
  (state `sending`, that attempt's lease over: the owner presumably died mid-call). Whoever
  matches first decides, its history line and outcome event with it; the other's update
  matches nothing.

The `job` (address, ticket number, register number) is kept only while the delivery is open and
removed by the final decision: personal data stays no longer than it is needed. A final decision
also writes the outcome event into the document (`outbox`, `outbox_pending: true`); it is
published after the decision is durable and then marked published, and the dispatcher publishes
whatever stays pending (same event id).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Container, Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from sipuma.notifier.domain import (
    CLAIMED,
    PENDING,
    SENDING,
    Actor,
    Decision,
    Delivery,
    Job,
    Outbox,
    PendingOutcome,
)
from sipuma.shared.grouped import Grouped
from sipuma.shared.identity_vault import IdentityVault
from sipuma.shared.mongo import create_indexes, insert_new

Doc = dict[str, Any]
DUPLICATE_KEY = 11000

# Every index the notifier needs, in one place; created at start, before any data is written.
# Each query below names the index it relies on; tests/integration/test_query_plans.py checks
# the plans.
DELIVERY_INDEXES = [
    # due(): pending deliveries whose next attempt is due, oldest first
    IndexModel([("state", ASCENDING), ("next_attempt_at", ASCENDING)], name="state_next_attempt"),
    # expired(): claimed / sending deliveries whose lease ran out
    IndexModel([("state", ASCENDING), ("lease_until", ASCENDING)], name="state_lease"),
    # unpublished(): decided outcomes Kafka has not taken yet
    IndexModel([("outbox_pending", ASCENDING), ("updated_at", ASCENDING)], name="outbox_pending"),
]


# -- the query shapes (filters) the log uses; the plan test explains each one ------------------
def claim_filter(key: str, now: datetime) -> Doc:
    return {
        "_id": key,
        "$or": [
            {"state": PENDING, "next_attempt_at": {"$lte": now}},
            # claimed and never committed, lease over: nothing reached the provider
            {"state": CLAIMED, "lease_until": {"$lt": now}},
        ],
    }


def first_claim_filter(key: str, now: datetime) -> Doc:
    """A first attempt's claim, by a caller that knows the delivery as recorded: it matches
    only while nothing changed since (no attempt yet, the job not erased)."""
    return {
        "_id": key,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": {"$lte": now},
        "job": {"$exists": True},
    }


def commit_filter(key: str, owner: str | None, attempt: int) -> Doc:
    return {"_id": key, "state": CLAIMED, "owner": owner, "attempts": attempt}


def decide_filter(key: str, attempt: int, by: Actor, owner: str | None, now: datetime) -> Doc:
    guard: Doc = {"_id": key, "attempts": attempt}
    if by == "owner":  # its own attempt, committed or not
        return guard | {"owner": owner, "state": {"$in": [CLAIMED, SENDING]}}
    return guard | {"state": SENDING, "lease_until": {"$lt": now}}  # recovery


def published_filter(key: str, event_id: str) -> Doc:
    return {"_id": key, "outbox.event_id": event_id}


def due_filter(now: datetime) -> Doc:
    return {"state": PENDING, "next_attempt_at": {"$lte": now}}


def expired_filter(now: datetime) -> Doc:
    return {"state": {"$in": [CLAIMED, SENDING]}, "lease_until": {"$lt": now}}


def unpublished_filter(older_than: datetime) -> Doc:
    return {"outbox_pending": True, "updated_at": {"$lte": older_than}}


# -- documents ----------------------------------------------------------------------------------
_DELIVERY_FIELDS = frozenset(f.name for f in dataclasses.fields(Delivery)) - {"key", "job"}


def to_document(delivery: Delivery) -> Doc:
    """A new delivery as it is inserted (the same field names as `Delivery`, `_id` its key)."""
    doc: Doc = {name: getattr(delivery, name) for name in _DELIVERY_FIELDS}
    doc = {name: value for name, value in doc.items() if value is not None}
    doc |= {"_id": delivery.key, "outbox_pending": False}
    if delivery.job is not None:
        doc["job"] = dataclasses.asdict(delivery.job)
    return doc


def to_delivery(doc: Doc) -> Delivery:
    job = doc.get("job")
    return Delivery(
        key=doc["_id"],
        job=Job(**job) if job else None,
        **{name: value for name, value in doc.items() if name in _DELIVERY_FIELDS},
    )


def decision_update(decision: Decision, now: datetime, line: Doc) -> Doc:
    """The update a decision makes: the owner and lease go, the attempt's history `line` is
    appended; a final one drops the personal data and puts the outcome event into the
    outbox."""
    values: Doc = {"state": decision.state, "updated_at": now}
    unset: Doc = {"owner": "", "lease_until": ""}
    if decision.next_attempt_at is not None:
        values["next_attempt_at"] = decision.next_attempt_at
    if decision.error is not None:
        values["last_error"] = decision.error
    if decision.provider is not None:
        values["provider"] = decision.provider
        values["provider_message_id"] = decision.provider_message_id
    if decision.final:
        values["finished_at"] = now
        unset["job"] = ""
    if decision.outbox is not None:
        outbox = decision.outbox
        values["outbox"] = {
            "event_id": outbox.event_id,
            "event_type": outbox.event_type,
            "json": outbox.json,
        }
        values["outbox_pending"] = True
    return {"$set": values, "$unset": unset, "$push": {"history": line}}


def history_line(attempt: Delivery, decision: Decision, now: datetime, token: str) -> Doc:
    """What attempt n came to; `token`: the deciding call's own, so that a batch whose updates
    did not all match can tell which ones did."""
    line: Doc = {
        "attempt": attempt.attempts,
        "outcome": decision.outcome,
        "by": decision.by,
        "started_at": attempt.attempt_started_at or attempt.claimed_at,
        "decided_at": now,
        "token": token,
    }
    if decision.error is not None:
        line["error"] = decision.error
    if decision.provider_message_id is not None:
        line["provider_message_id"] = decision.provider_message_id
    return line


class MongoDeliveryLog:
    """`ports.DeliveryLog` on a MongoDB-compatible store (single-document atomic updates only:
    no transactions).

    The writes every delivery makes (record, commit, decide, mark published) are group-committed
    (`sipuma.shared.grouped.Grouped`): the calls that arrive while one round trip is in flight
    go together in the next, with exactly the conditions and results each would have had alone.
    A batch of conditional updates is sent as one unordered bulk write; when all of them matched
    (the usual case) every caller won; when not (a race with recovery or another replica), the
    batch finds out per delivery which ones did, so a refused update stays refused for its
    caller only."""

    def __init__(
        self,
        client: AsyncMongoClient[Doc],
        database: str,
        collection: str,
        *,
        vault: IdentityVault | None = None,
    ) -> None:
        self.client = client
        self.vault = vault
        self.col: AsyncCollection[Doc] = client[database][collection]
        self._records = Grouped(self._record_many)
        # claims, commits, decisions and "published" marks are all conditional single-document
        # updates of this collection: they share one bulk write (issue 15: the decision was a
        # transaction of three round trips, the claims a bulk of their own)
        self._updates = Grouped(self._update_many)

    async def ensure_indexes(self) -> None:
        await create_indexes(
            self.col.database,
            {self.col.name: DELIVERY_INDEXES},
        )
        if self.vault is not None:
            await self.vault.ensure_key_vault()

    async def close(self) -> None:
        if self.vault is not None:
            await self.vault.close()

    # -- the job at rest: sealed under the complaint's data key (docs/identity.md) ------------
    async def _sealed(self, docs: list[Doc]) -> list[Doc]:
        if self.vault is None:
            return docs
        return await self.vault.seal_many([(doc["complaint_id"], doc, ("job",)) for doc in docs])

    async def _deliveries(self, docs: list[Doc]) -> list[Delivery]:
        """The deliveries with their jobs opened: their keys in one read for all of them."""
        if self.vault is not None and docs:
            docs = await self.vault.open_many(docs)
            for doc in docs:
                if isinstance(doc.get("job"), dict) and doc["job"].get("erased"):
                    doc.pop("job")  # erased: nothing left to send (the attempt fails for good)
        return [to_delivery(doc) for doc in docs]

    async def erase(self, complaint_id: str) -> int:
        """Erasure of a complaint's identity: the jobs themselves and its data key (every sealed
        job of it is unreadable, in backups too); how many deliveries lost theirs. The jobs go
        first: a claim that still finds its delivery's job came before the erasure (`claim`)."""
        result = await self.col.update_many(
            {"complaint_id": complaint_id, "job": {"$exists": True}}, {"$unset": {"job": ""}}
        )
        if self.vault is not None:
            await self.vault.erase(complaint_id)
        return result.modified_count

    async def ping(self) -> bool:
        await self.client.admin.command("ping")
        return True

    # -- the facts ----------------------------------------------------------------------------
    async def record(self, deliveries: Sequence[Delivery]) -> list[bool]:
        """One unordered insert (shared with the tickets recorded at the same moment): per
        delivery, True when it was new (a duplicate `_id` is refused for that document only;
        any other error raises)."""
        if not deliveries:
            return []
        return await self._records.add(deliveries)

    async def _record_many(
        self, batches: list[Sequence[Delivery]]
    ) -> list[list[bool] | BaseException]:
        docs = await self._sealed([to_document(d) for batch in batches for d in batch])
        inserted = await _insert_unordered(self.col, docs)
        answers: list[list[bool] | BaseException] = []
        for batch in batches:
            answers.append(inserted[: len(batch)])
            inserted = inserted[len(batch) :]
        return answers

    # -- the atomic view ----------------------------------------------------------------------
    async def claim(
        self,
        key: str,
        owner: str,
        now: datetime,
        lease: timedelta,
        known: Delivery | None = None,
    ) -> Delivery | None:
        """A conditional update of its own in the moment's shared bulk (`_update_many`), writing
        a token of its own. A first attempt whose caller knows the delivery as it was recorded
        (`known`: pending, no attempt yet, with its job) is claimed with `first_claim_filter`,
        which also asks that nothing changed since (still no attempt, the job still there):
        when the whole bulk matched, the delivery after the update is the known one plus this
        claim, and need not be read back (issue 15: the read was a store round trip per batch
        of first attempts). Otherwise the bulk reads back the deliveries it touched: a claim won
        when its token is there (the same key claimed twice in a batch wins once), as the
        delivery is after the update. A claimer that brought the job keeps its copy while the
        stored one is still there (no decryption: `erase` removes the jobs before their key,
        so a job still there was not erased at the claim)."""
        claimed = await self._updates.add(_Claim(key, owner, now, lease, known, uuid.uuid4().hex))
        return claimed if isinstance(claimed, Delivery) else None

    async def commit(self, claimed: Delivery, now: datetime, lease: timedelta) -> bool:
        return bool(await self._updates.add(_Commit(claimed, now, lease, uuid.uuid4().hex)))

    async def decide(self, attempt: Delivery, decision: Decision, now: datetime) -> bool:
        return bool(await self._updates.add(_Decide(attempt, decision, now, uuid.uuid4().hex)))

    async def mark_published(self, key: str, event_id: str) -> None:
        await self._updates.add(_Published(key, event_id))

    async def _update_many(self, items: list[_Update]) -> list[_Answer | BaseException]:
        """The claims, commits, decisions and published marks of the moment in one unordered
        bulk write of conditional single-document updates, each atomic as it would be alone
        (issue 15: four kinds of update, one round trip). A claim, commit or decision writes a
        token of its own (`claim_token`, `commit_token`, in its history line), so that when not
        all of them matched, one read of the deliveries tells exactly which did (the same
        attempt claimed, committed or decided twice must still win once). A mark matches unless
        the outbox already moved on; whether it did changes nothing (its answer is None)."""
        result = await self.col.bulk_write([item.update() for item in items], ordered=False)
        every = result.matched_count == len(items)
        unsure = {item.key for item in items if item.needs_read(every)}
        found: dict[str, Doc] = {}
        if unsure:
            found = {doc["_id"]: doc async for doc in self.col.find({"_id": {"$in": list(unsure)}})}
        answers: list[_Answer | BaseException] = [
            item.won(every, found.get(item.key)) for item in items
        ]
        # the claims won whose job is opened from the store (decrypted: their keys in one read)
        sealed = [n for n, answer in enumerate(answers) if answer is _OPEN]
        opened = await self._deliveries([found[items[n].key] for n in sealed])
        for n, delivery in zip(sealed, opened, strict=True):
            answers[n] = delivery
        return answers

    # -- what the dispatcher looks for --------------------------------------------------------
    async def due(
        self, now: datetime, limit: int, known: Container[str] = frozenset()
    ) -> tuple[list[Delivery], int]:
        """Index `state_next_attempt`: the keys first, then the deliveries not `known` (still
        due) with their jobs opened (a decryption; their keys: one read for the batch). The ones
        the dispatcher has queued already would be read, decoded and opened for nothing each
        time it looks (issue 15: 5 % of the notifier's time under load, then 2-3 % to decode
        them)."""
        due = due_filter(now)
        cursor = self.col.find(due, {"_id": 1}).sort("next_attempt_at", ASCENDING).limit(limit)
        keys = [doc["_id"] async for doc in cursor]
        new = [key for key in keys if key not in known]
        if not new:
            return [], len(keys)
        # in the first query's order: the DocumentDB gateway refuses this filter with a sort
        # ("should be replaced by the planner")
        found = {doc["_id"]: doc async for doc in self.col.find({**due, "_id": {"$in": new}})}
        docs = [found[key] for key in new if key in found]
        return await self._deliveries(docs), len(keys)

    async def expired(self, now: datetime, limit: int) -> list[Delivery]:
        """Index `state_lease`. `claimed` ones are simply claimed again; `sending` ones go to
        recovery."""
        cursor = self.col.find(expired_filter(now)).limit(limit)
        return await self._deliveries([doc async for doc in cursor])

    async def unpublished(self, older_than: datetime, limit: int) -> list[PendingOutcome]:
        """Index `outbox_pending`."""
        cursor = self.col.find(unpublished_filter(older_than), {"outbox": 1}).limit(limit)
        return [
            PendingOutcome(
                doc["_id"],
                Outbox(
                    doc["outbox"]["event_id"],
                    doc["outbox"]["event_type"],
                    doc["outbox"]["json"],
                ),
            )
            async for doc in cursor
        ]


def _first_attempt(known: Delivery | None) -> bool:
    """A copy of a delivery as recorded: pending, no attempt yet, its job in hand."""
    if known is None:
        return False
    return known.state == PENDING and known.attempts == 0 and known.job is not None


@dataclasses.dataclass(frozen=True)
class _Claim:
    key: str
    owner: str
    now: datetime
    lease: timedelta
    known: Delivery | None
    token: str

    @property
    def first(self) -> bool:
        return _first_attempt(self.known)

    def update(self) -> UpdateOne:
        now = self.now
        return UpdateOne(
            first_claim_filter(self.key, now) if self.first else claim_filter(self.key, now),
            {
                "$set": {
                    "state": CLAIMED,
                    "owner": self.owner,
                    "lease_until": now + self.lease,
                    "claimed_at": now,
                    "claim_token": self.token,
                },
                "$inc": {"attempts": 1},
            },
        )

    def needs_read(self, every: bool) -> bool:
        return not (every and self.first)

    def won(self, every: bool, doc: Doc | None) -> Delivery | object | None:
        """The delivery as claimed; `_OPEN` when its job is to be opened from `doc`."""
        known, now = self.known, self.now
        if every and self.first and known is not None:
            return dataclasses.replace(
                known,
                state=CLAIMED,
                attempts=1,
                owner=self.owner,
                lease_until=now + self.lease,
                claimed_at=now,
            )
        if doc is None or doc.get("claim_token") != self.token:
            return None
        if known is None or known.job is None or "job" not in doc:
            return _OPEN
        return dataclasses.replace(to_delivery({**doc, "job": None}), job=known.job)


@dataclasses.dataclass(frozen=True)
class _Commit:
    claimed: Delivery
    now: datetime
    lease: timedelta
    token: str

    @property
    def key(self) -> str:
        return self.claimed.key

    def update(self) -> UpdateOne:
        claimed = self.claimed
        return UpdateOne(
            commit_filter(claimed.key, claimed.owner, claimed.attempts),
            {
                "$set": {
                    "state": SENDING,
                    "lease_until": self.now + self.lease,
                    "attempt_started_at": self.now,
                    "commit_token": self.token,
                }
            },
        )

    def needs_read(self, every: bool) -> bool:
        return not every

    def won(self, every: bool, doc: Doc | None) -> bool:
        return every or (doc is not None and doc.get("commit_token") == self.token)


@dataclasses.dataclass(frozen=True)
class _Decide:
    attempt: Delivery
    decision: Decision
    now: datetime
    token: str

    @property
    def key(self) -> str:
        return self.attempt.key

    def update(self) -> UpdateOne:
        a, d, now = self.attempt, self.decision, self.now
        line = history_line(a, d, now, self.token)
        return UpdateOne(
            decide_filter(a.key, a.attempts, d.by, a.owner, now), decision_update(d, now, line)
        )

    def needs_read(self, every: bool) -> bool:
        return not every

    def won(self, every: bool, doc: Doc | None) -> bool:
        lines = doc.get("history", []) if doc is not None else []
        return every or any(line.get("token") == self.token for line in lines)


@dataclasses.dataclass(frozen=True)
class _Published:
    key: str
    event_id: str

    def update(self) -> UpdateOne:
        return UpdateOne(
            published_filter(self.key, self.event_id), {"$set": {"outbox_pending": False}}
        )

    def needs_read(self, every: bool) -> bool:
        return False

    def won(self, every: bool, doc: Doc | None) -> None:
        return None


_Update = _Claim | _Commit | _Decide | _Published
_OPEN = object()  # a claim won whose job is still to be opened (decrypted) from the store
_Answer = Delivery | bool | object | None


async def _insert_unordered(col: AsyncCollection[Doc], docs: list[Doc]) -> list[bool]:
    """Insert every document that is new; per document, True when it was inserted (a duplicate
    `_id` is refused for that document only; any other error raises)."""
    if not docs:
        return []
    if len(docs) == 1:
        return [await insert_new(col, docs[0])]
    try:
        await col.insert_many(docs, ordered=False)
    except BulkWriteError as error:
        errors = error.details.get("writeErrors", [])
        if error.details.get("writeConcernErrors") or any(
            e.get("code") != DUPLICATE_KEY for e in errors
        ):
            raise
        refused = {e["index"] for e in errors}
        return [n not in refused for n in range(len(docs))]
    return [True] * len(docs)


class MongoStaffAlertLog:
    """Staff reminders (`staff_alerts.py`): one document per reminder event and recipient,
    `_id` = `<event id>-<n>` (inserted once: a redelivered or replayed event inserts nothing),
    state `pending` → `sending` (claimed with a lease: one sender) → `sent`. A `sending` one
    whose lease ran out (its sender died) is claimed again and resent with the same Message-ID."""

    def __init__(self, client: AsyncMongoClient[Doc], database: str, collection: str) -> None:
        self.col: AsyncCollection[Doc] = client[database][collection]

    async def ensure_indexes(self) -> None:
        await create_indexes(
            self.col.database,
            {self.col.name: [IndexModel([("due", ASCENDING)], name="due", sparse=True)]},
        )

    async def record(self, alerts: Sequence[Doc]) -> list[bool]:
        return await _insert_unordered(self.col, list(alerts))

    async def claim_due(self, now: datetime, lease: timedelta) -> Doc | None:
        """One reminder to send (pending, or sending with its lease over), its lease pushed
        ahead in the same update; None when none is due."""
        return await self.col.find_one_and_update(
            {"due": {"$lte": now}},
            {"$set": {"state": "sending", "due": now + lease}},
            sort=[("due", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def sent(self, key: str, at: datetime) -> None:
        await self.col.update_one(
            {"_id": key}, {"$set": {"state": "sent", "sent_at": at}, "$unset": {"due": ""}}
        )
