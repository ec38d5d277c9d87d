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

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sipuma.registry.domain import Doc
from sipuma.registry.outbox import OutboxRelay, entry
from sipuma.registry.ports import ComplaintRepository
from sipuma.shared import audit_chain
from sipuma.shared import events as ev
from sipuma.shared.auth import Principal

HASHED = (
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


class AuditTrail:
    def __init__(
        self,
        store: ComplaintRepository,
        relay: OutboxRelay,
        topic: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._log = store.audit_log
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
        now = audit_chain.millis(self._clock())
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
        fact: Doc = {
            "complaint_id": complaint_id,
            "office_code": office_code,
            "officer_id": who.officer_id,
            "officer_office": who.office_code,
            "fields": shown,
            "purpose": purpose,
            "request_id": request_id,
            "at": now,
            "event_id": str(event.event_id),
            # Outside the hash: the only part of an entry that is ever updated (sent marks).
            "outbox": entry(event, self._topic, now=now),
        }
        doc = await audit_chain.append(self._log.last, self._log.add, fact, HASHED)
        await self._relay.send_soon("identity_audit", doc)
        return doc

    async def entries(
        self, complaint_id: str | None = None, officer_id: str | None = None, limit: int = 200
    ) -> list[Doc]:
        return await self._log.entries(complaint_id, officer_id, limit)

    async def verify(self) -> dict[str, Any]:
        return await audit_chain.verify(self._log.chain(), HASHED)
