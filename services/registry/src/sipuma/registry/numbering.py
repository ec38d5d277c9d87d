"""Register numbers, unique and gapless per office and register year.

A number is an insert-only fact in `register_numbers`: `_id` = office/year/seq, unique indexes
on (office, year, seq), on the complaint id and on the number. The next seq is the highest one
seen plus one. So:
- *unique*: two complaints cannot insert the same seq;
- *once per complaint*: a complaint cannot insert a second seq (unique complaint id) — a
  redelivered event, a second replica after a rebalance, or a retry finds the first one;
- *gapless*: a seq is inserted only when seq-1 was seen to exist, and numbers are never deleted,
  so 1..n always exist (induction) — whatever crashed, nothing needs repair. It also makes the
  count of an office's numbers in a year its highest seq;
- a crash before the insert leaves an unnumbered complaint, numbered on redelivery (the offset
  was not committed) or by `Registry.recover` at start.
A stale idea of the highest seq only costs a retry. (A counter document updated with `$inc`
would leave a gap whenever a process died between the increment and the number's insert.)

Speed without a weaker rule: each process keeps, per office and year, the highest seq it has
seen to exist, so the usual case is one insert and no read; complaints of one office that wait
while a numbering insert is in flight are numbered together, in the order they came, by one
*ordered* `insert_many` of seen+1, seen+2, ... An ordered insert stops at the first refused key,
so what is inserted is a prefix and each inserted seq follows one that exists. When another
replica took a seq, the refused insert reads the seqs above it (an index range, a few entries).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sipuma.registry.domain import Doc
from sipuma.registry.ports import ComplaintRepository

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
        self,
        store: ComplaintRepository,
        number_doc: NumberDoc,
        attempts: int = 500,
        batch: int = 200,
    ) -> None:
        self._store = store
        self._number_doc = number_doc
        self._attempts = attempts
        self._batch = batch
        # (office, year) → highest seq this process has seen to exist; a hint, checked by insert.
        self._seen: dict[tuple[str, int], int] = {}
        self._locks: defaultdict[tuple[str, int], asyncio.Lock] = defaultdict(asyncio.Lock)
        self._waiting: defaultdict[tuple[str, int], list[_Waiting]] = defaultdict(list)

    async def assign(self, complaint: Doc, *, fresh: bool = False) -> Doc:
        """The complaint's number document: the existing one, or a new one with the next seq.

        `complaint` has `_id`, `office_code` and `register_year`. `fresh`: the complaint was
        stored just now, so it has no number yet (saves a read; a wrong guess costs one)."""
        if not fresh:
            found = await self._store.number_of(complaint["_id"])
            if found is not None:
                return found
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

    async def _top(self, office: str, year: int, known: int | None) -> int:
        """The highest seq of (office, year); `known`: one seen to exist (None: none known)."""
        if known is None:
            return await self._store.count_numbers(office, year)  # gapless: count = top
        return max([known, *await self._store.seqs_above(office, year, known)])

    async def _number(self, key: tuple[str, int], batch: list[_Waiting]) -> None:
        office, year = key
        if key not in self._seen:
            self._seen[key] = await self._top(office, year, None)
        # One document per complaint (a complaint may wait twice: racing redeliveries).
        groups: dict[str, list[_Waiting]] = {}
        for waiting in batch:
            groups.setdefault(waiting.complaint["_id"], []).append(waiting)
        waiters = list(groups.values())
        seen = self._seen[key]
        docs = [self._number_doc(w[0].complaint, seen + 1 + i) for i, w in enumerate(waiters)]
        inserted = await self._store.register(docs)
        if inserted:
            self._seen[key] = seen + inserted
        for group, doc in zip(waiters[:inserted], docs, strict=False):
            for waiting in group:
                waiting.future.set_result(doc)
        if inserted == len(docs):
            return
        # Refused: the seq is taken (another replica) and/or the complaint has a number.
        group, doc = waiters[inserted], docs[inserted]
        later = [w for g in waiters[inserted + 1 :] for w in g]
        holder = await self._store.number_at(doc["_id"])
        found = None
        if holder is not None and holder["complaint_id"] == doc["complaint_id"]:
            found = holder
        elif holder is None:
            # The seq is free, so the unique complaint id refused it: numbered before.
            found = await self._store.number_of(doc["complaint_id"])
            if found is None:
                self._seen.pop(key, None)  # neither? read the top again
        else:
            self._seen[key] = await self._top(office, year, doc["seq"])
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
