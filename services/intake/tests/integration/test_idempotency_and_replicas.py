"""Idempotency-Key across retries, restarts and replicas; status answered by any replica."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.intake.tests.support import auth, complaint, running_intake
from sipuma.shared.tasks import bounded
from tests.harness.ports import free_port
from tests.harness.state import eventually, read_to_end

pytestmark = pytest.mark.integration

AMENDMENTS = [
    ("POST", "supplements"),
    ("POST", "reported-employees"),
    ("PUT", "tracking-contact"),
    ("POST", "register-number-communication"),
]


async def test_same_key_same_body_same_answer_once(settings, registry) -> None:
    body = complaint()
    key = {"Idempotency-Key": "form-7f3a-0001"}
    async with registry.running():
        async with running_intake(settings) as client:
            first = await client.post("/v1/complaints", json=body, headers={**auth(), **key})
            assert first.status_code == 201
            again = await client.post("/v1/complaints", json=body, headers={**auth(), **key})
            assert (again.status_code, again.json()) == (201, first.json())
            assert again.headers["idempotent-replayed"] == "true"

            changed = dict(body, paper_archive_ref="Lemari arsip UKI, map 12")
            conflict = await client.post("/v1/complaints", json=changed, headers={**auth(), **key})
            assert conflict.status_code == 409
            assert conflict.json()["code"] == "idempotency_key_reused"
            assert conflict.json()["messages"]["id"].startswith("Idempotency-Key ini")

            # The key belongs to the officer: another officer's same key is a new complaint.
            other = await client.post(
                "/v1/complaints", json=body, headers={**auth(officer="199002"), **key}
            )
            assert other.status_code == 201
            assert other.json()["complaint_id"] != first.json()["complaint_id"]

        # A restart keeps the answers (SQLite beside the spool).
        async with running_intake(settings) as client:
            replay = await client.post("/v1/complaints", json=body, headers={**auth(), **key})
            assert (replay.status_code, replay.json()) == (201, first.json())

    received = await read_to_end(settings.kafka_bootstrap, settings.topic_complaint_received)
    ids = sorted(r.key.decode() for r in received)
    assert ids == sorted([first.json()["complaint_id"], other.json()["complaint_id"]])


async def test_key_retried_on_another_replica_is_the_same_complaint(
    settings, registry, tmp_path
) -> None:
    replica_b = settings.model_copy(update={"state_dir": tmp_path / "replica-b"})
    body, key = complaint(), {"Idempotency-Key": "retry-on-b"}
    async with registry.running(), running_intake(settings) as a, running_intake(replica_b) as b:
        first = await a.post("/v1/complaints", json=body, headers={**auth(), **key})
        second = await b.post("/v1/complaints", json=body, headers={**auth(), **key})
        assert first.status_code == second.status_code == 201
        assert first.json()["complaint_id"] == second.json()["complaint_id"]
        assert first.json()["register_number"] == second.json()["register_number"]
        cid = first.json()["complaint_id"]
        # B may answer from the registered topic before its own re-publish reaches the
        # registry, so wait for the second delivery rather than assume it already came.
        await eventually("the second delivery", lambda: registry.deliveries.get(cid) == 2)
        assert registry.deliveries[cid] == 2  # published twice, registered once
        assert len(registry.numbers) == 1


async def test_any_replica_answers_status_and_accepts_amendments(
    settings, registry, tmp_path
) -> None:
    replica_b = settings.model_copy(
        update={"state_dir": tmp_path / "replica-b", "register_wait_s": 0.2}
    )
    slow = settings.model_copy(update={"register_wait_s": 0.2})
    async with running_intake(slow) as a, running_intake(replica_b) as b:
        registry.pause()
        async with registry.running():
            created = await a.post("/v1/complaints", json=complaint(), headers=auth())
            assert created.status_code == 202
            url = created.json()["status_url"]

            async def b_knows(status: str) -> bool:
                seen = await b.get(url, headers=auth())
                return seen.status_code == 200 and seen.json()["status"] == status

            # B learns of the complaint from the received topic.
            await eventually("replica B knows the complaint", lambda: b_knows("received"))
            registry.resume()
            await eventually("replica B knows the number", lambda: b_knows("registered"))
            seen = await b.get(url, headers=auth())
            cid = created.json()["complaint_id"]
            assert seen.json()["register_number"] == registry.numbers[cid]
            amended = await b.post(
                f"/v1/complaints/{cid}/supplements",
                json={"kind": "addition", "text": "Bukti foto menyusul."},
                headers=auth(),
            )
            assert amended.status_code == 201

    # A replica that starts later reads the look-back window and knows the number too.
    late = settings.model_copy(update={"state_dir": tmp_path / "replica-c"})
    async with running_intake(late) as c:
        status = await c.get(url, headers=auth())
        assert status.json()["register_number"] == registry.numbers[cid]


async def test_amendment_keys_are_idempotent(client, settings) -> None:
    created = await client.post("/v1/complaints", json=complaint(), headers=auth())
    cid = created.json()["complaint_id"]
    body, key = {"kind": "addition", "text": "Saksi: petugas parkir."}, {"Idempotency-Key": "sup-1"}
    url = f"/v1/complaints/{cid}/supplements"
    first = await client.post(url, json=body, headers={**auth(), **key})
    second = await client.post(url, json=body, headers={**auth(), **key})
    assert first.status_code == second.status_code == 201
    assert first.json()["amendment_id"] == second.json()["amendment_id"]
    clash = await client.post(url, json={**body, "text": "Lain"}, headers={**auth(), **key})
    assert clash.status_code == 409
    records = await read_to_end(settings.kafka_bootstrap, settings.topic_complaint_supplemented)
    assert len(records) == 1


@asynccontextmanager
async def registry_knowing_no_number() -> AsyncIterator[tuple[str, list[str]]]:
    """The registry's identifier route on a real port, answering every number 404 as the
    registry does for an unknown one; yields its URL and the numbers it was asked."""
    asked: list[str] = []
    app = FastAPI()

    @app.get("/v1/complaints/{number:path}/identifier")
    async def identifier(number: str) -> JSONResponse:
        asked.append(number)
        return JSONResponse({"code": "register_number_not_found"}, status_code=404)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        await eventually("the registry stand-in serves", lambda: server.started or task.done())
        assert server.started
        yield f"http://127.0.0.1:{port}", asked
    finally:
        server.should_exit = True
        await bounded(task, timeout_s=30)


def _key_refused(answer: Any, label: str) -> dict[str, Any]:
    assert answer.status_code == 422, (label, answer.status_code, answer.text)
    problem: dict[str, Any] = answer.json()
    [param] = problem["invalid-params"]
    assert param["name"] == "Idempotency-Key", (label, param)
    assert param["messages"]["id"] and param["messages"]["en"], label
    return problem


async def test_a_malformed_key_by_number_is_422_before_the_registry_is_asked(settings) -> None:
    """FastAPI validates header parameters only after the dependencies ran, and resolving a
    register number is a registry call: the key is checked first, so neither an unknown number
    (404) nor a registry that is down (503) hides the 422, and the registry is not asked."""
    number = "PGD/X/2026/999999"
    body = {"kind": "addition", "text": "Saksi lain."}
    async with registry_knowing_no_number() as (url, asked):
        up = settings.model_copy(update={"registry_url": url})
        async with running_intake(up) as client:
            # The by-id route's answer to the same key: the by-number one must be the same.
            by_id = await client.post(
                f"/v1/complaints/{uuid.uuid4()}/supplements",
                json=body,
                headers={**auth(), "Idempotency-Key": "k" * 201},
            )
            expected = _key_refused(by_id, "by id")
            for bad in ("k" * 201, ""):
                for method, path in AMENDMENTS:
                    answer = await client.request(
                        method,
                        f"/v1/complaints/by-number/{number}/{path}",
                        json=body,
                        headers={**auth(), "Idempotency-Key": bad},
                    )
                    problem = _key_refused(answer, f"{path} {len(bad)}")
                    if bad:
                        assert problem["code"] == expected["code"]
                        assert problem["invalid-params"] == expected["invalid-params"]
            assert asked == []
            # A bad token is still a 401 first, as by id.
            no_token = await client.post(
                f"/v1/complaints/by-number/{number}/supplements",
                json=body,
                headers={"Idempotency-Key": ""},
            )
            assert no_token.status_code == 401
            # A good key: the registry is asked, and the number is unknown.
            unknown = await client.post(
                f"/v1/complaints/by-number/{number}/supplements",
                json=body,
                headers={**auth(), "Idempotency-Key": "supplement-1"},
            )
            assert unknown.status_code == 404
            assert asked == [number]

    down = settings.model_copy(update={"registry_url": f"http://127.0.0.1:{free_port()}"})
    async with running_intake(down) as client:
        path = f"/v1/complaints/by-number/{number}/supplements"
        refused = await client.post(path, json=body, headers={**auth(), "Idempotency-Key": ""})
        _key_refused(refused, "registry down")
        waiting = await client.post(path, json=body, headers={**auth(), "Idempotency-Key": "k-1"})
        assert waiting.status_code == 503
    for topic in (settings.topic_complaint_supplemented, settings.topic_contact_provided):
        assert await read_to_end(settings.kafka_bootstrap, topic) == [], topic
