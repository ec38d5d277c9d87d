"""Nothing intake accepted is dropped: a complaint that cannot be numbered waits, visible, for a
person, and is numbered once the reason is gone (at the next start, or a redelivery)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from registry_testkit.events import contact_provided, received
from registry_testkit.wiring import BuildRegistry

from sipuma.registry.domain import UNKNOWN_OFFICE
from sipuma.registry.store import Store
from sipuma.shared import events as ev
from sipuma.shared import payloads as p

pytestmark = pytest.mark.integration
NEW_OFFICE = "KPPBC-TMP-BARU"


def _offices_with(code: str, folder: Path) -> Path:
    """An offices file (`SIPUMA_OFFICES_FILE`): the shipped offices and `code`."""
    shipped = json.loads(resources.files("sipuma.shared").joinpath("offices.json").read_text())
    extra = {"code": code, "name": "KPPBC Baru", "region": "Test", "timezone": "Asia/Makassar"}
    path = folder / "offices.json"
    path.write_text(json.dumps([*shipped, extra]))
    return path


def _metric(name: str, reason: str = UNKNOWN_OFFICE) -> float:
    return REGISTRY.get_sample_value(name, {"reason": reason}) or 0.0


async def test_a_complaint_of_an_unknown_office_waits_and_is_numbered_once_configured(
    store: Store, build_registry: BuildRegistry, tmp_path: Path
) -> None:
    """Reason `unknown_office` (an office removed from the registry's configuration while
    events were in flight, or configurations that differ between services): before, the event
    was dead-lettered and the complaint stayed 'received' for ever."""
    entered = _metric("sipuma_registry_needs_attention_total")
    built, recorder = build_registry()
    registry = built.registry
    event = received(NEW_OFFICE, contact=p.TrackingContact(email="pengadu@example.org"))
    assert await registry.receive(event) is None
    assert await registry.receive(event) is None  # a redelivery: still waiting, counted once
    await registry.absorb(contact_provided(NEW_OFFICE, event.complaint_id, "lain@example.org"))
    assert recorder.published == []  # no number, no ticket yet
    assert await store.numbers.count_documents({}) == 0

    total, waiting = await store.needing_attention(10)
    assert total == 1 and waiting[0]["_id"] == str(event.complaint_id)
    assert waiting[0]["attention"]["reason"] == UNKNOWN_OFFICE
    assert "intake" not in waiting[0]  # the list carries no personal data
    assert _metric("sipuma_registry_needs_attention_total") == entered + 1
    assert REGISTRY.get_sample_value("sipuma_registry_needs_attention_waiting") == 1

    # The office is configured and the registry restarted: the start-up pass numbers it.
    resolved = _metric("sipuma_registry_attention_resolved_total")
    rebuilt, recorder = build_registry(offices_file=_offices_with(NEW_OFFICE, tmp_path))
    restarted = rebuilt.registry
    assert await restarted.recover() == 1
    registered = recorder.of(ev.ComplaintRegistered)
    assert [e.register_number for e in registered] == [f"PGD/{NEW_OFFICE}/2026/000001"]
    assert len(recorder.of(ev.TicketIssued)) == 2  # both contacts, the later one included
    assert await store.needing_attention(10) == (0, [])
    stored = await store.complaint(str(event.complaint_id))
    assert stored is not None and "attention" not in stored
    assert _metric("sipuma_registry_attention_resolved_total") == resolved + 1
    assert REGISTRY.get_sample_value("sipuma_registry_needs_attention_waiting") == 0
    assert await restarted.recover() == 0  # nothing left


async def test_a_redelivery_after_the_office_is_configured_numbers_it(
    store: Store, build_registry: BuildRegistry, tmp_path: Path
) -> None:
    event = received(NEW_OFFICE)
    assert await build_registry()[0].registry.receive(event) is None
    fixed, recorder = build_registry(offices_file=_offices_with(NEW_OFFICE, tmp_path))
    number = await fixed.registry.receive(event)
    assert number is not None and number["seq"] == 1
    assert len(recorder.of(ev.ComplaintRegistered)) == 1
    assert await store.needing_attention(10) == (0, [])
