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
A stale idea of the highest seq only costs a retry. No counter is updated in place: FerretDB
1.24 does not apply conditional updates atomically, unique inserts it does.

Speed without a weaker rule: each process keeps, per office and year, the highest seq it has
*seen to exist* and serialises its own numbering of that office with a lock, so the usual case
is one insert and no read. The cached seq was seen to exist and numbers are never deleted, so
inserting cached+1 keeps "seq-1 was seen to exist". Another replica's insert makes ours fail on
the key; the holder is read by `_id` and the top found again by probing keys (`highest_number`).

Finding a complaint's number without a scan (FerretDB answers any non-`_id` query by decoding
the whole collection): once registered, the listing entry names it (`number_id`); before that
(a redelivery after a crash) the complaint document carries `number_floor`, a seq that existed
when it was stored. Every seq inserted later is above it, so the number is among floor+1..top,
read newest first by key.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sipuma.registry.store import Doc, Store, insert_run

# Builds the number document (with its ComplaintRegistered outbox entry) for (complaint, seq).
NumberDoc = Callable[[Doc, int], Doc]


class NumberingStuck(RuntimeError):
    pass


@dataclass
class _Waiting:
    complaint: Doc
    future: asyncio.Future[Doc]
    attempts: int = 0


class Numberer:
    def __init__(
        self, store: Store, number_doc: NumberDoc, attempts: int = 500, batch: int = 200
    ) -> None:
        self._store = store
        self._number_doc = number_doc
        self._attempts = attempts
        self._batch = batch
        # (office, year) → highest seq this process has seen to exist; a hint, checked by insert.
        self._seen: dict[tuple[str, int], int] = {}
        self._locks: defaultdict[tuple[str, int], asyncio.Lock] = defaultdict(asyncio.Lock)
        self._waiting: defaultdict[tuple[str, int], list[_Waiting]] = defaultdict(list)
        # Test hook: called with the step name; a test raises from it to simulate a crash.
        self.crash_point: Callable[[str], Any] = lambda step: None

    async def floor(self, office: str, year: int) -> int:
        """A seq that exists now (0: none yet): the complaint's `number_floor`."""
        key = (office, year)
        if key not in self._seen:
            async with self._locks[key]:
                if key not in self._seen:
                    self._seen[key] = await self._store.highest_number(office, year)
        return self._seen[key]

    async def assign(self, complaint: Doc) -> Doc:
        """The complaint's number document: the existing one, or a new one with the next seq.

        `complaint` has `_id`, `office_code` and `register_year`, and when known `number_id`
        (a listing entry) or `number_floor` (a complaint document).

        Group commit: complaints of one office that wait while a numbering insert is in flight
        are numbered together, in the order they came, by one ordered `insert_many` of
        seen+1, seen+2, ... It inserts a prefix (it stops at the first refused key), so each
        inserted seq still follows one that exists."""
        hinted = await self._hinted(complaint)
        if hinted is not None:
            return hinted
        key = (complaint["office_code"], int(complaint["register_year"]))
        waiting = _Waiting(complaint, asyncio.get_running_loop().create_future())
        self._waiting[key].append(waiting)
        try:
            while not waiting.future.done():
                async with self._locks[key]:
                    if not waiting.future.done():
                        await self._drain(key)
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):  # not queued: in a batch, or done
                self._waiting[key].remove(waiting)
            raise
        return waiting.future.result()

    async def _drain(self, key: tuple[str, int]) -> None:
        queue = self._waiting[key]
        batch = queue[: self._batch]
        del queue[: len(batch)]
        try:
            await self._number(key, batch)
        except asyncio.CancelledError:
            self._seen.pop(key, None)  # whatever was inserted, the retry finds
            queue[:0] = [w for w in batch if not w.future.done()]  # their own callers go on
            raise
        except Exception as error:
            self._seen.pop(key, None)
            for waiting in batch:
                if not waiting.future.done():
                    waiting.future.set_exception(error)

    async def _number(self, key: tuple[str, int], batch: list[_Waiting]) -> None:
        office, year = key
        if key not in self._seen:
            self._seen[key] = await self._store.highest_number(office, year)
        # One document per complaint (a complaint may wait twice: racing redeliveries).
        groups: dict[str, list[_Waiting]] = {}
        for waiting in batch:
            groups.setdefault(waiting.complaint["_id"], []).append(waiting)
        waiters = list(groups.values())
        seen = self._seen[key]
        docs = [self._number_doc(w[0].complaint, seen + 1 + i) for i, w in enumerate(waiters)]
        self.crash_point("before_insert")
        inserted = await insert_run(self._store.numbers, docs)
        if inserted:
            self._seen[key] = seen + inserted
            self.crash_point("after_insert")
        for group, doc in zip(waiters[:inserted], docs, strict=False):
            for waiting in group:
                waiting.future.set_result(doc)
        if inserted == len(docs):
            return
        # Refused: the seq is taken (another replica) and/or the complaint has a number.
        group, doc = waiters[inserted], docs[inserted]
        later = [w for g in waiters[inserted + 1 :] for w in g]
        complaint_id = doc["complaint_id"]
        holder = await self._store.by_id(self._store.numbers, doc["_id"])
        found = None
        if holder is not None and holder["complaint_id"] == complaint_id:
            found = holder
        elif holder is None:
            # The seq is free, so the unique complaint id refused it: numbered before (a
            # redelivery), at most seq-1, which is the top.
            found = await self._lookup(group[0].complaint, doc["seq"] - 1)
            if found is None:
                self._seen.pop(key, None)  # neither? read everything again
        else:
            self._seen[key] = await self._store.highest_number(office, year, known=doc["seq"])
        if found is not None:
            for waiting in group:
                waiting.future.set_result(found)
        else:
            for waiting in group:
                waiting.attempts += 1
                if waiting.attempts >= self._attempts:
                    cid = waiting.complaint["_id"]
                    waiting.future.set_exception(
                        NumberingStuck(f"no register number for {cid} after {self._attempts} tries")
                    )
            later[:0] = [w for w in group if not w.future.done()]
            # Another replica numbers this office too: let it get ahead before trying again.
            attempt = min(w.attempts for w in group)
            await asyncio.sleep(min(0.002 * (attempt + 1), 0.05) * random.random())  # noqa: S311
        self._waiting[key][:0] = later  # next round, in the order they came

    async def number_for(self, complaint: Doc) -> Doc | None:
        """The complaint's number document if it has one; inserts nothing."""
        hinted = await self._hinted(complaint)
        if hinted is not None:
            return hinted
        office, year = complaint["office_code"], int(complaint["register_year"])
        known = complaint.get("number_floor") or 0
        return await self._lookup(complaint, await self._store.highest_number(office, year, known))

    async def _hinted(self, complaint: Doc) -> Doc | None:
        hint = complaint.get("number_id")  # a listing entry names its number: one `_id` read
        if not hint:
            return None
        found = await self._store.by_id(self._store.numbers, hint)
        return found if found is not None and found["complaint_id"] == complaint["_id"] else None

    async def _lookup(self, complaint: Doc, top: int) -> Doc | None:
        floor = complaint.get("number_floor")
        if floor is None:  # stored without a floor (by a test or an older version): a scan
            return await self._store.number_of(complaint["_id"])
        office, year = complaint["office_code"], int(complaint["register_year"])
        return await self._store.number_between(complaint["_id"], office, year, floor, top)

    async def unnumbered(self, limit: int = 1000) -> list[Doc]:
        """Received complaints without a number (their numbering crashed part-way)."""
        return [c for c in await self._store.unlisted(limit) if await self.number_for(c) is None]
