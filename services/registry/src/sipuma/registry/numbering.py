"""Register numbers, unique and gapless per office and register year.

A number is one insert into `register_numbers` with `_id` = office/year/seq, a unique index on
(office, year, seq) and a unique index on the complaint id. The next seq is the highest one seen
plus one. So:
- *unique*: two complaints cannot insert the same seq (primary key);
- *once per complaint*: a complaint cannot insert a second seq (unique complaint id) — a
  redelivered event, a second replica after a rebalance, or a retry finds the first one;
- *gapless*: a seq is inserted only when seq-1 was seen to exist, and numbers are never deleted,
  so 1..n always exist (induction) — whatever crashed, nothing needs repair;
- a crash between the complaint insert and the number insert leaves an unnumbered complaint,
  numbered on redelivery (the offset was not committed) or by `recover` at startup.
A stale read of the highest seq only costs a retry. No counter is updated in place: FerretDB
1.24 does not apply conditional updates atomically, unique inserts it does.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from sipuma.registry.store import Doc, Store

# Builds the number document (with its ComplaintRegistered outbox entry) for (complaint, seq).
NumberDoc = Callable[[Doc, int], Doc]


class NumberingStuck(RuntimeError):
    pass


class Numberer:
    def __init__(self, store: Store, number_doc: NumberDoc, attempts: int = 500) -> None:
        self._store = store
        self._number_doc = number_doc
        self._attempts = attempts
        # Test hook: called with the step name; a test raises from it to simulate a crash.
        self.crash_point: Callable[[str], Any] = lambda step: None

    async def assign(self, complaint: Doc) -> Doc:
        """The complaint's number document: the existing one, or a new one with the next seq."""
        complaint_id = complaint["_id"]
        office, year = complaint["office_code"], int(complaint["register_year"])
        for attempt in range(self._attempts):
            existing = await self._store.number_of(complaint_id)
            if existing is not None:
                return existing
            seq = await self._store.highest_number(office, year) + 1
            doc = self._number_doc(complaint, seq)
            self.crash_point("before_insert")
            if await self._store.insert_once(self._store.numbers, doc):
                self.crash_point("after_insert")
                return doc
            await asyncio.sleep(min(0.002 * (attempt + 1), 0.05) * random.random())  # noqa: S311
        raise NumberingStuck(f"no register number for {complaint_id} after {self._attempts} tries")

    async def unnumbered(self, limit: int = 1000) -> list[Doc]:
        """Received complaints without a number (their numbering crashed part-way)."""
        candidates = await self._store.complaints.find(
            {"view.register_number": None, "register_year": {"$exists": True}}
        ).to_list(limit)
        return [c for c in candidates if await self._store.number_of(c["_id"]) is None]
