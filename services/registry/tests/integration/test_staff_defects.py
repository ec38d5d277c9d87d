"""Issue 20's defects 1–7, each pinned by a test that failed before its fix: compliance staff's
daily work through the registry's HTTP API on the real store."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest
from registry_testkit.events import OFFICES, base, contact_provided, received
from registry_testkit.wiring import TOKEN_SECRET, BuildRegistry, register

from sipuma.registry.main import Runtime
from sipuma.shared import events as ev
from sipuma.shared import payloads as p
from sipuma.shared.auth import Role, mint_token
from sipuma.shared.pydantic_messages import indonesian

pytestmark = pytest.mark.integration
A, B = OFFICES[0], OFFICES[1]  # Asia/Jakarta (WIB), Asia/Makassar (WITA)
REPORT = "/v1/reports/service-standard"


def auth(office: str, *roles: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(TOKEN_SECRET, 'officer-1', office, roles)}"}


def client(built: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=built.app), base_url="http://reg")


def told(
    office: str,
    complaint_id: UUID,
    at: datetime | None = None,
    outcome: p.CommunicationOutcome = p.CommunicationOutcome.TOLD,
) -> ev.RegisterNumberCommunicated:
    extra = {"occurred_at": at} if at else {}
    unreachable = outcome is p.CommunicationOutcome.UNREACHABLE
    return ev.RegisterNumberCommunicated(
        **base(office, complaint_id),
        **extra,
        outcome=outcome,
        method=None if unreachable else p.CommunicationMethod.IN_PERSON,
        unreachable_reason=p.UnreachableReason.NOT_ANSWERING if unreachable else None,
        officer_id="198001012005011001",
    )


def sent(office: str, ticket_event: UUID, complaint_id: UUID) -> ev.NotificationSent:
    return ev.NotificationSent(
        **base(office, complaint_id, "notifier"),
        ticket_event_id=ticket_event,
        channel=p.NotificationChannel.EMAIL,
        attempts=1,
    )


# -- 1: a corrected tracking contact
async def test_defect1_a_corrected_contact_has_who_and_when_and_revokes_the_old_ticket(
    build_registry: BuildRegistry,
) -> None:
    built, recorder = build_registry()
    event = received(A, contact=p.TrackingContact(email="salah@example.org"))
    number = (await register(built.registry, event))["number"]
    correction = contact_provided(A, event.complaint_id, email="benar@example.org")
    await built.registry.absorb(correction)
    first, second = recorder.of(ev.TicketIssued)
    for issued in (first, second):
        await built.registry.absorb(sent(A, issued.event_id, event.complaint_id))
    async with client(built) as http:
        # Compliance staff (UKI) see the complainant's contact in clear (docs/identity.md §4a).
        staff = auth(A, Role.COMPLIANCE)
        detail = (await http.get(f"/v1/complaints/{number}", headers=staff)).json()
        old = await http.post("/v1/track", json={"ticket": first.ticket_number})
        new = await http.post("/v1/track", json={"ticket": second.ticket_number})
    latest = detail["contacts"][-1]
    assert latest["officer_id"] == correction.officer_id and latest["at"]
    assert latest["contact"]["email"] == "benar@example.org"
    assert old.status_code == 404  # sent to the old, possibly wrong address: revoked
    assert new.status_code == 200
    assert [t["revoked_at"] is not None for t in detail["tickets"]] == [True, False]
    emails = [d for d in detail["deliveries"] if d["channel"] == "email"]
    assert len(emails) == 2  # both deliveries, not the latest per channel only


# -- 2: "register number told" twice
async def test_defect2_told_twice_is_one_entry_and_shows_in_history_and_timeline(
    build_registry: BuildRegistry,
) -> None:
    built, recorder = build_registry()
    event = received(A, contact=p.TrackingContact(email="pengadu@example.org"))
    number = (await register(built.registry, event))["number"]
    for _ in range(2):  # no Idempotency-Key: two events with two ids, the same content
        await built.registry.absorb(told(A, event.complaint_id))
    plain = recorder.of(ev.TicketIssued)[0].ticket_number
    async with client(built) as http:
        detail = (await http.get(f"/v1/complaints/{number}", headers=auth(A, Role.RECEIVER))).json()
        public = (await http.post("/v1/track", json={"ticket": plain})).json()
    assert len(detail["communications"]) == 1
    assert [h["kind"] for h in detail["status_history"]] == ["communication"]
    assert "number_told" in [s["status"] for s in public["timeline"]]


# -- 3: a whitespace-only note
async def test_defect3_a_blank_status_note_is_refused(build_registry: BuildRegistry) -> None:
    built, _ = build_registry()
    number = (await register(built.registry, received(A)))["number"]
    async with client(built) as http:
        refused = await http.post(
            f"/v1/complaints/{number}/status",
            json={"status": "verified", "note": "   \n\t"},
            headers=auth(A, Role.COMPLIANCE),
        )
        detail = (await http.get(f"/v1/complaints/{number}", headers=auth(A, Role.RECEIVER))).json()
    assert refused.status_code == 422
    assert refused.json()["invalid-params"][0]["name"] == "note"
    assert detail["status"] == "registered"


# -- 4: the service-standard report
async def test_defect4_report_headers_offices_ranges_and_values(
    build_registry: BuildRegistry,
) -> None:
    built, _ = build_registry()
    day = datetime(2026, 11, 2, 1, 0, 0, 123456, tzinfo=UTC)  # 08:00 WIB
    event = received(A, received_at=day, occurred_at=day)
    await built.registry.receive(event)
    await built.registry.absorb(told(A, event.complaint_id, at=day + timedelta(minutes=10)))
    staff, boss = auth(A, Role.COMPLIANCE), auth(A, Role.SUPERVISOR)
    async with client(built) as http:
        empty = await http.get(
            REPORT,
            params={
                "from": "2026-01-01",
                "to": "2026-01-01",
                "format": "csv",
                "level": "complaint",
            },
            headers=staff,
        )
        unknown = await http.get(
            REPORT, params={"from": "2026-11-02", "to": "2026-11-02", "office": "X"}, headers=boss
        )
        backwards = await http.get(
            REPORT, params={"from": "2026-11-03", "to": "2026-11-02"}, headers=staff
        )
        rows = await http.get(
            REPORT,
            params={
                "from": "2026-11-02",
                "to": "2026-11-02",
                "format": "csv",
                "level": "complaint",
            },
            headers=staff,
        )
    header = empty.text.lstrip("\ufeff").splitlines()[0]
    assert "register_number" in header and "office_name" not in header
    assert unknown.status_code in (404, 422)
    assert backwards.status_code == 422
    assert backwards.json()["invalid-params"][0]["name"] == "query.from"
    (row,) = list(csv.DictReader(io.StringIO(rows.text.lstrip("\ufeff"))))
    assert row["within_standard"] == "Ya"
    assert row["received_at"] == "2026-11-02 08:00:00"  # office-local, to the second


# -- 5: the staff list
async def test_defect5_list_dates_are_office_local_and_filters_are_checked(
    build_registry: BuildRegistry,
) -> None:
    built, _ = build_registry()
    # 00:30 WIB on 30 November = 17:30 UTC on 29 November.
    early = received(A, received_at=datetime(2026, 11, 29, 17, 30, tzinfo=UTC))
    number = (await register(built.registry, early))["number"]
    staff = auth(A, Role.COMPLIANCE)
    async with client(built) as http:
        listed = await http.get(
            "/v1/complaints", params={"from": "2026-11-30", "to": "2026-11-30"}, headers=staff
        )
        bogus = await http.get("/v1/complaints", params={"status": "bogus"}, headers=staff)
        lower = await http.get(f"/v1/complaints/{number.lower()}", headers=staff)
        exported = await http.get(
            "/v1/complaints",
            params={"from": "2026-11-30", "to": "2026-11-30", "format": "csv"},
            headers=staff,
        )
    assert [i["register_number"] for i in listed.json()["items"]] == [number]
    assert bogus.status_code == 422
    assert bogus.json()["invalid-params"][0]["name"] == "query.status"
    assert lower.status_code == 200 and lower.json()["register_number"] == number
    assert exported.headers["content-type"].startswith("text/csv")
    assert number in exported.text


# -- 6: messages
async def test_defect6_messages_are_indonesian_and_name_labels(
    build_registry: BuildRegistry,
) -> None:
    text = indonesian("enum", {"expected": "'told' or 'unreachable'"})
    assert " or " not in text and "atau" in text
    built, _ = build_registry()
    number = (await register(built.registry, received(A)))["number"]
    async with client(built) as http:
        refused = await http.post(
            f"/v1/complaints/{number}/status",
            json={"status": "closed", "note": "Selesai."},
            headers=auth(A, Role.COMPLIANCE),
        )
    assert refused.status_code == 409
    messages = refused.json()["messages"]
    assert "Diverifikasi" in messages["id"] and "Tercatat" in messages["id"]
    assert "in_follow_up" not in messages["id"] and "verified" not in messages["id"]
    assert "Verified" in messages["en"]


# -- 7: "unreachable" ends the 30-minute clock
async def test_defect7_unreachable_ends_the_intake_with_its_outcome(
    build_registry: BuildRegistry,
) -> None:
    built, _ = build_registry()
    day = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    event = received(A, received_at=day, occurred_at=day)
    await built.registry.receive(event)
    await built.registry.absorb(
        told(A, event.complaint_id, day + timedelta(minutes=12), p.CommunicationOutcome.UNREACHABLE)
    )
    async with client(built) as http:
        report = await http.get(
            REPORT,
            params={"from": "2026-11-02", "to": "2026-11-02"},
            headers=auth(A, Role.COMPLIANCE),
        )
    (row,) = report.json()["complaints"]
    assert row["minutes"] == 12 and row["within_standard"] is True
    assert row["intake_outcome"] == "unreachable"
    assert report.json()["offices"][0]["completed"] == 1
