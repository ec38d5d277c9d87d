"""Possible-duplicate hint: a complaint by the same complainant (keyed blind index of NIK or
phone, never the value) within the window, at any office, is shown with the register numbers
the caller may see; it never blocks a filing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from registry_testkit.events import received
from registry_testkit.wiring import TOKEN_SECRET, BuildRegistry, register

from sipuma.registry.store import SameAsk, Store
from sipuma.shared import events as ev
from sipuma.shared.auth import Role, mint_token

pytestmark = pytest.mark.integration
HERE, THERE = "KPUBC-TPK-TJPRIOK", "KPPBC-TMP-NGURAHRAI"
NIK = "3171012501900001"


def by(event: ev.ComplaintReceived, nik: str | None, phone: str | None) -> ev.ComplaintReceived:
    person = event.complainant.model_copy(update={"nik": nik, "phone": phone})
    return event.model_copy(update={"complainant": person})


def auth(office: str, *roles: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(TOKEN_SECRET, 'o-1', office, roles)}"}


async def test_same_complainant_is_hinted_across_offices(build_registry: BuildRegistry) -> None:
    built, recorder = build_registry()
    now = datetime.now(UTC)
    first = (
        await register(
            built.registry, by(received(HERE, received_at=now - timedelta(days=3)), NIK, None)
        )
    )["number"]
    elsewhere = (
        await register(
            built.registry,
            by(received(THERE, received_at=now - timedelta(days=1)), None, "+6281311112222"),
        )
    )["number"]
    long_ago = by(received(HERE, received_at=now - timedelta(days=90)), NIK, None)
    await register(built.registry, long_ago)
    stranger = (await register(built.registry, by(received(HERE), "3171012501900002", None)))[
        "number"
    ]
    # The new filing: same NIK as `first`, same phone as `elsewhere`; it is numbered all the same.
    latest = (
        await register(
            built.registry, by(received(HERE, received_at=now), NIK, "+62 813-1111-2222")
        )
    )["number"]

    # For intake's answer: the hint on the restricted topic names every office's number.
    hinted = recorder.of(ev.ComplaintDuplicatesHinted)[-1]
    assert {d.register_number for d in hinted.duplicates} == {first, elsewhere}
    assert recorder.of(ev.ComplaintDuplicatesHinted)[-2].duplicates == []  # the stranger's

    raw = await built.store.complaints.find_one({"office_code": HERE, "match_keys": {"$size": 2}})
    assert raw is not None and NIK not in str(raw["match_keys"])

    transport = httpx.ASGITransport(app=built.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://r") as http:
        mine = (
            await http.get(f"/v1/complaints/{latest}", headers=auth(HERE, Role.RECEIVER))
        ).json()
        hints = mine["possible_duplicates"]
        assert [h["register_number"] for h in hints] == [None, first]  # newest first
        assert hints[0] == hints[0] | {"office_code": THERE, "visible": False}
        boss = await http.get(f"/v1/complaints/{latest}", headers=auth(THERE, Role.SUPERVISOR))
        assert {h["register_number"] for h in boss.json()["possible_duplicates"]} == {
            first,
            elsewhere,
        }
        alone = await http.get(f"/v1/complaints/{stranger}", headers=auth(HERE, Role.RECEIVER))
        assert alone.json()["possible_duplicates"] == []
        # The hint alone, for intake's answer: same hints, no identity, no audit entry.
        alone_hint = await http.get(
            f"/v1/complaints/{latest}/possible-duplicates", headers=auth(HERE, Role.RECEIVER)
        )
        assert alone_hint.json()["possible_duplicates"] == hints
        assert "complainant" not in alone_hint.text
        other = await http.get(
            f"/v1/complaints/{elsewhere}/possible-duplicates", headers=auth(HERE, Role.RECEIVER)
        )
        assert other.status_code == 404  # another office's number is not even confirmed


async def test_lookups_at_once_answer_as_one_query_each(store: Store) -> None:
    """Handlers that look at the same moment share one query (`Store._same_all`); each gets what
    its own query finds: its window, its keys, not itself, the newest 50 — also when a busy key
    makes the shared answer too big (each then runs its own)."""
    now = datetime.now(UTC)
    filings = [
        {
            "_id": f"c-{i:03d}",
            "office_code": HERE,
            "received_at": now - timedelta(days=i % 40),
            "match_keys": keys,
        }
        for i, keys in enumerate(
            [["k-a"], ["k-a", "k-b"], ["k-b"], ["k-c"], ["k-b", "k-d"]] * 8 + [["k-busy"]] * 140
        )
    ]
    await store.complaints.insert_many(filings)
    window = timedelta(days=30)

    def ask(complaint_id: str, keys: list[str], around: datetime) -> SameAsk:
        return SameAsk(complaint_id, tuple(keys), around - window, around + window)

    quiet = [
        ask("c-001", ["k-a", "k-b"], now),
        ask("c-003", ["k-c"], now - timedelta(days=20)),
        ask("c-new", ["k-d", "k-x"], now),
        ask("c-none", ["k-none"], now),
    ]
    busy = [*quiet, ask("c-busy", ["k-busy"], now)]
    for asks in (quiet, busy):
        together = await asyncio.gather(
            *(store.same_complainant(a.complaint_id, list(a.keys), a.start, a.end) for a in asks)
        )
        for a, found in zip(asks, together, strict=True):
            alone = await store._same_one(a)
            assert found == alone, a
            assert [d["_id"] for d in found] == [d["_id"] for d in alone]
    assert len(alone) == 50, "the busy key: the newest 50, as one query gives them"
    assert [d["_id"] for d in together[0]] and all(d["_id"] != "c-001" for d in together[0])
