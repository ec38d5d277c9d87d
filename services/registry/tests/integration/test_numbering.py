"""Register numbers on the real store: gapless and unique per office and year under concurrent
replicas (separate clients), redelivery, a crash on either side of the insert, and recovery."""

from __future__ import annotations

import asyncio
import random

import pytest
from pymongo.errors import DuplicateKeyError

from sipuma.registry.domain import Doc, number_key
from sipuma.registry.numbering import Numberer
from sipuma.registry.store import Store
from tests.harness.endpoints import Endpoints

pytestmark = pytest.mark.integration


def number_doc(complaint: Doc, seq: int) -> Doc:
    office, year = complaint["office_code"], complaint["register_year"]
    return {
        "_id": number_key(office, year, seq),
        "office_code": office,
        "year": year,
        "seq": seq,
        "number": f"PGD/{office}/{year}/{seq:06d}",
        "complaint_id": complaint["_id"],
    }


async def _receive(store: Store, cid: str, office: str, year: int = 2026) -> Doc:
    doc = {"_id": cid, "office_code": office, "register_year": year}
    await store.add_complaint(doc)
    return doc


async def _numbers(store: Store) -> dict[tuple[str, int], list[int]]:
    found: dict[tuple[str, int], list[int]] = {}
    for doc in await store.numbers.find({}).to_list():
        found.setdefault((doc["office_code"], doc["year"]), []).append(doc["seq"])
    return {key: sorted(seqs) for key, seqs in found.items()}


class Crash(Exception):
    pass


class CrashingStore(Store):
    """The real store (the same client and database), with a process "dying" on one side of
    the numbers' insert: before it, or after the store took it."""

    def __init__(self, store: Store, step: str) -> None:
        super().__init__(store.client, store.db.name)
        self.step = step

    async def register(self, numbers: list[Doc]) -> int:
        if self.step == "before_insert":
            raise Crash(self.step)
        inserted = await super().register(numbers)
        if inserted:
            raise Crash(self.step)
        return inserted


async def test_three_replicas_with_redelivery_stay_gapless_and_unique(
    store: Store, endpoints: Endpoints
) -> None:
    # Three replicas = three clients with their own connection pools, racing for real.
    clients = [Store.connect(endpoints.mongo_uri, store.db.name) for _ in range(3)]
    try:
        replicas = [Numberer(s, number_doc) for s in clients]
        complaints = [
            await _receive(store, f"c{i:03d}", "ABC"[i % 3], 2026 + (i % 2)) for i in range(90)
        ]
        # Every complaint goes to two replicas (a rebalance), a third of them a third time.
        work = [(r, c) for c in complaints for r in random.sample(replicas, 2)]
        work += [(replicas[0], c) for c in complaints[::3]]
        random.shuffle(work)
        results = await asyncio.gather(*(r.assign(c) for r, c in work))
    finally:
        for client in clients:
            await client.close()

    by_complaint: dict[str, set[int]] = {}
    for (_, complaint), number in zip(work, results, strict=True):
        by_complaint.setdefault(complaint["_id"], set()).add(number["seq"])
    assert all(len(seqs) == 1 for seqs in by_complaint.values())  # same answer every time
    expected: dict[tuple[str, int], int] = {}
    for c in complaints:
        key = (c["office_code"], c["register_year"])
        expected[key] = expected.get(key, 0) + 1
    assert await _numbers(store) == {k: list(range(1, n + 1)) for k, n in expected.items()}


@pytest.mark.parametrize("step", ["before_insert", "after_insert"])
async def test_a_crash_on_either_side_of_the_insert_leaves_no_gap(store: Store, step: str) -> None:
    complaints = [await _receive(store, f"c{i}", "A") for i in range(4)]
    assert (await Numberer(store, number_doc).assign(complaints[0]))["seq"] == 1
    crashing = Numberer(CrashingStore(store, step), number_doc)
    with pytest.raises(Crash):
        await crashing.assign(complaints[1])

    # Another replica goes on; the crashed complaint comes again (redelivery) afterwards.
    other = Numberer(store, number_doc)
    assert (await other.assign(complaints[2]))["seq"] == (2 if step == "before_insert" else 3)
    again = await other.assign(complaints[1])
    assert again["seq"] == (3 if step == "before_insert" else 2)
    assert (await other.assign(complaints[1]))["seq"] == again["seq"]  # and again: same
    await other.assign(complaints[3])
    assert await _numbers(store) == {("A", 2026): [1, 2, 3, 4]}


async def test_the_store_refuses_a_second_holder_of_a_seq_or_a_second_seq(store: Store) -> None:
    a, b = await _receive(store, "a", "A"), await _receive(store, "b", "A")
    assert await store.register([number_doc(a, 1)]) == 1
    assert await store.register([number_doc(b, 1)]) == 0  # same seq
    assert await store.register([number_doc(a, 2)]) == 0  # same complaint
    with pytest.raises(DuplicateKeyError):
        await store.numbers.insert_one(number_doc(b, 1))


async def test_a_stale_replica_finds_the_top_from_the_index_and_goes_on(store: Store) -> None:
    """A replica that last saw seq 1 while another numbered 2..6 is refused once, reads the seqs
    above the refused one, and takes 7; a fresh replica starts from the count (gapless: the
    count is the top)."""
    stale = Numberer(store, number_doc)
    assert (await stale.assign(await _receive(store, "first", "A")))["seq"] == 1
    other = Numberer(store, number_doc)
    for i in range(5):
        await other.assign(await _receive(store, f"c{i}", "A"))
    assert (await stale.assign(await _receive(store, "late", "A")))["seq"] == 7
    assert (await Numberer(store, number_doc).assign(await _receive(store, "new", "A")))["seq"] == 8
    # A redelivery finds its number by the unique complaint id, whichever replica asks.
    assert (await other.assign({"_id": "late", "office_code": "A", "register_year": 2026}))[
        "seq"
    ] == 7
    assert await _numbers(store) == {("A", 2026): list(range(1, 9))}
