"""RegistryLookup: register number → complaint id through the registry's API (issue 20). The
registry is an in-memory httpx transport here; the real one is in tests/e2e/test_by_number.py."""

# No `from __future__ import annotations`: FastAPI reads the test routes' signatures.

import uuid
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException, Request

from sipuma.shared.auth import Principal
from sipuma.shared.problems import ProblemError
from sipuma.shared.registry_lookup import RegistryLookup, by_id, by_number

pytestmark = pytest.mark.unit

CID = "0b6f3c1e-8f1d-4c2a-9a57-2f3a5b9e1d10"
TOKEN = "Bearer abc"


def lookup(answer: httpx.Response | Exception, seen: list[httpx.Request]) -> RegistryLookup:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return RegistryLookup("http://registry/", transport=httpx.MockTransport(handle))


async def test_the_number_is_asked_with_the_callers_token_and_its_slashes() -> None:
    seen: list[httpx.Request] = []
    registry = lookup(httpx.Response(200, json={"complaint_id": CID}), seen)
    assert await registry.complaint_id(" pgd/kpubc-tpk-tjpriok/2026/000012 ", TOKEN) == CID
    assert seen[0].url.path == "/v1/complaints/pgd/kpubc-tpk-tjpriok/2026/000012/identifier"
    assert seen[0].headers["authorization"] == TOKEN
    await registry.close()


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        (httpx.Response(404, json={"code": "not_found"}), 404, "register_number_not_found"),
        (
            httpx.Response(403, json={"code": "forbidden", "messages": {"id": "x", "en": "y"}}),
            403,
            "forbidden",
        ),
        (httpx.Response(401, text="no"), 401, "token_invalid"),
        (httpx.Response(500, text="boom"), 503, "registry_unavailable"),
        (httpx.Response(200, json={"no": "id"}), 503, "registry_unavailable"),
        (httpx.ConnectError("refused"), 503, "registry_unavailable"),
        (httpx.ReadTimeout("slow"), 503, "registry_unavailable"),
    ],
)
async def test_refusals_and_outages_become_clear_problems(
    answer: httpx.Response | Exception, status: int, code: str
) -> None:
    registry = lookup(answer, [])
    with pytest.raises(ProblemError) as raised:
        await registry.complaint_id("PGD/X/2026/1", TOKEN)
    assert (raised.value.status, raised.value.code) == (status, code)
    assert raised.value.id_text and raised.value.en_text
    if status == 503:
        assert raised.value.headers and int(raised.value.headers["Retry-After"]) > 0
    await registry.close()


async def test_an_empty_number_is_not_asked() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ProblemError) as raised:
        await lookup(httpx.Response(200, json={"complaint_id": CID}), seen).complaint_id(" ", TOKEN)
    assert raised.value.status == 404 and not seen


def _app(registry: RegistryLookup) -> FastAPI:
    """One route, mounted by id and by number as the services do."""

    async def principal(request: Request) -> Principal:
        if request.headers.get("authorization") != TOKEN:
            raise HTTPException(401)
        return Principal("198001", "KPUBC-TPK-TJPRIOK", frozenset())

    app = FastAPI()
    for where, resolve in (
        ("/c/{complaint_id}", by_id),
        ("/c/by-number/{number:path}", by_number(registry, principal)),
    ):

        @app.get(f"{where}/x")
        async def route(complaint_id: Annotated[uuid.UUID, Depends(resolve)]) -> str:
            return str(complaint_id)

    return app


async def test_one_route_serves_the_id_and_the_register_number() -> None:
    seen: list[httpx.Request] = []
    app = _app(lookup(httpx.Response(200, json={"complaint_id": CID}), seen))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://intake"
    ) as client:
        by_number_answer = await client.get(
            "/c/by-number/PGD/KPUBC-TPK-TJPRIOK/2026/000012/x", headers={"Authorization": TOKEN}
        )
        by_id_answer = await client.get(f"/c/{CID}/x")
        refused = await client.get("/c/by-number/PGD/X/2026/1/x", headers={"Authorization": "no"})
    assert by_number_answer.json() == by_id_answer.json() == CID
    assert seen[0].url.path == "/v1/complaints/PGD/KPUBC-TPK-TJPRIOK/2026/000012/identifier"
    assert refused.status_code == 401 and len(seen) == 1  # the registry is not asked
