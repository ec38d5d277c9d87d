"""Who saw whom: every staff detail read that shows a complainant's identity leaves exactly one
audit entry (hash-chained, insert-only collection + the restricted topic through the outbox);
supervisors list them per complaint and per officer; an edited or removed entry breaks the chain
and `verify` says where."""

from __future__ import annotations

import httpx
import pytest
from registry_testkit.events import received
from registry_testkit.wiring import TOKEN_SECRET, BuildRegistry, register

from sipuma.shared import events as ev
from sipuma.shared.auth import Role, mint_token
from sipuma.shared.topics import AUDIT_IDENTITY_READ

pytestmark = pytest.mark.integration
OFFICE = "KPUBC-TPK-TJPRIOK"


def auth(officer: str, office: str, *roles: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(TOKEN_SECRET, officer, office, roles)}"}


async def test_every_identity_read_is_audited_once_and_tampering_shows(
    build_registry: BuildRegistry,
) -> None:
    built, recorder = build_registry()
    first = (await register(built.registry, received(OFFICE)))["number"]
    second = (await register(built.registry, received(OFFICE)))["number"]
    uki = auth("uki-1", OFFICE, Role.COMPLIANCE)
    boss = auth("spv-1", "KPPBC-TMP-BATAM", Role.SUPERVISOR)
    transport = httpx.ASGITransport(app=built.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://r") as http:
        one = await http.get(
            f"/v1/complaints/{first}",
            params={"purpose": "verifikasi"},
            headers=uki | {"X-Correlation-ID": "req-audit-1"},
        )
        assert one.status_code == 200 and one.json()["complainant"]["name"]
        await http.get(f"/v1/complaints/{second}", headers=uki)
        await http.get(f"/v1/complaints/{first}", headers=boss)
        # Not found, not shown, not audited:
        other = await http.get("/v1/complaints/NOPE/1/2026", headers=uki)
        assert other.status_code == 404

        refused = await http.get("/v1/audit/identity-reads", headers=uki)
        assert refused.status_code == 403
        per_complaint = await http.get(
            "/v1/audit/identity-reads", params={"register_number": first}, headers=boss
        )
        entries = per_complaint.json()["items"]
        assert [(e["officer_id"], e["purpose"]) for e in entries] == [
            ("spv-1", "tindak lanjut pengaduan"),
            ("uki-1", "verifikasi"),
        ]
        oldest = entries[-1]
        assert oldest["request_id"] == "req-audit-1"
        assert oldest["officer_office"] == OFFICE and oldest["office_code"] == OFFICE
        assert set(oldest["fields"]) >= {"complainant", "elements"}
        assert "Siti" not in str(entries)  # the audit names fields, never their values
        per_officer = await http.get(
            "/v1/audit/identity-reads", params={"officer_id": "uki-1"}, headers=boss
        )
        assert len(per_officer.json()["items"]) == 2

        # Exactly one event per read, on the restricted topic.
        reads = recorder.of(ev.IdentityRead)
        assert len(reads) == 3 and len({r.event_id for r in reads}) == 3
        assert AUDIT_IDENTITY_READ.restricted
        assert {t for t, e in recorder.published if isinstance(e, ev.IdentityRead)} == {
            built.settings.topic(AUDIT_IDENTITY_READ)
        }

        verified = (await http.get("/v1/audit/identity-reads/verify", headers=boss)).json()
        assert verified == {"intact": True, "entries": 3, "broken_at": None}

        audit = built.store.db["identity_audit"]
        await audit.update_one({"_id": 2}, {"$set": {"officer_id": "someone-else"}})
        edited = (await http.get("/v1/audit/identity-reads/verify", headers=boss)).json()
        assert edited["intact"] is False and edited["broken_at"] == 2

        await audit.update_one({"_id": 2}, {"$set": {"officer_id": "uki-1"}})
        assert (await http.get("/v1/audit/identity-reads/verify", headers=boss)).json()["intact"]
        await audit.delete_one({"_id": 2})
        removed = (await http.get("/v1/audit/identity-reads/verify", headers=boss)).json()
        assert removed["intact"] is False and removed["broken_at"] == 2
