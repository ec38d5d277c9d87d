"""Use cases on the real store: outbox, de-duplication, tickets, the complaint record, status."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from pymongo.asynchronous.collection import AsyncCollection
from registry_testkit.events import OFFICES, base, contact_provided, received
from registry_testkit.wiring import TICKET_KEY, make_registry

from sipuma.registry import tickets
from sipuma.registry.domain import DEFAULT_NUMBER_FORMAT, Status, TransitionRefused
from sipuma.registry.main import PRODUCED
from sipuma.registry.outbox import OutboxRelay
from sipuma.registry.service import Config, Conflict, Registry, Topics
from sipuma.registry.store import Store
from sipuma.shared import events as ev
from sipuma.shared import payloads as p
from sipuma.shared.offices import OfficeDirectory
from tests.harness.endpoints import Endpoints

pytestmark = pytest.mark.integration


async def _everything(store: Store) -> str:
    dump = []
    for name in await store.db.list_collection_names():
        dump += await store.db[name].find({}).to_list()
    return json.dumps(dump, default=str)


async def test_registered_event_is_stored_with_the_number_then_published_once(store: Store):
    registry, recorder = make_registry(store)
    event = received()
    number = await registry.receive(event)
    assert number["number"] == f"PGD/{event.office_code}/2026/000001"
    registered = recorder.of(ev.ComplaintRegistered)
    assert len(registered) == 1 and registered[0].register_number == number["number"]
    assert recorder.stored_before_publish == [True]
    # Listed once Kafka took the event: the listing entry is the number's "sent" mark.
    listed = await store.listing.find_one({})
    assert listed is not None and listed["number_id"] == number["_id"]

    # Redelivery of the same event: same number, nothing new stored or emitted.
    assert (await registry.receive(event))["number"] == number["number"]
    assert await store.numbers.count_documents({}) == 1
    assert len(recorder.of(ev.ComplaintRegistered)) == 1


async def test_an_unpublished_number_fails_the_handler_and_its_redelivery_publishes_it(
    store: Store,
):
    registry, recorder = make_registry(store)
    event = received(contact=p.TrackingContact(email="pengadu@example.org"))
    recorder.fail = 1
    with pytest.raises(ConnectionError):  # Kafka down: nothing may be committed
        await registry.receive(event)
    # The number and the ticket are stored all the same; the complaint is not listed yet.
    assert await store.numbers.count_documents({}) == 1
    assert await store.listing.count_documents({}) == 0
    assert recorder.of(ev.ComplaintRegistered) == []
    number = await registry.receive(event)  # the redelivery
    assert [e.register_number for e in recorder.of(ev.ComplaintRegistered)] == [number["number"]]
    assert len(recorder.of(ev.TicketIssued)) == 1
    assert await store.listing.count_documents({}) == 1
    await registry.receive(event)  # and again: nothing more
    assert len(recorder.of(ev.ComplaintRegistered)) == 1
    assert len(recorder.of(ev.TicketIssued)) == 1
    assert await store.numbers.count_documents({}) == 1


async def test_an_unpublished_status_change_is_relayed_after_kafka_comes_back(store: Store):
    registry, recorder = make_registry(store)
    number = (await registry.receive(received()))["number"]
    recorder.fail = 1
    await registry.change_status(number, Status.VERIFIED, "Data lengkap.", "uki-1")
    # The step is stored (and answered) all the same, with a pending marker; nothing published.
    assert recorder.of(ev.ComplaintStatusChanged) == []
    assert await store.pending.count_documents({}) == 1
    assert await registry.relay.relay_once(grace=timedelta(0)) == 1
    assert len(recorder.of(ev.ComplaintStatusChanged)) == 1
    assert await store.pending.count_documents({}) == 0
    assert await registry.relay.relay_once(grace=timedelta(0)) == 0  # sent: not again


async def test_redelivered_events_are_absorbed_once(store: Store):
    registry, _ = make_registry(store)
    first = received()
    await registry.receive(first)
    supplement = ev.ComplaintSupplemented(
        **base(first.office_code, first.complaint_id),
        supplement_id=uuid4(),
        kind=p.SupplementKind.CORRECTION,
        text="Tanggal kejadian 2 Oktober, bukan 1 Oktober.",
        corrects="elements.when",
        reason="Pengadu mengingat kembali tanggalnya.",
        recorded_at=datetime.now(UTC),
        officer_id="198001012005011001",
    )
    assert await registry.absorb(supplement) is True
    assert await registry.absorb(supplement) is False
    assert await store.facts.count_documents({}) == 1
    await asyncio.gather(*(registry.absorb(supplement) for _ in range(5)))  # replicas racing
    assert await store.facts.count_documents({}) == 1


async def test_ticket_is_issued_once_per_contact_and_kept_only_as_a_hash(store: Store):
    registry, recorder = make_registry(store)
    event = received(contact=p.TrackingContact(email="pengadu@example.org"))
    await registry.receive(event)
    await registry.receive(event)  # redelivery
    issued = recorder.of(ev.TicketIssued)
    assert len(issued) == 1
    plain = issued[0].ticket_number
    canonical = tickets.parse(plain)
    assert canonical is not None
    ticket = await store.tickets.find_one({})
    assert ticket is not None and ticket["hash"] == tickets.ticket_hash(TICKET_KEY, canonical)
    everything = await _everything(store)
    assert plain not in everything and canonical not in everything  # not even in the outbox

    # A new contact later: a second ticket; the same contact event again: nothing more.
    later = contact_provided(event.office_code, event.complaint_id, "baru@example.org")
    await registry.absorb(later)
    await registry.absorb(later)
    assert len(recorder.of(ev.TicketIssued)) == 2
    assert recorder.of(ev.TicketIssued)[1].contact.email == "baru@example.org"
    assert all(recorder.stored_before_publish)


async def test_contact_that_arrives_before_the_complaint_gets_its_ticket_on_registration(
    store: Store,
):
    registry, recorder = make_registry(store)
    event = received(OFFICES[1])
    await registry.absorb(contact_provided(event.office_code, event.complaint_id))
    assert recorder.of(ev.TicketIssued) == []  # no number yet: no ticket yet
    await registry.receive(event)
    issued = recorder.of(ev.TicketIssued)
    assert len(issued) == 1
    assert issued[0].register_number.startswith(f"PGD/{OFFICES[1]}/")


async def test_status_moves_through_the_follow_up_and_emits_changes(store: Store):
    registry, recorder = make_registry(store)
    number = (await registry.receive(received()))["number"]
    await registry.change_status(number, Status.VERIFIED, "Data lengkap.", "uki-1")
    with pytest.raises(TransitionRefused):
        await registry.change_status(number, Status.CLOSED, "Terlalu cepat.", "uki-1")
    await registry.change_status(number, Status.IN_FOLLOW_UP, "Diperiksa.", "uki-1")
    await registry.change_status(number, Status.CLOSED, "Selesai.", "uki-1")
    changes = recorder.of(ev.ComplaintStatusChanged)
    assert [(c.from_status, c.to_status) for c in changes] == [
        ("registered", "verified"),
        ("verified", "in_follow_up"),
        ("in_follow_up", "closed"),
    ]
    assert "Selesai" not in changes[-1].model_dump_json()  # staff notes stay in the registry
    assert recorder.stored_before_publish and all(recorder.stored_before_publish)
    listed = await store.listing.find_one({})
    assert listed is not None and listed["view"]["status"] == "closed"


async def test_two_officers_changing_at_once_cannot_both_win(store: Store):
    registry, _ = make_registry(store)
    number = (await registry.receive(received()))["number"]
    results = await asyncio.gather(
        registry.change_status(number, Status.VERIFIED, "A", "uki-1"),
        registry.change_status(number, Status.VERIFIED, "B", "uki-2"),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1
    assert all(isinstance(r, Conflict | TransitionRefused) for r in results if r not in wins)
    assert await store.status_changes.count_documents({}) == 1


async def test_register_year_is_the_office_local_year(store: Store):
    registry, _ = make_registry(store)
    new_year_eve = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)  # 22:30 WIB, 00:30 WIT next day
    jakarta = await registry.receive(received(OFFICES[0], occurred_at=new_year_eve))
    jayapura = await registry.receive(received(OFFICES[2], occurred_at=new_year_eve))
    assert jakarta["number"].endswith("/2026/000001")
    assert jayapura["number"].endswith("/2027/000001")


async def test_the_consumer_reads_and_writes_by_key_only(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FerretDB answers any other filter by decoding the whole collection: the consumer's cost
    must not grow with the database. (The status API and reports may still scan.)"""
    published: list[ev.Event] = []

    async def publish(event: ev.Event, topic: str) -> None:
        published.append(event)

    config = Config(DEFAULT_NUMBER_FORMAT, TICKET_KEY, Topics(*(s.name for s in PRODUCED)))
    registry = Registry(store, OfficeDirectory.default(), config, OutboxRelay(store, publish))
    filters: list[tuple[str, dict[str, Any]]] = []
    for name in ("find", "find_one", "update_one", "update_many", "delete_one", "delete_many"):
        original = getattr(AsyncCollection, name)

        def spy(
            self: AsyncCollection[Any],
            query: Any = None,
            *args: Any,
            __original: Any = original,
            **kwargs: Any,
        ) -> Any:
            filters.append((self.name, dict(query or {})))
            return __original(self, query, *args, **kwargs)

        monkeypatch.setattr(AsyncCollection, name, spy)

    first = received(contact=p.TrackingContact(email="pengadu@example.org"))
    early = received(OFFICES[1])
    await registry.absorb(contact_provided(early.office_code, early.complaint_id))  # before it
    for event in (first, early, first):  # the last one: a redelivery
        await registry.receive(event)
    await registry.absorb(contact_provided(first.office_code, first.complaint_id, "b@example.org"))
    await registry.absorb(
        ev.NotificationFailed(
            **base(first.office_code, first.complaint_id, "notifier"),
            ticket_event_id=first.event_id,
            channel=p.NotificationChannel.EMAIL,
            attempts=3,
            reason=p.NotificationFailure.RETRIES_EXHAUSTED,
            final=True,
        )
    )
    assert len([e for e in published if isinstance(e, ev.TicketIssued)]) == 3
    assert filters and all(
        list(query) == ["_id"] and isinstance(query["_id"], str) for _, query in filters
    ), [f for f in filters if list(f[1]) != ["_id"]]


async def test_replicas_racing_keep_one_fact_per_event_in_a_gapless_run(
    store: Store, endpoints: Endpoints
) -> None:
    """Facts are keyed complaint/slot (read by key) and unique by event id: three replicas on
    their own connections absorbing the same four events at once store each exactly once."""
    first = received()
    await make_registry(store)[0].receive(first)
    stores = [Store.connect(endpoints.mongo_uri, store.db.name) for _ in range(3)]
    try:
        replicas = [make_registry(s)[0] for s in stores]
        events = [
            contact_provided(first.office_code, first.complaint_id, f"k{i}@example.org")
            for i in range(4)
        ]
        work = [r.absorb(e) for e in events for r in replicas]
        fresh = await asyncio.gather(*work)
    finally:
        for s in stores:
            await s.close()
    assert sum(fresh) == len(events)  # each event absorbed once, the others saw it
    facts = await store.facts.find({}).to_list()
    assert sorted(f["slot"] for f in facts) == [1, 2, 3, 4]
    assert sorted(f["event_id"] for f in facts) == sorted(str(e.event_id) for e in events)
    assert await store.tickets.count_documents({}) == len(events)  # a ticket per contact
