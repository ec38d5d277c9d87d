"""The registry's staff API with tokens from the real OpenID Connect provider (Keycloak, realm
deploy/keycloak/sipuma-realm.json): office and role claims are enforced as for any token, and
in production mode a development token is refused."""

from __future__ import annotations

import base64
import os

import httpx
import pytest
from registry_testkit.events import received
from registry_testkit.wiring import TOKEN_SECRET, BuildRegistry, register

from sipuma.registry.main import Runtime
from sipuma.shared.auth import Role, mint_token
from tests.harness.oidc import COMPLIANCE_TJPRIOK, RECEIVER_MAKASSAR, SUPERVISOR, Oidc

pytestmark = pytest.mark.integration
TJPRIOK, MAKASSAR = "KPUBC-TPK-TJPRIOK", "KPPBC-TMP-MAKASSAR"


def client(built: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=built.app), base_url="http://r")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_provider_tokens_are_enforced_per_office_and_role(
    build_registry: BuildRegistry, oidc: Oidc
) -> None:
    built, _ = build_registry(**oidc.settings())
    ours = (await register(built.registry, received(TJPRIOK)))["number"]
    theirs = (await register(built.registry, received(MAKASSAR)))["number"]
    compliance = bearer(oidc.access_token(COMPLIANCE_TJPRIOK))
    makassar = bearer(oidc.access_token(RECEIVER_MAKASSAR))
    supervisor = bearer(oidc.access_token(SUPERVISOR))
    async with client(built) as http:
        # (Detail pages, not the list: the office list fails on the shared store today with an
        # opfamily error from DocumentDB, test_api.py alike.)
        assert (await http.get(f"/v1/complaints/{ours}", headers=compliance)).status_code == 200
        assert (await http.get(f"/v1/complaints/{theirs}", headers=compliance)).status_code == 404
        other = await http.get(f"/v1/complaints?office={MAKASSAR}", headers=compliance)
        assert other.status_code == 403
        assert (await http.get(f"/v1/complaints/{theirs}", headers=makassar)).status_code == 200
        for number in (ours, theirs):
            seen = await http.get(f"/v1/complaints/{number}", headers=supervisor)
            assert seen.status_code == 200
        forged = oidc.access_token(COMPLIANCE_TJPRIOK)[:-6] + "AAAAAA"
        refused = await http.get(f"/v1/complaints/{ours}", headers=bearer(forged))
        assert refused.status_code == 401 and refused.json()["code"] == "token_invalid"


async def test_production_mode_refuses_development_tokens(
    build_registry: BuildRegistry, oidc: Oidc
) -> None:
    built, _ = build_registry(
        **oidc.settings(),
        environment="production",
        token_secret=None,
        ticket_hash_key="a-real-ticket-key-from-the-vault-0123456789",
        identity_master_key=base64.b64encode(os.urandom(96)).decode(),
        complainant_index_key=os.urandom(32).hex(),
    )
    number = (await register(built.registry, received(TJPRIOK)))["number"]
    dev = mint_token(TOKEN_SECRET, "officer-1", TJPRIOK, [Role.SUPERVISOR])
    async with client(built) as http:
        path = f"/v1/complaints/{number}"
        assert (await http.get(path, headers=bearer(dev))).status_code == 401
        good = bearer(oidc.access_token(SUPERVISOR))
        assert (await http.get(path, headers=good)).status_code == 200
