"""Staff read API, status changes, public tracking and the SLA report over HTTP (in-process
ASGI on the app `main.build` makes, as `sipuma-registry` does), on the real store."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from registry_testkit.events import OFFICES, base, received
from registry_testkit.wiring import TOKEN_SECRET, BuildRegistry, register

from sipuma.registry.main import Runtime
from sipuma.registry.service import Registry
from sipuma.shared import events as ev
from sipuma.shared import payloads as p
from sipuma.shared.auth import Role, mint_token

pytestmark = pytest.mark.integration
A, B = OFFICES[0], OFFICES[1]


def auth(office: str, *roles: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(TOKEN_SECRET, 'officer-1', office, roles)}"}


def client(built: Runtime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=built.app)
    return httpx.AsyncClient(transport=transport, base_url="http://registry")


async def _seed(registry: Registry) -> dict[str, str]:
    """Two complaints in office A (one with a failed SMS), one in B; register numbers by name."""
    a1 = received(A, contact=p.TrackingContact(mobile="+6281234567890"))
    a2 = received(A, channel=p.Channel.EMAIL)
    b1 = received(B)
    numbers = {}
    for name, event in (("a1", a1), ("a2", a2), ("b1", b1)):
        numbers[name] = (await register(registry, event))["number"]
    await registry.absorb(
        ev.NotificationFailed(
            **base(A, a1.complaint_id, "notifier"),
            ticket_event_id=a1.event_id,
            channel=p.NotificationChannel.SMS,
            attempts=5,
            reason=p.NotificationFailure.RETRIES_EXHAUSTED,
            final=True,
        )
    )
    return numbers


async def test_staff_see_their_office_and_supervisors_see_all(
    build_registry: BuildRegistry,
) -> None:
    built, _ = build_registry()
    registry = built.registry
    numbers = await _seed(registry)
    async with client(built) as http:
        assert (await http.get("/v1/complaints")).status_code == 401
        mine = (await http.get("/v1/complaints", headers=auth(A, Role.RECEIVER))).json()
        assert {i["register_number"] for i in mine["items"]} == {numbers["a1"], numbers["a2"]}
        other = await http.get(f"/v1/complaints?office={B}", headers=auth(A, Role.RECEIVER))
        assert other.status_code == 403
        assert other.json()["messages"]["id"].startswith("Anda hanya")
        everyone = (await http.get("/v1/complaints", headers=auth(A, Role.SUPERVISOR))).json()
        assert everyone["total"] == 3

        failed = await http.get(
            "/v1/complaints?notification_failed=true", headers=auth(A, Role.COMPLIANCE)
        )
        assert [i["register_number"] for i in failed.json()["items"]] == [numbers["a1"]]
        by_channel = await http.get("/v1/complaints?channel=email", headers=auth(A, Role.RECEIVER))
        assert [i["register_number"] for i in by_channel.json()["items"]] == [numbers["a2"]]
        paged = await http.get("/v1/complaints?page=2&page_size=1", headers=auth(A, Role.RECEIVER))
        assert paged.json()["total"] == 2 and len(paged.json()["items"]) == 1
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
        later = await http.get(
            "/v1/complaints", params={"from": future}, headers=auth(A, Role.RECEIVER)
        )
        assert later.json()["total"] == 0
        bad = await http.get("/v1/complaints?page=0", headers=auth(A, Role.RECEIVER))
        assert bad.status_code == 422 and bad.json()["invalid-params"][0]["name"] == "query.page"

        detail = await http.get(f"/v1/complaints/{numbers['a1']}", headers=auth(A, Role.RECEIVER))
        assert detail.status_code == 200
        body = detail.json()
        assert body["complainant"]["name"] == "Siti Nur'aini"  # staff see the record
        assert body["notifications"]["sms"]["status"] == "failed"
        assert body["status_history"] == []
        hidden = await http.get(f"/v1/complaints/{numbers['b1']}", headers=auth(A, Role.RECEIVER))
        assert hidden.status_code == 404  # another office's number is not even confirmed


async def test_only_compliance_staff_move_the_status(build_registry: BuildRegistry) -> None:
    built, _ = build_registry()
    registry = built.registry
    numbers = await _seed(registry)
    url = f"/v1/complaints/{numbers['a1']}/status"
    change = {"status": "verified", "note": "Identitas dan unsur pengaduan lengkap."}
    async with client(built) as http:
        refused = await http.post(url, json=change, headers=auth(A, Role.RECEIVER))
        assert refused.status_code == 403
        elsewhere = await http.post(url, json=change, headers=auth(B, Role.COMPLIANCE))
        assert elsewhere.status_code == 404
        done = await http.post(url, json=change, headers=auth(A, Role.COMPLIANCE))
        assert done.status_code == 200
        assert done.json()["from_status"] == "registered"
        assert done.json()["to_status"] == "verified"
        again = await http.post(url, json=change, headers=auth(A, Role.COMPLIANCE))
        assert again.status_code == 409 and "Verified" in again.json()["messages"]["en"]
        unknown = await http.post(
            url, json={"status": "lost", "note": "x"}, headers=auth(A, Role.COMPLIANCE)
        )
        assert unknown.status_code == 422
        listed = await http.get("/v1/complaints?status=verified", headers=auth(A, Role.RECEIVER))
        assert [i["register_number"] for i in listed.json()["items"]] == [numbers["a1"]]
        read = await http.get(f"/v1/complaints/{numbers['a1']}", headers=auth(A, Role.RECEIVER))
        detail = read.json()
        assert detail["status_history"][0]["note"] == change["note"]


async def test_tracking_shows_timeline_only_and_hides_unknown_from_malformed(
    build_registry: BuildRegistry,
) -> None:
    built, recorder = build_registry()
    registry = built.registry
    await _seed(registry)
    plain = recorder.of(ev.TicketIssued)[0].ticket_number
    number = recorder.of(ev.TicketIssued)[0].register_number
    async with client(built) as http:
        found = await http.post("/v1/track", json={"ticket": plain.lower().replace("-", " ")})
        assert found.status_code == 200
        body = found.json()
        assert [s["status"] for s in body["timeline"]] == ["received", "registered"]
        assert body["label"] == {"id": "Tercatat", "en": "Registered"}
        text = found.text
        for secret in ("Siti", "Merdeka", "+62812", "uang", number, "complaint_id"):
            assert secret not in text
        # The path form still answers (deprecated, for links already sent).
        assert (await http.get(f"/v1/track/{plain}")).json() == body

        unknown, malformed = "7KQ2-M9XD-4HBT-0RZ0", "not-a-ticket"
        bodies = {}
        for name, ticket in (("unknown", unknown), ("malformed", malformed)):
            answer = await http.post("/v1/track", json={"ticket": ticket})
            assert answer.status_code == 404
            assert ticket not in answer.text  # not echoed, not even in `instance`
            bodies[name] = answer.json()
        assert bodies["unknown"] == bodies["malformed"]
        # The same time floor for both: tests/unit/test_tracking_floor.py (by state, not timing).
        by_path = await http.get(f"/v1/track/{unknown}")
        assert by_path.status_code == 404 and unknown not in by_path.text
        refused = await http.post("/v1/track", json={"ticket": unknown, "more": 1})
        assert refused.status_code == 422 and unknown not in refused.text

        spec = (await http.get("/openapi.json")).json()["paths"]
        assert spec["/v1/track/{ticket}"]["get"]["deprecated"] is True
        assert "security" not in spec["/v1/track"]["post"]


async def test_received_on_the_public_timeline_is_the_receipt_time(
    build_registry: BuildRegistry,
) -> None:
    """The SOP's receipt time (`received_at`), not when the complaint was saved."""
    built, recorder = build_registry()
    registry = built.registry
    received_at = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    saved_at = received_at + timedelta(minutes=40)  # entered after a queue at the counter
    event = received(
        A,
        contact=p.TrackingContact(email="pengadu@example.org"),
        received_at=received_at,
        occurred_at=saved_at,
    )
    await registry.receive(event)
    plain = recorder.of(ev.TicketIssued)[0].ticket_number
    async with client(built) as http:
        body = (await http.post("/v1/track", json={"ticket": plain})).json()
    first = body["timeline"][0]
    assert first["label"]["id"] == "Diterima"
    assert datetime.fromisoformat(first["at"].replace("Z", "+00:00")) == received_at


async def test_supervisors_see_what_needs_attention(build_registry: BuildRegistry) -> None:
    built, _ = build_registry()
    registry = built.registry
    event = received("KPPBC-TMP-TIDAKADA")
    assert await registry.receive(event) is None
    async with client(built) as http:
        refused = await http.get("/v1/attention", headers=auth(A, Role.COMPLIANCE))
        assert refused.status_code == 403
        listed = await http.get("/v1/attention", headers=auth(A, Role.SUPERVISOR))
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["complaint_id"] == str(event.complaint_id)
    assert item["reason"] == "unknown_office" and item["office_code"] == "KPPBC-TMP-TIDAKADA"
    assert item["messages"]["id"].startswith("Kode kantor")
    assert "Siti" not in listed.text


async def test_the_list_is_bounded_to_a_time_range(build_registry: BuildRegistry) -> None:
    built, _ = build_registry()
    registry = built.registry
    old = received(A, received_at=datetime.now(UTC) - timedelta(days=60))
    new = received(A)
    for event in (old, new):
        await registry.receive(event)
    async with client(built) as http:
        recent = await http.get("/v1/complaints", headers=auth(A, Role.RECEIVER))
        assert [i["complaint_id"] for i in recent.json()["items"]] == [str(new.complaint_id)]
        wider = await http.get(
            "/v1/complaints",
            params={"from": (datetime.now(UTC) - timedelta(days=90)).isoformat()},
            headers=auth(A, Role.RECEIVER),
        )
        assert wider.json()["total"] == 2
        assert [i["complaint_id"] for i in wider.json()["items"]] == [
            str(new.complaint_id),
            str(old.complaint_id),
        ]
        too_long = await http.get(
            "/v1/complaints",
            params={"from": "2025-01-01T00:00:00Z", "to": "2026-06-01T00:00:00Z"},
            headers=auth(A, Role.RECEIVER),
        )
    assert too_long.status_code == 422
    invalid = too_long.json()["invalid-params"][0]
    assert invalid["name"] == "query.from" and invalid["code"] == "range_too_long"
    assert "366" in invalid["messages"]["id"] and "366" in invalid["messages"]["en"]


async def test_tracking_is_rate_limited_per_client(build_registry: BuildRegistry) -> None:
    built, _ = build_registry(track_requests_per_minute=3, track_min_seconds=0)
    async with client(built) as http:
        codes = [(await http.post("/v1/track", json={"ticket": "X"})).status_code for _ in range(3)]
        codes.append((await http.get("/v1/track/XXXX")).status_code)  # one bucket for both
        codes.append((await http.post("/v1/track", json={"ticket": "X"})).status_code)
    assert codes == [404, 404, 404, 429, 429]


async def test_service_standard_report_per_office(build_registry: BuildRegistry) -> None:
    built, _ = build_registry()
    registry = built.registry
    day = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 08:00 WIB, 09:00 WITA
    durations = {A: [10, 20, 45], B: [25]}
    for office, minutes in durations.items():
        for m in minutes:
            event = received(office, received_at=day, occurred_at=day + timedelta(minutes=1))
            await registry.receive(event)
            await registry.absorb(
                ev.NotificationSent(
                    **base(office, event.complaint_id, "notifier"),
                    occurred_at=day + timedelta(minutes=m),
                    ticket_event_id=event.event_id,
                    channel=p.NotificationChannel.EMAIL,
                    attempts=1,
                )
            )
    unfinished = received(B, received_at=day, occurred_at=day)
    await registry.receive(unfinished)
    outside = received(A, received_at=day - timedelta(days=3))
    await registry.receive(outside)

    query = {"from": "2026-11-02", "to": "2026-11-02"}
    async with client(built) as http:
        report = await http.get(
            "/v1/reports/service-standard", params=query, headers=auth(A, Role.SUPERVISOR)
        )
        rows = {r["office_code"]: r for r in report.json()["offices"]}
        assert rows[A]["count"] == 3 and rows[A]["median_minutes"] == 20
        assert rows[A]["within_standard"] == 2 and rows[A]["share_within_standard"] == 0.6667
        assert rows[B]["count"] == 2 and rows[B]["completed"] == 1
        assert rows[B]["share_within_standard"] == 0.5
        assert rows[OFFICES[2]]["count"] == 0
        assert len(report.json()["complaints"]) == 5

        own = await http.get(
            "/v1/reports/service-standard",
            params=query | {"format": "csv"},
            headers=auth(A, Role.COMPLIANCE),
        )
        assert own.headers["content-type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(own.content.decode("utf-8-sig"))))
        assert [r["office_code"] for r in table] == [A]  # scoped to the caller's office
        assert float(table[0]["median_minutes"]) == 20
        per_complaint = await http.get(
            "/v1/reports/service-standard",
            params=query | {"format": "csv", "level": "complaint"},
            headers=auth(A, Role.COMPLIANCE),
        )
        assert sorted(
            r["minutes"]
            for r in csv.DictReader(io.StringIO(per_complaint.content.decode("utf-8-sig")))
        ) == [
            "10.0",
            "20.0",
            "45.0",
        ]
