"""Complaint categories (kategori pengaduan, issue 18) by register number over HTTP on the real
store: compliance staff or a supervisor set one from the reviewed list, change it with a reason
(the previous value stays in the history), never a receiver, never another office's; an unknown
code is a 422 naming the field and the allowed codes; the list shows and filters by it; each
step publishes `complaint.categorised.v1` (codes only) through the outbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from registry_testkit.events import OFFICES, received
from registry_testkit.wiring import TOKEN_SECRET, BuildRegistry, register

from sipuma.registry.domain import CategoryConflict, OfficeScope
from sipuma.registry.main import Runtime
from sipuma.registry.outbox import GRACE
from sipuma.shared import events as ev
from sipuma.shared.auth import Role, mint_token

pytestmark = pytest.mark.integration
A, B = OFFICES[0], OFFICES[1]


def auth(office: str, *roles: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(TOKEN_SECRET, 'officer-7', office, roles)}"}


def client(built: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=built.app), base_url="http://reg")


STAFF, BOSS = auth(A, Role.COMPLIANCE), auth(A, Role.SUPERVISOR)
RECEIVER, OTHER = auth(A, Role.RECEIVER), auth(B, Role.COMPLIANCE)


async def test_set_change_and_history_with_events(build_registry: BuildRegistry) -> None:
    built, recorder = build_registry()
    number = (await register(built.registry, received(A)))["number"]
    other = (await register(built.registry, received(A)))["number"]
    url = f"/v1/complaints/{number.lower()}/category"  # any case, as every route by number
    async with client(built) as http:
        listed = (await http.get("/v1/complaint-categories", headers=STAFF)).json()
        assert {"code": "gratifikasi-suap", "label": {"id": "Gratifikasi atau suap",
                "en": "Gratification or bribery"}} in listed  # fmt: skip
        first = await http.post(url, json={"category": "pelayanan"}, headers=STAFF)
        assert first.status_code == 200, first.text
        assert first.json()["previous"] is None and first.json()["changed"] is True
        assert first.json()["label"]["id"] == "Kualitas pelayanan"
        same = await http.post(url, json={"category": "pelayanan"}, headers=STAFF)
        assert same.json()["changed"] is False  # a double click adds nothing
        no_reason = await http.post(url, json={"category": "pungutan-liar"}, headers=BOSS)
        assert no_reason.status_code == 422
        assert no_reason.json()["invalid-params"][0]["name"] == "reason"
        why = {"category": "pungutan-liar", "reason": "Analisis UKI: permintaan uang di loket."}
        changed = await http.post(url, json=why, headers=BOSS)
        assert changed.status_code == 200 and changed.json()["previous"] == "pelayanan"
        detail = (await http.get(f"/v1/complaints/{number}", headers=STAFF)).json()
        page = (await http.get("/v1/complaints", headers=STAFF)).json()["items"]
        only = await http.get("/v1/complaints?category=pungutan-liar", headers=STAFF)
        none_yet = await http.get("/v1/complaints?category=uncategorised", headers=STAFF)
        searched = await http.post(
            "/v1/complaints/search", json={"category": "pelayanan"}, headers=STAFF
        )
        csv = await http.get("/v1/complaints?format=csv", headers=STAFF)
        today = datetime.now(UTC).date()
        days = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
        counted = (await http.get("/v1/statistics", params=days, headers=STAFF)).json()
    assert detail["category"] == "pungutan-liar"
    assert detail["category_label"] == {"id": "Pungutan liar (pungli)", "en": "Illegal levies"}
    history = detail["category_history"]
    assert [(h["previous"], h["category"], h["by"]) for h in history] == [
        (None, "pelayanan", "officer-7"),
        ("pelayanan", "pungutan-liar", "officer-7"),
    ]
    assert history[1]["reason"] == why["reason"] and history[1]["previous_label"]["id"]
    assert {i["register_number"]: i["category"] for i in page} == {
        number: "pungutan-liar",
        other: None,
    }
    assert [i["register_number"] for i in only.json()["items"]] == [number]
    by_category = counted["offices"][0]["by_category"]
    assert (by_category["pungutan-liar"], by_category["uncategorised"]) == (1, 1)
    assert by_category["pelayanan"] == 0  # the current category counts, not the history
    assert [i["register_number"] for i in none_yet.json()["items"]] == [other]
    assert searched.json()["items"] == []  # changed since: the current category counts
    header, *rows = csv.text.lstrip("\ufeff").splitlines()
    assert header.split(",")[-1] == "category"
    assert sorted(r.split(",")[-1] for r in rows) == ["", "pungutan-liar"]
    # One event per step (not for the repeat), codes only: the reason stays in the registry.
    published = recorder.of(ev.ComplaintCategorised)
    assert [(e.previous_category, e.category) for e in published] == [
        (None, "pelayanan"),
        ("pelayanan", "pungutan-liar"),
    ]
    assert all(e.register_number == number and e.office_code == A for e in published)
    assert why["reason"] not in str([e.model_dump() for e in published])


async def test_refusals_change_nothing(build_registry: BuildRegistry) -> None:
    built, recorder = build_registry()
    number = (await register(built.registry, received(A)))["number"]
    url = f"/v1/complaints/{number}/category"
    async with client(built) as http:
        unknown = await http.post(url, json={"category": "korupsi"}, headers=STAFF)
        assert unknown.status_code == 422
        param = unknown.json()["invalid-params"][0]
        assert param["name"] == "category" and param["code"] == "category_unknown"
        assert "gratifikasi-suap" in param["messages"]["id"]
        assert "gratifikasi-suap" in param["messages"]["en"]
        # "uncategorised" filters the list; it is not a category one can choose.
        chosen = await http.post(url, json={"category": "uncategorised"}, headers=STAFF)
        assert chosen.status_code == 422
        bad_filter = await http.get("/v1/complaints?category=korupsi", headers=STAFF)
        assert bad_filter.status_code == 422
        assert bad_filter.json()["invalid-params"][0]["name"] == "query.category"
        receiver = await http.post(url, json={"category": "lainnya"}, headers=RECEIVER)
        assert receiver.status_code == 403
        elsewhere = await http.post(url, json={"category": "lainnya"}, headers=OTHER)
        assert elsewhere.status_code == 404  # another office's number is not even confirmed
        missing = await http.post(
            f"/v1/complaints/{A[:3]}/none/category", json={"category": "lainnya"}, headers=STAFF
        )
        assert missing.status_code == 404
        detail = (await http.get(f"/v1/complaints/{number}", headers=STAFF)).json()
    assert detail["category"] is None and detail["category_history"] == []
    assert detail["category_label"]["id"] == "Belum dikategorikan"
    assert recorder.of(ev.ComplaintCategorised) == []


async def test_a_categorisation_kafka_did_not_take_is_relayed_once(
    build_registry: BuildRegistry,
) -> None:
    """Stored and answered all the same; its event leaves with the relay, once."""
    built, recorder = build_registry()
    number = (await register(built.registry, received(A)))["number"]
    recorder.fail = 1
    scope = OfficeScope(frozenset({A}))
    step, changed = await built.registry.categorise(number, "lainnya", None, "uki-1", scope)
    assert changed and step["step"] == 1
    assert recorder.of(ev.ComplaintCategorised) == []
    later = datetime.now(UTC) + GRACE + timedelta(seconds=1)
    assert await built.relay.relay_once(at=later) == 1
    assert await built.relay.relay_once(at=later) == 0
    [sent] = recorder.of(ev.ComplaintCategorised)
    assert str(sent.event_id) == step["outbox"]["event_id"]
    assert all(recorder.stored_before_publish)


async def test_two_officers_at_once_one_step_wins_and_a_late_mark_never_goes_back(
    build_registry: BuildRegistry,
) -> None:
    built, _ = build_registry()
    number = (await register(built.registry, received(A)))["number"]
    scope = OfficeScope(frozenset({A}))
    outcomes = await asyncio.gather(
        built.registry.categorise(number, "pelayanan", None, "uki-1", scope),
        built.registry.categorise(number, "lainnya", None, "uki-2", scope),
        return_exceptions=True,
    )
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 1 and [type(e) for e in lost] == [CategoryConflict]
    winner = won[0][0]
    complaint_id = winner["complaint_id"]
    steps = await built.store.categorisations_of(complaint_id)
    assert [s["category"] for s in steps] == [winner["category"]]
    # The listing's mark follows the latest step, whatever order the updates arrive in.
    await built.store.set_category(complaint_id, "gratifikasi-suap", 3)
    await built.store.set_category(complaint_id, "pungutan-liar", 2)
    listed = await built.store.listed(complaint_id)
    assert listed is not None and listed["category"] == "gratifikasi-suap"


async def test_a_listing_mark_lost_in_a_crash_catches_up_when_the_choice_is_repeated(
    build_registry: BuildRegistry,
) -> None:
    built, _ = build_registry()
    number = (await register(built.registry, received(A)))["number"]
    scope = OfficeScope(frozenset({A}))
    step, _ = await built.registry.categorise(number, "lainnya", None, "uki-1", scope)
    # As if the process died between the step's insert and the listing's update.
    unset = {"$unset": {"category": "", "category_step": ""}}
    await built.store.listing.update_one({"_id": step["complaint_id"]}, unset)
    again, changed = await built.registry.categorise(number, "lainnya", None, "uki-1", scope)
    assert not changed and again["_id"] == step["_id"]
    listed = await built.store.listed(step["complaint_id"])
    assert listed is not None and (listed["category"], listed["category_step"]) == ("lainnya", 1)
