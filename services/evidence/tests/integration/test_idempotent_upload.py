"""Idempotency-Key on uploads, on the real MinIO, store and Kafka through a real HTTP port: a
client that retries (a timeout, a lost answer) gets the same answer, and one object and one
record are kept; a concurrent duplicate is one upload too."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.evidence.tests import samples
from services.evidence.tests.support import (
    OFFICE,
    Running,
    auth,
    publish_registered,
    running_service,
    settings_for,
)
from sipuma.shared.topics import COMPLAINT_REGISTERED
from tests.harness.endpoints import Endpoints
from tests.harness.ports import free_port
from tests.harness.state import eventually

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def svc(endpoints: Endpoints) -> AsyncIterator[Running]:
    name = f"ev-{uuid.uuid4().hex[:12]}"
    async with running_service(settings_for(endpoints, name)) as running:
        yield running


async def new_complaint(svc: Running) -> uuid.UUID:
    settings = svc.settings
    cid = await publish_registered(
        settings.kafka_bootstrap, settings.topic(COMPLAINT_REGISTERED), OFFICE
    )
    await svc.knows(cid)
    return cid


def headers(key: str | None, name: str = "scan.png") -> dict[str, str]:
    sent = {**auth(), "Content-Type": "image/png", "X-File-Name": name}
    if key is not None:
        sent["Idempotency-Key"] = key
    return sent


async def upload(svc: Running, cid: uuid.UUID, data: Any, key: str | None) -> httpx.Response:
    async with svc.client() as client:
        return await client.post(
            f"/v1/complaints/{cid}/evidence",
            params={"kind": "photo"},
            content=data,
            headers=headers(key),
        )


def versions(svc: Running, cid: uuid.UUID) -> list[str]:
    """Every object version under the complaint (a second copy would be a second version)."""
    listed = svc.runtime.storage.client.list_objects(
        svc.settings.bucket, prefix=f"complaints/{cid}/", recursive=True, include_version=True
    )
    return [f"{o.object_name}@{o.version_id}" for o in listed]


async def kept_state(svc: Running) -> list[str]:
    return [doc["state"] async for doc in svc.runtime.store.answers.collection.find({})]


async def one_item(svc: Running, cid: uuid.UUID) -> dict[str, Any]:
    records = await svc.runtime.store.list_for(str(cid))
    assert len(records) == 1, records
    complaint = await svc.runtime.store.complaint(str(cid))
    assert complaint is not None and complaint.evidence_count == 1
    assert len(versions(svc, cid)) == 1, versions(svc, cid)
    return {"evidence_id": records[0].evidence_id, "sha256": records[0].sha256}


async def test_a_retry_after_a_lost_answer_gets_the_same_answer_and_one_item(
    svc: Running,
) -> None:
    cid = await new_complaint(svc)
    data, key = samples.png(), f"k-{uuid.uuid4()}"
    # The first request is sent whole on a raw connection whose answer is never read: the
    # client "timed out". The connection closes once the service kept the answer.
    sent = {**headers(key), "Content-Length": str(len(data)), "Host": "127.0.0.1"}
    head = f"POST /v1/complaints/{cid}/evidence?kind=photo HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in sent.items()
    )
    before = (await kept_state(svc)).count("done")
    _, writer = await asyncio.open_connection("127.0.0.1", svc.port)
    writer.write(head.encode() + b"\r\n" + data)
    await writer.drain()
    await eventually("the first answer is kept", lambda: _done(svc, before + 1))
    writer.close()
    await writer.wait_closed()

    again = await upload(svc, cid, data, key)
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    item = await one_item(svc, cid)
    assert again.json()["evidence_id"] == item["evidence_id"]
    assert again.json()["sha256"] == hashlib.sha256(data).hexdigest() == item["sha256"]
    assert again.headers["Location"].endswith(item["evidence_id"])
    third = await upload(svc, cid, data, key)  # any number of retries: the same answer
    assert third.json() == again.json()
    await one_item(svc, cid)
    async with svc.client() as client:
        metrics = (await client.get("/metrics")).text
    assert 'sipuma_evidence_uploads_total{status="201_replayed"}' in metrics


async def _done(svc: Running, count: int) -> bool:
    return (await kept_state(svc)).count("done") >= count


async def test_a_retry_whose_first_answer_was_never_kept_meets_the_first_record(
    svc: Running,
) -> None:
    """A replica died after the commit, before it kept the answer: the evidence id follows from
    the key, so the retry finds the first record and its own copy is removed."""
    cid = await new_complaint(svc)
    data, key = samples.png(), f"k-{uuid.uuid4()}"
    first = await upload(svc, cid, data, key)
    assert first.status_code == 201, first.text
    await svc.runtime.store.answers.collection.delete_many({})  # the answer was never kept

    again = await upload(svc, cid, data, key)
    assert again.status_code == 201, again.text
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["evidence_id"] == first.json()["evidence_id"]
    await one_item(svc, cid)
    # Another file under that key now: refused, nothing kept.
    await svc.runtime.store.answers.collection.delete_many({})
    other = await upload(svc, cid, samples.png() + b"other", key)
    assert other.status_code == 409, other.text
    assert other.json()["code"] == "idempotency_key_reused"
    await one_item(svc, cid)


async def test_the_same_key_for_another_file_or_name_is_refused_and_keeps_nothing(
    svc: Running,
) -> None:
    cid = await new_complaint(svc)
    data, key = samples.png(), f"k-{uuid.uuid4()}"
    assert (await upload(svc, cid, data, key)).status_code == 201
    for changed in (data + b"\x00", data[:-1]):  # another file: longer, shorter
        refused = await upload(svc, cid, changed, key)
        assert refused.status_code == 409, refused.text
        body = refused.json()
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert body["code"] == "idempotency_key_reused"
        assert body["messages"]["id"].startswith("Idempotency-Key ini sudah dipakai")
    async with svc.client() as client:
        renamed = await client.post(
            f"/v1/complaints/{cid}/evidence",
            params={"kind": "photo"},
            content=data,
            headers=headers(key, name="other.png"),
        )
    assert renamed.status_code == 409, renamed.text
    await one_item(svc, cid)
    # A malformed key is named like any other field; without a key each upload is its own.
    too_long = await upload(svc, cid, data, "k" * 201)
    assert too_long.status_code == 422, too_long.text
    assert (await upload(svc, cid, data, None)).status_code == 201
    assert len(await svc.runtime.store.list_for(str(cid))) == 2


async def test_a_concurrent_duplicate_is_one_upload(svc: Running) -> None:
    cid = await new_complaint(svc)
    data, key = samples.png(), f"k-{uuid.uuid4()}"
    release = asyncio.Event()

    async def held() -> AsyncIterator[bytes]:  # the first upload is still streaming
        yield data[:100]
        await release.wait()
        yield data[100:]

    first = asyncio.create_task(upload(svc, cid, held(), key))
    await eventually("the first upload holds the key", lambda: _running(svc))
    duplicate = await upload(svc, cid, data, key)
    assert duplicate.status_code == 409, duplicate.text
    assert duplicate.json()["code"] == "idempotency_key_in_progress"
    release.set()
    answer = await first
    assert answer.status_code == 201, answer.text
    await one_item(svc, cid)

    # Racing without a hold: one stores, the others get its answer or "in progress".
    cid = await new_complaint(svc)
    key = f"k-{uuid.uuid4()}"
    answers = await asyncio.gather(*(upload(svc, cid, data, key) for _ in range(6)))
    stored = [a for a in answers if a.status_code == 201]
    assert stored and all(a.status_code in (201, 409) for a in answers), answers
    assert len({a.json()["evidence_id"] for a in stored}) == 1
    await one_item(svc, cid)


async def _running(svc: Running) -> bool:
    return "running" in await kept_state(svc)


async def test_answers_expire_by_a_ttl_index(svc: Running) -> None:
    await svc.runtime.store.prepare()
    indexes = await svc.runtime.store.answers.collection.index_information()
    assert indexes["expires"]["expireAfterSeconds"] == int(svc.settings.idempotency_ttl_s)


async def test_a_malformed_key_by_number_is_422_even_with_the_registry_down(
    endpoints: Endpoints,
) -> None:
    """Headers are validated after the dependencies, and resolving a number asks the registry:
    the key is checked first, so a registry that is down does not turn its 422 into a 503."""
    name = f"ev-{uuid.uuid4().hex[:12]}"
    down = settings_for(endpoints, name, registry_url=f"http://127.0.0.1:{free_port()}")
    async with running_service(down, wait_kafka=False) as svc, svc.client() as client:
        by_id = await client.post(
            f"/v1/complaints/{uuid.uuid4()}/evidence", content=b"x", headers=headers("k" * 201)
        )
        by_number = "/v1/complaints/by-number/PGD/X/2026/000001/evidence"
        refused = await client.post(by_number, content=b"x", headers=headers("k" * 201))
        assert refused.status_code == by_id.status_code == 422, refused.text
        [param] = refused.json()["invalid-params"]
        assert param["name"].lower() == "idempotency-key"  # as evidence names headers
        assert refused.json()["invalid-params"] == by_id.json()["invalid-params"]
        waiting = await client.post(by_number, content=b"x", headers=headers("k-1"))
        assert waiting.status_code == 503  # a good key: the registry was asked, and it is down
