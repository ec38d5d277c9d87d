"""Staff corrections (issue 20) by register number over HTTP on the real store: reopen and undo
(supervisor only, new history entries with a reason, never an edit), forwarding with a
configured destination and a reference number, structured complainant corrections with the
previous value in the history and a current view."""

from __future__ import annotations

import httpx
import pytest
from registry_testkit.events import OFFICES, received
from registry_testkit.wiring import TOKEN_SECRET, BuildRegistry, register

from sipuma.registry.main import Runtime
from sipuma.shared import events as ev
from sipuma.shared.auth import Role, mint_token

pytestmark = pytest.mark.integration
A = OFFICES[0]


def auth(office: str, *roles: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(TOKEN_SECRET, 'officer-1', office, roles)}"}


def client(built: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=built.app), base_url="http://reg")


STAFF, BOSS = auth(A, Role.COMPLIANCE), auth(A, Role.SUPERVISOR)


async def test_reopen_and_undo_are_new_steps_with_a_reason(build_registry: BuildRegistry) -> None:
    built, recorder = build_registry()
    number = (await register(built.registry, received(A)))["number"]
    base = f"/v1/complaints/{number.lower()}"  # staff may type it in any case
    async with client(built) as http:
        for status in ("verified", "in_follow_up", "closed"):
            moved = await http.post(
                f"{base}/status", json={"status": status, "note": "ok"}, headers=STAFF
            )
            assert moved.status_code == 200 and moved.json()["register_number"] == number
        why = {"reason": "Bukti baru diterima dari pengadu."}
        assert (await http.post(f"{base}/reopen", json=why, headers=STAFF)).status_code == 403
        blank = await http.post(f"{base}/reopen", json={"reason": "  "}, headers=BOSS)
        assert blank.status_code == 422
        reopened = await http.post(f"{base}/reopen", json=why, headers=BOSS)
        assert reopened.status_code == 200
        assert (reopened.json()["from_status"], reopened.json()["to_status"]) == (
            "closed",
            "in_follow_up",
        )
        again = await http.post(f"{base}/reopen", json=why, headers=BOSS)
        assert again.status_code == 409 and "Selesai" in again.json()["messages"]["id"]
        undone = await http.post(f"{base}/undo", json={"reason": "Salah buka."}, headers=BOSS)
        assert undone.json()["to_status"] == "closed"
        detail = (await http.get(base, headers=STAFF)).json()
    steps = [h for h in detail["status_history"] if h["kind"] != "communication"]
    assert [h["kind"] for h in steps] == ["change", "change", "change", "reopen", "undo"]
    assert steps[3]["reason"] == why["reason"] and steps[4]["undoes"] == 4
    assert detail["status"] == "closed"
    moves = [
        (e.from_status.value, e.to_status.value) for e in recorder.of(ev.ComplaintStatusChanged)
    ]
    assert moves[-2:] == [("closed", "in_follow_up"), ("in_follow_up", "closed")]


async def test_forwarding_names_a_configured_destination_and_a_reference(
    build_registry: BuildRegistry,
) -> None:
    built, _ = build_registry()
    number = (await register(built.registry, received(A)))["number"]
    url = f"/v1/complaints/{number}/status"
    forward = {"status": "forwarded", "note": "Di luar kewenangan unit."}
    async with client(built) as http:
        listed = (await http.get("/v1/forward-destinations", headers=STAFF)).json()
        assert "ITJEN-KEMENKEU" in [d["code"] for d in listed]
        missing = await http.post(url, json=forward, headers=STAFF)
        assert missing.status_code == 422
        assert missing.json()["invalid-params"][0]["name"] == "destination"
        unknown = await http.post(
            url, json=forward | {"destination": "NOWHERE", "reference": "S-1"}, headers=STAFF
        )
        assert unknown.status_code == 422
        no_ref = await http.post(url, json=forward | {"destination": "KANWIL"}, headers=STAFF)
        assert no_ref.json()["invalid-params"][0]["name"] == "reference"
        stray = await http.post(
            url, json={"status": "verified", "note": "x", "reference": "S-1"}, headers=STAFF
        )
        assert stray.status_code == 422
        done = await http.post(
            url,
            json=forward | {"destination": "ITJEN-KEMENKEU", "reference": "S-123/KPU.01/2026"},
            headers=STAFF,
        )
        assert done.status_code == 200
        detail = (await http.get(f"/v1/complaints/{number}", headers=STAFF)).json()
    (step,) = detail["status_history"]
    assert step["destination"]["code"] == "ITJEN-KEMENKEU"
    assert step["reference"] == "S-123/KPU.01/2026"


async def test_complainant_corrections_keep_the_previous_value(
    build_registry: BuildRegistry,
) -> None:
    built, _ = build_registry()
    number = (await register(built.registry, received(A)))["number"]
    url = f"/v1/complaints/{number}/complainant-corrections"
    async with client(built) as http:
        empty = await http.post(url, json={"reason": "x"}, headers=STAFF)
        assert empty.status_code == 422
        bad = await http.post(url, json={"phone": "0812", "reason": "x"}, headers=STAFF)
        assert bad.status_code == 422 and bad.json()["invalid-params"][0]["name"] == "phone"
        first = await http.post(
            url, json={"phone": "+6281299998888", "reason": "Salah ketik."}, headers=STAFF
        )
        assert first.status_code == 201
        second = await http.post(
            url,
            json={"phone": "+6281377776666", "address": "Jl. Sudirman 2", "reason": "Pindah."},
            headers=STAFF,
        )
        detail = (await http.get(f"/v1/complaints/{number}", headers=STAFF)).json()
    assert second.json()["complainant_current"]["phone"] == "+6281377776666"
    assert detail["complainant"]["phone"] == "+6281234567890"  # as received, never edited
    assert detail["complainant_current"]["address"] == "Jl. Sudirman 2"
    trail = detail["complainant_corrections"]
    assert trail[0]["changes"] == [
        {"field": "phone", "previous": "+6281234567890", "value": "+6281299998888"}
    ]
    assert trail[1]["changes"][0]["previous"] == "+6281299998888"
    assert trail[1]["reason"] == "Pindah." and trail[1]["by"] == "officer-1"
