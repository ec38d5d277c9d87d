"""Use cases on the real store: outbox, de-duplication, tickets, the complaint record, status."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from registry_testkit.events import OFFICES, base, contact_provided, received
from registry_testkit.wiring import TICKET_KEY, BuildRegistry, register

from sipuma.registry import tickets
from sipuma.registry.domain import EVERY_OFFICE, Conflict, NotFound, Status, TransitionRefused
from sipuma.registry.outbox import GRACE
from sipuma.registry.store import Store
from sipuma.shared import events as ev
from sipuma.shared import payloads as p
from sipuma.shared.metrics import OUTBOX_OLDEST

pytestmark = pytest.mark.integration


async def _everything(store: Store) -> str:
    dump = []
    for name in await store.db.list_collection_names():
        dump += await store.db[name].find({}).to_list()
    return json.dumps(dump, default=str)


async def test_registered_event_is_stored_with_the_number_then_published_once(
    store: Store, build_registry: BuildRegistry
):
    built, recorder = build_registry()
    registry = built.registry
    event = received()
    number = await register(registry, event)
    assert number["number"] == f"PGD/{event.office_code}/2026/000001"
    registered = recorder.of(ev.ComplaintRegistered)
    assert len(registered) == 1 and registered[0].register_number == number["number"]
    assert registered[0].correlation_id == event.correlation_id  # the intake's, carried on
    # The number, then the possible-duplicate hint (restricted topic, for intake), each stored
    # before it left.
    assert recorder.stored_before_publish == [True, True]
    assert len(recorder.of(ev.ComplaintDuplicatesHinted)) == 1
    # Listed once Kafka took the event: the listing entry is the number's "sent" mark.
    listed = await store.listing.find_one({})
    assert listed is not None and listed["number_id"] == number["_id"]

    # Redelivery of the same event: same number, nothing new stored or emitted.
    assert (await register(registry, event))["number"] == number["number"]
    assert await store.numbers.count_documents({}) == 1
    assert len(recorder.of(ev.ComplaintRegistered)) == 1


async def test_an_unpublished_number_fails_the_handler_and_its_redelivery_publishes_it(
    store: Store, build_registry: BuildRegistry
):
    built, recorder = build_registry()
    registry = built.registry
    event = received(contact=p.TrackingContact(email="pengadu@example.org"))
    recorder.fail = 1
    with pytest.raises(ConnectionError):  # Kafka down: nothing may be committed
        await registry.receive(event)
    # The number and the ticket are stored all the same; the complaint is not listed yet.
    assert await store.numbers.count_documents({}) == 1
    assert await store.listing.count_documents({}) == 0
    assert recorder.of(ev.ComplaintRegistered) == []
    number = await register(registry, event)  # the redelivery
    assert [e.register_number for e in recorder.of(ev.ComplaintRegistered)] == [number["number"]]
    assert len(recorder.of(ev.TicketIssued)) == 1
    assert await store.listing.count_documents({}) == 1
    await registry.receive(event)  # and again: nothing more
    assert len(recorder.of(ev.ComplaintRegistered)) == 1
    assert len(recorder.of(ev.TicketIssued)) == 1
    assert await store.numbers.count_documents({}) == 1


async def test_an_unpublished_status_change_is_relayed_after_kafka_comes_back(
    store: Store, build_registry: BuildRegistry
):
    built, recorder = build_registry()
    registry, relay = built.registry, built.relay
    number = (await register(registry, received()))["number"]
    recorder.fail = 1
    await registry.change_status(number, Status.VERIFIED, "Data lengkap.", "uki-1", EVERY_OFFICE)
    # The step is stored (and answered) all the same, its outbox entry unsent; nothing published.
    assert recorder.of(ev.ComplaintStatusChanged) == []
    unsent = {"outbox.due": {"$exists": True}}
    assert await store.status_changes.count_documents(unsent) == 1
    assert await relay.relay_once() == 0  # not due yet: its own request may still send
    # The "outbox age" alert's gauge sees the waiting entry, and nothing once it is sent.
    await relay.observe_age()
    assert OUTBOX_OLDEST.labels("status_changes")._value.get() > 0
    later = datetime.now(UTC) + GRACE + timedelta(seconds=1)
    assert await relay.relay_once(at=later) == 1
    assert len(recorder.of(ev.ComplaintStatusChanged)) == 1
    assert await store.status_changes.count_documents(unsent) == 0
    await relay.observe_age()
    assert OUTBOX_OLDEST.labels("status_changes")._value.get() == 0
    assert await relay.relay_once(at=later) == 0  # sent: not again


async def test_replicas_relaying_together_publish_each_entry_once(
    store: Store, build_registry: BuildRegistry
) -> None:
    """The relay claims an entry with one atomic find_one_and_update: three replicas' relays
    running at once publish each due entry once."""
    built, recorder = build_registry()
    registry = built.registry
    numbers = [(await register(registry, received()))["number"] for _ in range(6)]
    recorder.fail = len(numbers)
    for number in numbers:
        await registry.change_status(
            number, Status.VERIFIED, "Data lengkap.", "uki-1", EVERY_OFFICE
        )
    assert recorder.of(ev.ComplaintStatusChanged) == []
    replicas = [build_registry() for _ in range(3)]  # each with its own client
    recorders = [r for _, r in replicas]
    later = datetime.now(UTC) + GRACE + timedelta(seconds=1)
    sent = await asyncio.gather(*(replica.relay.relay_once(at=later) for replica, _ in replicas))
    assert sum(sent) == len(numbers)
    published = [e for r in recorders for e in r.of(ev.ComplaintStatusChanged)]
    assert sorted(str(e.event_id) for e in published) == sorted(
        {str(e.event_id) for e in published}
    )
    assert len(published) == len(numbers)


async def test_redelivered_events_are_absorbed_once(store: Store, build_registry: BuildRegistry):
    built, _ = build_registry()
    registry = built.registry
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
    assert (await store.facts.find_one({}) or {})["_id"] == str(supplement.event_id)


async def test_ticket_is_issued_once_per_contact_and_kept_only_as_a_hash(
    store: Store, build_registry: BuildRegistry
):
    built, recorder = build_registry()
    registry = built.registry
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
    store: Store, build_registry: BuildRegistry
):
    built, recorder = build_registry()
    registry = built.registry
    event = received(OFFICES[1])
    await registry.absorb(contact_provided(event.office_code, event.complaint_id))
    assert recorder.of(ev.TicketIssued) == []  # no number yet: no ticket yet
    await registry.receive(event)
    issued = recorder.of(ev.TicketIssued)
    assert len(issued) == 1
    assert issued[0].register_number.startswith(f"PGD/{OFFICES[1]}/")


async def test_status_moves_through_the_follow_up_and_emits_changes(
    store: Store, build_registry: BuildRegistry
):
    built, recorder = build_registry()
    registry = built.registry
    number = (await register(registry, received()))["number"]
    await registry.change_status(number, Status.VERIFIED, "Data lengkap.", "uki-1", EVERY_OFFICE)
    with pytest.raises(TransitionRefused):
        await registry.change_status(number, Status.CLOSED, "Terlalu cepat.", "uki-1", EVERY_OFFICE)
    await registry.change_status(number, Status.IN_FOLLOW_UP, "Diperiksa.", "uki-1", EVERY_OFFICE)
    await registry.change_status(number, Status.CLOSED, "Selesai.", "uki-1", EVERY_OFFICE)
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


async def test_two_officers_changing_at_once_cannot_both_win(
    store: Store, build_registry: BuildRegistry
):
    built, _ = build_registry()
    registry = built.registry
    number = (await register(registry, received()))["number"]
    results = await asyncio.gather(
        registry.change_status(number, Status.VERIFIED, "A", "uki-1", EVERY_OFFICE),
        registry.change_status(number, Status.VERIFIED, "B", "uki-2", EVERY_OFFICE),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1
    assert all(isinstance(r, Conflict | TransitionRefused) for r in results if r not in wins)
    assert await store.status_changes.count_documents({}) == 1


async def test_register_year_is_the_office_local_year(store: Store, build_registry: BuildRegistry):
    built, _ = build_registry()
    registry = built.registry
    new_year_eve = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)  # 22:30 WIB, 00:30 WIT next day
    jakarta = await register(registry, received(OFFICES[0], occurred_at=new_year_eve))
    jayapura = await register(registry, received(OFFICES[2], occurred_at=new_year_eve))
    assert jakarta["number"].endswith("/2026/000001")
    assert jayapura["number"].endswith("/2027/000001")


async def test_replicas_racing_keep_one_fact_per_event(
    store: Store, build_registry: BuildRegistry
) -> None:
    """A fact's key is its event id: three replicas on their own connections absorbing the
    same four events at once store each exactly once, and the view counts every one."""
    first = received()
    await build_registry()[0].registry.receive(first)
    replicas = [build_registry()[0].registry for _ in range(3)]  # each with its own client
    events = [
        contact_provided(first.office_code, first.complaint_id, f"k{i}@example.org")
        for i in range(4)
    ]
    work = [r.absorb(e) for e in events for r in replicas]
    fresh = await asyncio.gather(*work)
    assert sum(fresh) == len(events)  # each event absorbed once, the others saw it
    facts = await store.facts.find({}).to_list()
    assert sorted(f["_id"] for f in facts) == sorted(str(e.event_id) for e in events)
    assert await store.tickets.count_documents({}) == len(events)  # a ticket per contact
    listed = await store.listed(str(first.complaint_id))
    assert listed is not None and listed["version"] == 2 * len(events)  # facts + tickets


async def test_a_stale_rebuild_of_the_view_never_overwrites_a_newer_one(
    store: Store, build_registry: BuildRegistry
) -> None:
    """The listing view is an atomically updated cache: a rebuild that saw fewer facts (it ran
    concurrently with the one that saw more, and wrote last) is ignored."""
    built, _ = build_registry()
    registry = built.registry
    number = await register(registry, received())
    complaint_id = number["complaint_id"]
    await store.set_view(complaint_id, {"status": "closed"}, version=5)
    await store.set_view(complaint_id, {"status": "verified"}, version=3)
    listed = await store.listed(complaint_id)
    assert listed is not None and listed["view"] == {"status": "closed"} and listed["version"] == 5


async def test_a_status_step_waits_for_the_listing(
    store: Store, build_registry: BuildRegistry
) -> None:
    """A number not listed yet (its registration crashed between the two): a status step is
    refused as unknown, so no step ever precedes a listing (a fresh listing reads no steps);
    the redelivery lists it and the step is taken then, in the view."""
    built, _ = build_registry()
    event = received()
    number = await register(built.registry, event)
    await store.listing.delete_one({"_id": str(event.complaint_id)})  # as before the listing
    with pytest.raises(NotFound):
        await built.registry.change_status(
            number["number"], Status.VERIFIED, "Data lengkap.", "uki-1", EVERY_OFFICE
        )
    assert await store.status_changes.count_documents({}) == 0
    await register(built.registry, event)  # the redelivery lists it
    await built.registry.change_status(
        number["number"], Status.VERIFIED, "Data lengkap.", "uki-1", EVERY_OFFICE
    )
    listed = await store.listing.find_one({"_id": str(event.complaint_id)})
    assert listed is not None and listed["view"]["status"] == Status.VERIFIED.value
