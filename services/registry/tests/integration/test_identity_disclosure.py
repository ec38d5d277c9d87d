"""Identity shown only to roles that need it (issue 16, docs/identity.md): UKI and supervisors
see it; a receiver sees it while the intake is open and masked once their part ended; lists show
it masked to everyone; a masked read audits no personal field; erasure drops the list's mask."""

from __future__ import annotations

import httpx
import pytest
from registry_testkit.events import base, contact_provided, received
from registry_testkit.wiring import TOKEN_SECRET, BuildRegistry, register

from sipuma.registry.disclosure import mask_digits, mask_email, mask_name, masked_name
from sipuma.shared import events as ev
from sipuma.shared import payloads as p
from sipuma.shared.auth import Role, mint_token

pytestmark = pytest.mark.integration
OFFICE = "KPUBC-TPK-TJPRIOK"


def auth(officer: str, *roles: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(TOKEN_SECRET, officer, OFFICE, roles)}"}


def test_masks() -> None:
    assert mask_name("Budi  Santoso") == "B*** S***"
    assert mask_digits("+6281234567890") == "****7890"
    assert mask_email("pengadu@example.org") == "p***@e***"
    assert masked_name({"name": None, "phone": "+6281234567890"}) == "****7890"
    assert masked_name({"erased": True}) is None


async def test_identity_per_role_and_masked_lists(build_registry: BuildRegistry) -> None:
    built, _ = build_registry()
    event = received(OFFICE)
    number = (await register(built.registry, event))["number"]
    receiver, uki = auth("rcv-1", Role.RECEIVER), auth("uki-1", Role.COMPLIANCE)
    boss = auth("spv-1", Role.SUPERVISOR)
    transport = httpx.ASGITransport(app=built.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://r") as http:
        listed = await http.get("/v1/complaints", headers=receiver)
        (item,) = [i for i in listed.json()["items"] if i["register_number"] == number]
        assert item["complainant"] == "S*** N***"
        assert "Siti" not in listed.text and "567890" not in listed.text

        # The intake is open: the receiver still needs the identity (SOP steps 2-9).
        open_read = (await http.get(f"/v1/complaints/{number}", headers=receiver)).json()
        assert open_read["complainant"]["name"] == "Siti Nur'aini"
        assert open_read["identity_masked"] is False

        told = ev.RegisterNumberCommunicated(
            **base(OFFICE, event.complaint_id),
            outcome=p.CommunicationOutcome.TOLD,
            method=p.CommunicationMethod.TELEPHONE,
            officer_id="rcv-1",
        )
        await built.registry.absorb(told)
        contact = contact_provided(OFFICE, event.complaint_id, email="lacak.rahasia@example.org")
        await built.registry.absorb(contact)

        after = await http.get(f"/v1/complaints/{number}", headers=receiver)
        shown = after.json()
        assert shown["identity_masked"] is True
        assert shown["complainant"]["name"] == "S*** N***"
        assert shown["complainant"]["phone"] == "****7890"
        assert shown["complainant"]["address"] == "***"
        assert "Siti" not in after.text and "Merdeka" not in after.text
        assert "lacak.rahasia" not in after.text and "567890" not in after.text
        assert shown["contacts"][0]["contact"]["email"] == "l***@e***"
        assert shown["elements"]["what"].startswith("Petugas")  # the 5W1H stays readable
        for headers in (uki, boss):
            clear = (await http.get(f"/v1/complaints/{number}", headers=headers)).json()
            assert clear["complainant"]["name"] == "Siti Nur'aini"
            assert clear["identity_masked"] is False

        audit = await http.get(
            "/v1/audit/identity-reads", params={"register_number": number}, headers=boss
        )
        masked_entry = audit.json()["items"][2]  # newest first: boss, uki, masked receiver
        assert masked_entry["officer_id"] == "rcv-1"
        assert "complainant" not in masked_entry["fields"]
        assert "elements" in masked_entry["fields"]

        erased = await http.delete(f"/v1/complaints/{number}/identity", headers=boss)
        assert erased.status_code == 200
        listed = await http.get("/v1/complaints", headers=receiver)
        (item,) = [i for i in listed.json()["items"] if i["register_number"] == number]
        assert item["complainant"] is None
