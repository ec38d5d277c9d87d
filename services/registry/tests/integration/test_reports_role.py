"""The `reports` role (README "Roles") on the real store: complaints registered by the `all` role
are listed, searched, exported and counted by the read side exactly as the `all` role answers
them; what changes something, shows an identity or is public is not served there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pymongo.errors import OperationFailure
from registry_testkit.events import received
from registry_testkit.wiring import TOKEN_SECRET, BuildRegistry, register, settings_for

from sipuma.registry.read_side import Reports, build_reports
from sipuma.registry.store import Store
from sipuma.shared.auth import Role, mint_token
from tests.harness.endpoints import RUN_DIR, Endpoints, local_store_uri

pytestmark = pytest.mark.integration
OFFICE = "KPUBC-TPK-TJPRIOK"


def auth(*roles: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(TOKEN_SECRET, 'officer-1', OFFICE, roles)}"}


@pytest.fixture
async def reports(store: Store, endpoints: Endpoints) -> AsyncIterator[Reports]:
    built = build_reports(settings_for(endpoints.mongo_uri, store.db.name, registry_role="reports"))
    try:
        yield built
    finally:
        await built.store.close()


def client(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r")  # type: ignore[arg-type]


async def test_the_read_side_answers_as_the_whole_registry(
    build_registry: BuildRegistry, reports: Reports
) -> None:
    built, _ = build_registry()
    now = datetime.now(UTC)
    numbers = []
    for minutes in (5, 50, 500):
        event = received(OFFICE, received_at=now - timedelta(minutes=minutes))
        numbers.append((await register(built.registry, event))["number"])
    today = (now + timedelta(hours=9)).date()  # the office's dates around now, any zone
    days = {"from": str(today - timedelta(days=2)), "to": str(today)}
    spv = auth(Role.SUPERVISOR)
    requests = [
        ("GET", "/v1/complaints", {}, None),
        ("GET", "/v1/complaints", {"format": "csv"}, None),
        ("GET", "/v1/statistics", days, None),
        ("GET", "/v1/statistics/complaints", days, None),
        ("GET", "/v1/reports/service-standard", {**days, "format": "csv"}, None),
        ("GET", "/v1/overdue", {}, None),
        ("POST", "/v1/complaints/search", {}, {"number": numbers[0][-6:]}),
    ]
    async with client(built.app) as whole, client(reports.app) as read_side:
        for method, path, params, body in requests:
            answers = [
                await http.request(method, path, params=params, json=body, headers=spv)
                for http in (whole, read_side)
            ]
            assert [a.status_code for a in answers] == [200, 200], (path, params)
            if path == "/v1/statistics":  # counted at its own `now`: the numbers, not the time
                first, second = (a.json()["offices"] for a in answers)
                assert first == second
            else:
                assert answers[0].content == answers[1].content, (path, params)
        listed = (await read_side.get("/v1/complaints", headers=spv)).json()
        assert {i["register_number"] for i in listed["items"]} == set(numbers)

        # Not served by the read side: the detail (audited identity), status steps, tracking.
        detail = await read_side.get(f"/v1/complaints/{numbers[0]}", headers=spv)
        assert detail.status_code == 404
        step = await read_side.post(
            f"/v1/complaints/{numbers[0]}/status", json={"status": "verified"}, headers=spv
        )
        assert step.status_code in {404, 405}
        assert (await read_side.post("/v1/track", json={})).status_code in {404, 405}
        # Its readiness asks the store only: it has no Kafka client.
        ready = await read_side.get("/readyz")
        assert ready.json() == {"status": "ready", "checks": {"store": "ok"}}


async def test_the_read_side_works_as_the_read_only_store_user(
    build_registry: BuildRegistry, store: Store, endpoints: Endpoints
) -> None:
    """As deployed (deploy/local/services.sh, the k8s `reports-mongo-uri`): the read side
    connects as the store's read-only user and still answers every read route; the same
    connection cannot write (DocumentDB's readAnyDatabase: `Unauthorized`)."""
    if endpoints.origin != "local" or not (RUN_DIR / "store" / "uri" / "readonly").exists():
        pytest.skip("the read-only store user exists on the local PostgreSQL + DocumentDB only")
    built, _ = build_registry()
    number = (await register(built.registry, received(OFFICE)))["number"]
    settings = settings_for(local_store_uri("readonly"), store.db.name, registry_role="reports")
    read_only = build_reports(settings)
    today = datetime.now(UTC).date()
    days = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    spv = auth(Role.SUPERVISOR)
    try:
        async with client(read_only.app) as http:
            listed = await http.get("/v1/complaints", headers=spv)
            assert [i["register_number"] for i in listed.json()["items"]] == [number]
            for path, params in (
                ("/v1/statistics", days),
                ("/v1/statistics/complaints", {**days, "format": "xlsx"}),
                ("/v1/reports/service-standard", days),
                ("/v1/overdue", {}),
            ):
                answer = await http.get(path, params=params, headers=spv)
                assert answer.status_code == 200, (path, answer.text)
            searched = await http.post(
                "/v1/complaints/search", json={"number": number[-6:]}, headers=spv
            )
            assert searched.json()["total"] == 1
        with pytest.raises(OperationFailure) as refused:
            await read_only.store.listing.insert_one({"_id": "written-by-the-read-side"})
        assert refused.value.code == 13  # Unauthorized
    finally:
        await read_only.store.close()
