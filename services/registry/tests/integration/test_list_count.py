"""The staff list counts its matches only up to a bound (`store.COUNT_CAP`, or up to the page
asked for): beyond it the answer says `total_exact: false`, and every page is still reachable."""

from __future__ import annotations

import httpx
import pytest
from registry_testkit.events import OFFICES, received
from registry_testkit.wiring import TOKEN_SECRET, BuildRegistry, register

from sipuma.registry import store
from sipuma.shared.auth import Role, mint_token

pytestmark = pytest.mark.integration
OFFICE = OFFICES[0]


async def test_total_is_counted_up_to_the_cap_and_pages_go_on(
    build_registry: BuildRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "COUNT_CAP", 3)
    built, _ = build_registry()
    numbers = [(await register(built.registry, received(OFFICE)))["number"] for _ in range(5)]
    headers = {
        "Authorization": f"Bearer {mint_token(TOKEN_SECRET, 'o-1', OFFICE, (Role.RECEIVER,))}"
    }
    transport = httpx.ASGITransport(app=built.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as http:

        async def page(number: int, size: int) -> dict[str, object]:
            params = {"page": number, "page_size": size}
            answer = await http.get("/v1/complaints", params=params, headers=headers)
            assert answer.status_code == 200, answer.text
            body: dict[str, object] = answer.json()
            return body

        first = await page(1, 2)
        assert (first["total"], first["total_exact"]) == (3, False)  # "more than 3"
        third = await page(3, 2)  # beyond the cap: counted up to this page, and exact there
        assert (third["total"], third["total_exact"]) == (5, True)
        everything = await page(1, 10)
        assert (everything["total"], everything["total_exact"]) == (5, True)
        listed = [item["register_number"] for item in everything["items"]]  # type: ignore[attr-defined]
        assert sorted(listed) == sorted(numbers)
