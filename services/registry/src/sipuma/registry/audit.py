"""Who saw whom (issue 16): every staff read that returns a complainant's identity leaves exactly
one audit entry — officer, the officer's office, complaint, fields shown, purpose, time, request
id — in an insert-only, hash-chained collection and, through the outbox, on the restricted topic
`sipuma.audit.identity-read.v1`.

The chain: entry n stores `prev` (entry n-1's hash) and `hash` = SHA-256 over `prev` and the
entry's canonical JSON; `seq` is unique, so two replicas cannot both append entry n (the loser
reads the new tail and tries again). An edited entry no longer matches its hash, a removed one
leaves a gap in `seq` and a `prev` that points nowhere: `verify` finds the first such entry.
Only the outbox bookkeeping of an entry is ever updated; it is outside the hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sipuma.registry.domain import Doc
from sipuma.registry.outbox import OutboxRelay, entry
from sipuma.registry.ports import ComplaintRepository
from sipuma.shared import events as ev
from sipuma.shared.auth import Principal

GENESIS = "0" * 64
HASHED = (
    "seq",
    "complaint_id",
    "office_code",
    "officer_id",
    "officer_office",
    "fields",
    "purpose",
    "request_id",
    "at",
    "event_id",
)
APPEND_ATTEMPTS = 100


def _millis(moment: datetime) -> datetime:
    # The store keeps milliseconds: hash what it will give back.
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def entry_hash(prev: str, doc: Doc) -> str:
    fields = {k: doc[k] for k in HASHED}
    fields["at"] = _millis(doc["at"]).isoformat()
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev.encode() + canonical.encode()).hexdigest()


class AuditTrail:
    def __init__(
        self,
        store: ComplaintRepository,
        relay: OutboxRelay,
        topic: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._relay = relay
        self._topic = topic
        self._clock = clock

    async def identity_read(
        self,
        who: Principal,
        complaint_id: str,
        office_code: str,
        fields: Iterable[str],
        purpose: str,
        request_id: str,
    ) -> Doc:
        """Append one entry; raises if it could not be stored (then no identity is shown)."""
        now = _millis(self._clock())
        shown = sorted(set(fields))
        event = ev.IdentityRead(
            source="registry",
            correlation_id=request_id,
            office_code=office_code,
            complaint_id=UUID(complaint_id),
            officer_id=who.officer_id,
            officer_office=who.office_code,
            fields=shown,
            purpose=purpose,
            request_id=request_id,
            read_at=now,
        )
        for _ in range(APPEND_ATTEMPTS):
            last = await self._store.last_audit()
            doc: Doc = {
                "seq": (last["seq"] + 1) if last else 1,
                "complaint_id": complaint_id,
                "office_code": office_code,
                "officer_id": who.officer_id,
                "officer_office": who.office_code,
                "fields": shown,
                "purpose": purpose,
                "request_id": request_id,
                "at": now,
                "event_id": str(event.event_id),
                "prev": last["hash"] if last else GENESIS,
            }
            doc["hash"] = entry_hash(doc["prev"], doc)
            doc["_id"] = doc["seq"]
            doc["outbox"] = entry(event, self._topic, now=now)
            if await self._store.add_audit(doc):
                await self._relay.send_soon("identity_audit", doc)
                return doc
        raise RuntimeError("audit chain contended: no entry appended")

    async def entries(
        self, complaint_id: str | None = None, officer_id: str | None = None, limit: int = 200
    ) -> list[Doc]:
        return await self._store.audit_entries(complaint_id, officer_id, limit)

    async def verify(self) -> dict[str, Any]:
        """Walk the chain from the start: the first entry that does not follow is reported."""
        prev, expected, count = GENESIS, 1, 0
        async for doc in self._store.audit_chain():
            if (
                doc["seq"] != expected
                or doc["prev"] != prev
                or entry_hash(prev, doc) != doc["hash"]
            ):
                return {"intact": False, "entries": count, "broken_at": expected}
            prev, expected, count = doc["hash"], expected + 1, count + 1
        return {"intact": True, "entries": count, "broken_at": None}
