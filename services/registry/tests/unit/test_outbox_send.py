"""The outbox sends what it stored: the stored JSON goes out as it is, and an event made by this
process is not parsed back from it (issue 15, bench (b)); a secret one is not kept in memory."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from sipuma.registry import outbox
from sipuma.registry.outbox import OutboxRelay, entry
from sipuma.registry.ports import OUTBOX_KINDS
from sipuma.shared import events as ev


class _Store:
    def __init__(self) -> None:
        self.marked: list[tuple[str, str, bool]] = []

    async def mark_sent(self, kind: str, key: str, *, secret: bool) -> None:
        self.marked.append((kind, key, secret))


class _Publish:
    def __init__(self) -> None:
        self.sent: list[tuple[ev.Event, str, str | None]] = []

    async def __call__(self, event: ev.Event, topic: str, payload: str | None = None) -> None:
        self.sent.append((event, topic, payload))


def _registered(seq: int = 1) -> ev.ComplaintRegistered:
    now = datetime.now(UTC)
    complaint = uuid.uuid4()
    return ev.ComplaintRegistered(
        source="registry",
        correlation_id=str(complaint),
        office_code="KPU-TPK",
        complaint_id=complaint,
        register_number=f"REG/KPU-TPK/2026/{seq:06d}",
        sequence=seq,
        register_year=2026,
        registered_at=now,
        received_at=now,
        channel="web_form",
    )


def _relay() -> tuple[OutboxRelay, _Store, _Publish]:
    store, publish = _Store(), _Publish()
    return OutboxRelay(store, publish), store, publish  # type: ignore[arg-type]


async def test_an_event_made_here_goes_out_as_made_with_its_stored_json() -> None:
    relay, store, publish = _relay()
    event = _registered()
    doc: dict[str, Any] = {"_id": "n1", "outbox": relay.entry(event, "complaint.registered.v1")}
    assert await relay.send("register_numbers", doc)
    [(sent, topic, payload)] = publish.sent
    assert sent is event  # not parsed back from the payload
    assert payload == doc["outbox"]["payload"] == event.model_dump_json()
    assert topic == "complaint.registered.v1"
    assert store.marked == [("register_numbers", "n1", False)]
    assert "due" not in doc["outbox"] and not relay._fresh
    assert not await relay.send("register_numbers", doc)  # sent: nothing again
    assert len(publish.sent) == 1


async def test_a_stored_entry_made_elsewhere_is_parsed_and_sent_unchanged() -> None:
    relay, _, publish = _relay()
    event = _registered()
    doc: dict[str, Any] = {"_id": "n2", "outbox": entry(event, "complaint.registered.v1")}
    await relay.send("register_numbers", doc)
    [(sent, _, payload)] = publish.sent
    assert sent is not event and sent == event
    assert payload == event.model_dump_json()


async def test_a_secret_entry_is_not_kept_and_loses_its_payload_once_sent() -> None:
    relay, store, _ = _relay()
    doc: dict[str, Any] = {
        "_id": "t1",
        "outbox": relay.entry(_registered(), "ticket.issued.v1", secret=True),
    }
    assert not relay._fresh
    await relay.send("tickets", doc)
    assert doc["outbox"]["payload"] is None
    assert store.marked == [("tickets", "t1", True)]


async def test_events_never_sent_from_here_are_not_kept_for_ever() -> None:
    relay, _, _ = _relay()
    for seq in range(outbox.FRESH_LIMIT + 10):
        relay.entry(_registered(seq + 1), "complaint.registered.v1")
    assert len(relay._fresh) == outbox.FRESH_LIMIT


async def test_the_relay_measures_the_outbox_age_once_per_age_interval_not_every_pass() -> None:
    stop = asyncio.Event()

    class _Quiet(_Store):
        claims = ages = 0

        async def claim_due(self, kind: str, now: datetime, lease: Any) -> None:
            self.claims += 1
            if self.claims == 3 * len(OUTBOX_KINDS):  # the third pass
                stop.set()

        async def oldest_unsent(self, kind: str) -> None:
            self.ages += 1

    store = _Quiet()
    relay = OutboxRelay(store, _Publish(), interval=0.001, age_interval=3600)  # type: ignore[arg-type]
    await relay.run(stop)
    assert store.claims == 3 * len(OUTBOX_KINDS)
    assert store.ages == len(OUTBOX_KINDS)  # the first pass only


async def test_an_empty_outbox_is_looked_at_after_1_3_then_7_passes_and_a_kick_looks_at_all() -> (
    None
):
    stop = asyncio.Event()
    kind = OUTBOX_KINDS[0]
    relay: OutboxRelay

    class _Empty(_Store):
        def __init__(self) -> None:
            super().__init__()
            self.passes = 0
            self.looks: list[int] = []  # the passes in which `kind` was looked at

        async def claim_due(self, claimed: str, now: datetime, lease: Any) -> None:
            if claimed == kind:
                self.looks.append(self.passes + 1)

        async def oldest_unsent(self, measured: str) -> None:  # once per pass (age_interval 0)
            if measured == kind:
                self.passes += 1
                if self.passes == 32:
                    relay.kick()  # the 33rd pass looks at every outbox
                if self.passes == 34:
                    stop.set()

    store = _Empty()
    relay = OutboxRelay(store, _Publish(), interval=0.001, age_interval=0)  # type: ignore[arg-type]
    await relay.run(stop)
    assert store.looks == [1, 3, 7, 15, 23, 31, 33]
