"""Staff address complaints by register number, not UUID (issue 20), on the real stack: intake's
amendments and evidence's upload, list and download under `/v1/complaints/by-number/{number}`,
the number resolved through the registry's API under the caller's own token. Another office's or
an unknown number is a 404 problem; with the registry down the answer is 503 + Retry-After."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest

from tests.e2e.stack import Stack, eventually, running_stack
from tests.harness.endpoints import Endpoints

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

OFFICE, OTHER = "KPUBC-TPK-TJPRIOK", "KPPBC-TMP-MAKASSAR"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f1c7"
    "e40000000049454e44ae426082"
)
T = TypeVar("T")


@pytest.fixture(scope="module")
def stack(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("by-number-stack")
    with running_stack(endpoints, workdir, "num", ("intake", "registry", "evidence")) as started:
        yield started


def complaint(office: str) -> dict[str, Any]:
    return {
        "office_code": office,
        "channel": "in_person",
        "received_at": datetime.now(UTC).isoformat(),
        "complainant": {
            "name": "Ni Luh Putu Ayu Sékar",
            "address": "Jl. Melati 3, Denpasar",
            "email": "sekar@example.org",
        },
        "elements": {
            "what": "Petugas meminta imbalan untuk mempercepat pemeriksaan.",
            "who": [{"name": "Budi Santoso", "position": "Pemeriksa"}],
            "when": {"kind": "date", "date": "2026-11-20"},
            "where": "Ruang pemeriksaan fisik",
            "how": "Disampaikan secara lisan.",
        },
    }


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    assert body["messages"]["id"] and body["messages"]["en"]
    return body


async def test_amendment_and_evidence_by_register_number(stack: Stack) -> None:
    intake, registry, evidence = (stack.url(n) for n in ("intake", "registry", "evidence"))
    mine = {"Authorization": f"Bearer {stack.token(office=OFFICE)}"}
    theirs = {"Authorization": f"Bearer {stack.token(office=OTHER, officer='198001012005011003')}"}

    async with httpx.AsyncClient(timeout=30) as http:
        numbers: dict[str, tuple[str, str]] = {}
        for office, headers in ((OFFICE, mine), (OTHER, theirs)):
            r = await http.post(f"{intake}/v1/complaints", json=complaint(office), headers=headers)
            assert r.status_code in (201, 202), r.text
            cid = r.json()["complaint_id"]

            async def registered(cid: str = cid, headers: dict[str, str] = headers) -> str | None:
                r = await http.get(f"{intake}/v1/complaints/{cid}/status", headers=headers)
                r.raise_for_status()
                number: str | None = r.json()["register_number"]
                return number

            numbers[office] = (cid, await eventually("register number given", registered))
        cid, number = numbers[OFFICE]
        assert "/" in number  # the path converter is what carries it
        by_number = f"/v1/complaints/by-number/{number.lower()}"  # any case

        # An amendment by register number lands on the right complaint.
        text = f"Tambahan lewat nomor register {uuid.uuid4().hex[:8]}"
        r = await http.post(
            f"{intake}{by_number}/supplements",
            json={"kind": "addition", "text": text},
            headers=mine,
        )
        assert r.status_code in (201, 202), r.text
        assert r.json()["complaint_id"] == cid

        async def supplemented() -> list[Any] | None:
            r = await http.get(f"{registry}/v1/complaints/{number}", headers=mine)
            r.raise_for_status()
            found = [s for s in r.json()["supplements"] if text in str(s)]
            return found or None

        await eventually("the addition in the registry's detail", supplemented)

        # Evidence: upload, list, one item and its download link, all by register number.
        async def upload() -> dict[str, Any] | None:
            r = await http.post(
                f"{evidence}{by_number}/evidence",
                params={"kind": "photo", "filename": "foto.png"},
                content=PNG,
                headers={**mine, "Content-Type": "image/png"},
            )
            if r.status_code in (404, 503) and "registry" not in r.text:
                return None  # evidence has not heard of the complaint yet
            assert r.status_code == 201, r.text
            return r.json()  # type: ignore[no-any-return]

        stored = await eventually("evidence accepted by register number", upload)
        assert stored["complaint_id"] == cid
        r = await http.get(f"{evidence}{by_number}/evidence", headers=mine)
        assert r.status_code == 200, r.text
        assert [e["evidence_id"] for e in r.json()["items"]] == [stored["evidence_id"]]
        item = f"{evidence}{by_number}/evidence/{stored['evidence_id']}"
        r = await http.get(item, headers=mine)
        assert r.status_code == 200 and r.json()["sha256"] == stored["sha256"], r.text
        r = await http.get(f"{item}/download", headers=mine)
        assert r.status_code == 200, r.text
        file = await http.get(r.json()["url"])
        assert file.status_code == 200 and file.content == PNG

        # Another office's number, or one that does not exist: 404, nothing changes.
        other_number = numbers[OTHER][1]
        unknown = number.rsplit("/", 1)[0] + "/999999"
        for n in (other_number, unknown):
            r = await http.post(
                f"{intake}/v1/complaints/by-number/{n}/supplements",
                json={"kind": "addition", "text": "tidak boleh"},
                headers=mine,
            )
            assert_problem(r, 404, "register_number_not_found")
            r = await http.get(f"{evidence}/v1/complaints/by-number/{n}/evidence", headers=mine)
            assert_problem(r, 404, "register_number_not_found")
        r = await http.get(f"{registry}/v1/complaints/{other_number}", headers=theirs)
        assert "tidak boleh" not in r.text

        # No token: 401 before the registry is asked.
        r = await http.get(f"{evidence}{by_number}/evidence")
        assert r.status_code == 401

        # The registry down: 503 with Retry-After, never a 500.
        stack.services["registry"].stop()
        r = await http.post(
            f"{intake}{by_number}/supplements", json={"kind": "addition", "text": "x"}, headers=mine
        )
        assert_problem(r, 503, "registry_unavailable")
        assert int(r.headers["retry-after"]) > 0
        r = await http.get(f"{evidence}{by_number}/evidence", headers=mine)
        assert_problem(r, 503, "registry_unavailable")
        assert int(r.headers["retry-after"]) > 0
