"""Evidence on the real MinIO, MongoDB-compatible store and Kafka, through a real HTTP port."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from minio.error import S3Error

from services.evidence.tests import samples
from services.evidence.tests.support import (
    OFFICE,
    OTHER_OFFICE,
    SECRET,
    MiB,
    Running,
    auth,
    publish_registered,
    read_topic,
    running_service,
    send_raw,
    settings_for,
)
from sipuma.evidence.service import AUDITED
from sipuma.shared import audit_chain
from sipuma.shared.auth import mint_token
from sipuma.shared.cloudevents import encode, to_headers
from sipuma.shared.events import ComplaintIdentityErased
from sipuma.shared.topics import (
    AUDIT_IDENTITY_READ,
    COMPLAINT_IDENTITY_ERASED,
    COMPLAINT_REGISTERED,
)
from tests.harness.endpoints import Endpoints
from tests.harness.ports import free_port
from tests.harness.state import eventually, read_to_end

pytestmark = pytest.mark.integration

PHOTO_LIMIT = 256 * 1024


@pytest.fixture(scope="module")
async def svc(endpoints: Endpoints) -> AsyncIterator[Running]:
    name = f"ev-{uuid.uuid4().hex[:12]}"
    settings = settings_for(
        endpoints, name, max_photo_bytes=PHOTO_LIMIT, max_files_per_complaint=3, object_lock=True
    )
    async with running_service(settings) as running:
        yield running


async def new_complaint(svc: Running, office: str = OFFICE) -> uuid.UUID:
    cid = await publish_registered(
        svc.settings.kafka_bootstrap, svc.settings.topic(COMPLAINT_REGISTERED), office
    )
    await svc.knows(cid)
    return cid


async def upload(
    svc: Running,
    cid: uuid.UUID,
    data: Any,
    *,
    kind: str | None = None,
    content_type: str = "application/octet-stream",
    filename: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    params = {"kind": kind} if kind else {}
    sent = {**(headers if headers is not None else auth()), "Content-Type": content_type}
    if filename is not None:
        sent["X-File-Name"] = quote(filename, safe="")
    async with svc.client() as client:
        return await client.post(
            f"/v1/complaints/{cid}/evidence", params=params, content=data, headers=sent
        )


def leftovers(svc: Running, cid: uuid.UUID) -> tuple[list[str], list[str]]:
    client = svc.runtime.storage.client
    prefix = f"complaints/{cid}/"
    objects = [
        o.object_name
        for o in client.list_objects(svc.settings.bucket, prefix=prefix, include_version=True)
    ]
    # MinIO lists open multipart uploads for the whole bucket or one exact key only.
    incomplete = [
        u.object_name
        for u in client._list_multipart_uploads(svc.settings.bucket).uploads
        if u.object_name.startswith(prefix)
    ]
    return objects, incomplete


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["messages"]["id"] and body["messages"]["en"]
    return body


@pytest.mark.parametrize("name", sorted(samples.ACCEPTED))
async def test_each_accepted_kind_round_trips_with_its_sha256(svc: Running, name: str) -> None:
    data, kind, declared, filename = samples.ACCEPTED[name]
    cid = await new_complaint(svc)
    response = await upload(svc, cid, data, kind=kind, content_type=declared, filename=filename)
    assert response.status_code == 201, response.text
    body = response.json()
    digest = hashlib.sha256(data).hexdigest()
    assert body["sha256"] == digest
    assert body["size_bytes"] == len(data)
    assert body["kind"] == kind
    assert body["file_name"] == filename
    assert body["retained_until"] is not None  # this MinIO supports object lock

    storage = svc.runtime.storage
    record = await svc.runtime.store.get(str(cid), body["evidence_id"])
    assert record is not None
    tags = storage.client.get_object_tags(
        svc.settings.bucket, record.object_key, version_id=record.version_id
    )
    assert tags is not None and tags["sha256"] == digest
    async with svc.client() as client:
        link = await client.get(
            f"/v1/complaints/{cid}/evidence/{body['evidence_id']}/download", headers=auth()
        )
        assert link.status_code == 200
        assert link.headers["cache-control"] == "no-store"
        fetched = await client.get(link.json()["url"])
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == digest
    assert fetched.headers["content-disposition"].startswith("attachment;")
    assert fetched.headers["content-type"].startswith(body["content_type"])
    # One audit entry for the one link (a scan may be the complainant's KTP), chain intact.
    audit = svc.runtime.store.audit
    entries = await audit.find({"evidence_id": body["evidence_id"]}).to_list()
    assert [(e["officer_id"], e["kind"]) for e in entries] == [("198001", kind)]
    chain = audit.find({}).sort("_id", 1)
    assert (await audit_chain.verify(chain, AUDITED))["intact"]
    # The same read on the restricted audit topic (stored first, then published: outbox).
    audit_topic = svc.settings.topic(AUDIT_IDENTITY_READ)

    async def on_topic() -> list[dict[str, Any]] | None:
        found = [
            e
            for e, _ in await read_topic(svc.settings.kafka_bootstrap, audit_topic)
            if e["complaint_id"] == str(cid)
        ]
        return found or None

    (published,) = await eventually("the download on the audit topic", on_topic)
    assert published["fields"] == [f"evidence:{kind}"] and published["officer_id"] == "198001"
    # Supervisors see it through the audit API (any office); others are refused.
    boss = auth(OTHER_OFFICE, ("supervisor",), "197501")
    async with svc.client() as client:
        listed = await client.get(
            "/v1/audit/evidence-downloads", params={"complaint_id": str(cid)}, headers=boss
        )
        assert listed.status_code == 200, listed.text
        (shown,) = listed.json()["items"]
        assert shown["evidence_id"] == body["evidence_id"] and shown["officer_id"] == "198001"
        refused = await client.get("/v1/audit/evidence-downloads", headers=auth())
        assert refused.status_code == 403
        checked = await client.get("/v1/audit/evidence-downloads/verify", headers=boss)
        assert checked.json()["intact"] is True


async def test_stored_evidence_cannot_be_silently_removed(svc: Running) -> None:
    cid = await new_complaint(svc)
    body = (await upload(svc, cid, samples.pdf(), kind="scan", filename="a.pdf")).json()
    record = await svc.runtime.store.get(str(cid), body["evidence_id"])
    assert record is not None
    storage = svc.runtime.storage
    assert storage.state is not None and storage.state.object_lock
    with pytest.raises(S3Error):
        storage.client.remove_object(
            svc.settings.bucket, record.object_key, version_id=record.version_id
        )


async def test_erasure_deletes_identity_documents_and_keeps_the_rest(svc: Running) -> None:
    """On complaint.identity-erased.v1 the scans and soft copies (where a KTP lands) go for
    good, past the GOVERNANCE lock; photos stay; every record stays (statistics)."""
    cid = await new_complaint(svc)
    scan = (await upload(svc, cid, samples.pdf(), kind="scan", filename="ktp.pdf")).json()
    photo = (await upload(svc, cid, samples.png(), kind="photo", filename="loket.png")).json()
    erasure = ComplaintIdentityErased(
        source="registry",
        correlation_id=uuid.uuid4().hex,
        office_code=OFFICE,
        complaint_id=cid,
        erased_at=datetime.now(UTC),
    )
    topic = svc.settings.topic(COMPLAINT_IDENTITY_ERASED)
    await send_raw(
        svc.settings.kafka_bootstrap, topic, encode(erasure), to_headers(erasure), cid.bytes
    )
    store = svc.runtime.store

    async def scan_gone() -> bool:
        doc = await store.evidence.find_one({"_id": scan["evidence_id"]})
        return doc is not None and doc.get("erased_at") is not None

    await eventually("the scan erased", scan_gone)
    objects, _ = leftovers(svc, cid)
    kept = await store.get(str(cid), photo["evidence_id"])
    erased = await store.get(str(cid), scan["evidence_id"])
    assert kept is not None and erased is not None  # both records stay
    assert objects == [kept.object_key]  # no version of the scan is left, the photo is
    assert len(await store.list_for(str(cid))) == 2


@pytest.mark.parametrize(
    ("data", "content_type", "filename", "status", "code"),
    [
        (samples.html(), "application/pdf", "bukti.pdf", 415, "unsupported_type"),
        (samples.png(), "application/octet-stream", "video.mp4", 415, "extension_mismatch"),
        (samples.png(), "video/mp4", None, 415, "type_mismatch"),
        (samples.plain_zip(), "application/zip", "laporan.zip", 415, "unsupported_type"),
        (b"", "application/pdf", "kosong.pdf", 422, "empty_file"),
    ],
)
async def test_hostile_files_are_refused_and_leave_nothing(
    svc: Running, data: bytes, content_type: str, filename: str | None, status: int, code: str
) -> None:
    cid = await new_complaint(svc)
    response = await upload(svc, cid, data, content_type=content_type, filename=filename)
    assert_problem(response, status, code)
    assert leftovers(svc, cid) == ([], [])
    assert await svc.runtime.store.list_for(str(cid)) == []


async def test_a_png_declared_as_video_is_refused_for_the_video_kind(svc: Running) -> None:
    cid = await new_complaint(svc)
    response = await upload(svc, cid, samples.png(), kind="video", filename="foto.png")
    assert_problem(response, 415, "kind_mismatch")


async def test_path_in_the_file_name_is_kept_only_as_sanitised_metadata(svc: Running) -> None:
    cid = await new_complaint(svc)
    response = await upload(svc, cid, samples.txt(), filename="../../etc/passwd")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["file_name"] == "passwd"
    record = await svc.runtime.store.get(str(cid), body["evidence_id"])
    assert record is not None
    assert record.object_key == f"complaints/{cid}/{body['evidence_id']}"
    stat = svc.runtime.storage.client.stat_object(svc.settings.bucket, record.object_key)
    assert stat.metadata is not None
    assert stat.metadata["x-amz-meta-original-name"] == "passwd"
    async with svc.client() as client:
        listed = await client.get(f"/v1/complaints/{cid}/evidence", headers=auth())
    assert [i["file_name"] for i in listed.json()["items"]] == ["passwd"]


async def test_over_the_kind_limit_is_413_with_or_without_content_length(svc: Running) -> None:
    cid = await new_complaint(svc)
    big = samples.jpeg() + bytes(PHOTO_LIMIT)
    declared = await upload(svc, cid, big, kind="photo", content_type="image/jpeg")
    assert_problem(declared, 413, "file_too_large")

    async def chunked() -> AsyncIterator[bytes]:
        for i in range(0, len(big), 16 * 1024):
            yield big[i : i + 16 * 1024]

    streamed = await upload(svc, cid, chunked(), kind="photo", content_type="image/jpeg")
    assert_problem(streamed, 413, "file_too_large")
    assert leftovers(svc, cid) == ([], [])


async def test_per_complaint_count_limit(svc: Running) -> None:
    cid = await new_complaint(svc)
    for _ in range(3):
        assert (await upload(svc, cid, samples.pdf(), kind="scan")).status_code == 201
    assert_problem(
        await upload(svc, cid, samples.pdf(), kind="scan"), 413, "complaint_evidence_limit"
    )


async def test_access_follows_the_complaints_office(svc: Running) -> None:
    cid = await new_complaint(svc)
    pdf = samples.pdf()
    assert_problem(await upload(svc, cid, pdf, headers={}), 401, "token_missing")
    assert_problem(await upload(svc, cid, pdf, headers=auth(OTHER_OFFICE)), 403, "forbidden_office")
    assert (await upload(svc, cid, pdf, headers=auth(roles=("compliance",)))).status_code == 201
    supervisor = auth(OTHER_OFFICE, roles=("supervisor",))
    assert (await upload(svc, cid, pdf, headers=supervisor)).status_code == 201
    assert_problem(await upload(svc, uuid.uuid4(), pdf), 404, "complaint_unknown")
    async with svc.client() as client:
        other = await client.get(f"/v1/complaints/{cid}/evidence", headers=auth(OTHER_OFFICE))
    assert_problem(other, 403, "forbidden_office")


async def test_an_upload_cut_off_half_way_leaves_nothing(svc: Running) -> None:
    cid = await new_complaint(svc)
    token = mint_token(SECRET, "198001", OFFICE, ["receiver"])
    _, writer = await asyncio.open_connection("127.0.0.1", svc.port)
    writer.write(
        (
            f"POST /v1/complaints/{cid}/evidence?kind=video HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: video/mp4\r\nContent-Length: {64 * MiB}\r\n\r\n"
        ).encode()
    )
    sent = 0
    for block in samples.video_stream(40 * MiB):
        writer.write(block)
        await writer.drain()
        sent += len(block)
        if sent >= 24 * MiB:
            break
    # A multipart upload is really under way before the cut.
    await eventually("a multipart upload under way", lambda: leftovers(svc, cid)[1])
    writer.transport.abort()
    await eventually("nothing left in MinIO", lambda: leftovers(svc, cid) == ([], []))
    assert await svc.runtime.store.list_for(str(cid)) == []
    events = await read_topic(svc.settings.kafka_bootstrap, svc.settings.topic_evidence_stored)
    assert not [e for e, _ in events if e["complaint_id"] == str(cid)]


async def test_a_large_file_streams_in_parts_with_the_right_hash(svc: Running) -> None:
    cid = await new_complaint(svc)
    digest = hashlib.sha256()
    for block in samples.video_stream(23 * MiB):
        digest.update(block)

    async def body() -> AsyncIterator[bytes]:
        for block in samples.video_stream(23 * MiB):
            yield block

    response = await upload(svc, cid, body(), kind="video", filename="rekaman cctv.mp4")
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == digest.hexdigest()
    assert response.json()["size_bytes"] == 23 * MiB
    assert leftovers(svc, cid)[1] == []


async def test_evidence_stored_appears_on_kafka_only_for_complete_objects(svc: Running) -> None:
    cid = await new_complaint(svc)
    ok = await upload(svc, cid, samples.wav(), kind="sound", filename="Rekaman Pak Wayan.wav")
    refused = await upload(svc, cid, samples.html(), filename="x.pdf")
    assert ok.status_code == 201
    assert refused.status_code == 415
    events = await read_topic(svc.settings.kafka_bootstrap, svc.settings.topic_evidence_stored)
    mine = [(e, h) for e, h in events if e["complaint_id"] == str(cid)]
    assert len(mine) == 1
    event, headers = mine[0]
    body = ok.json()
    assert event["evidence_id"] == body["evidence_id"]
    assert event["sha256"] == hashlib.sha256(samples.wav()).hexdigest()
    assert event["size_bytes"] == len(samples.wav())
    assert event["kind"] == "sound"
    assert event["office_code"] == OFFICE
    assert headers["ce_type"] == "sipuma.evidence.stored.v1"
    assert headers["ce_subject"] == str(cid)
    assert "Wayan" not in str(event) and "file_name" not in event
    pending = await svc.runtime.store.pending(older_than_s=0)
    assert body["evidence_id"] not in [p.record.evidence_id for p in pending], "outbox done"


async def test_a_poison_complaint_event_goes_to_the_dead_letter_topic(svc: Running) -> None:
    topic = svc.settings.topic(COMPLAINT_REGISTERED)
    poison_key = uuid.uuid4().hex.encode()
    await send_raw(svc.settings.kafka_bootstrap, topic, b"{not json", {}, poison_key)
    await send_raw(svc.settings.kafka_bootstrap, topic, b'{"complaint_id": "x"}', {}, poison_key)
    cid = await new_complaint(svc)  # the consumer went on past the poison
    assert await svc.runtime.store.complaint(str(cid)) is not None
    dlq = svc.settings.dead_letter_topic()
    assert dlq == svc.settings.topic_prefix + "sipuma.dead-letter.sipuma-evidence.v1"
    dead = await read_to_end(svc.settings.kafka_bootstrap, dlq)
    mine = [r for r in dead if r.key == poison_key]
    assert [r.value for r in mine] == [b"{not json", b'{"complaint_id": "x"}']
    assert all(dict(r.headers)["x-sipuma-dead-letter-topic"] == topic.encode() for r in mine)


async def test_minio_down_answers_503_and_records_nothing(endpoints: Endpoints) -> None:
    name = f"ev-{uuid.uuid4().hex[:12]}"
    settings = settings_for(endpoints, name, s3_endpoint=f"127.0.0.1:{free_port()}", s3_retries=0)
    async with running_service(settings) as down:
        cid = await new_complaint(down)
        response = await upload(down, cid, samples.pdf(), kind="scan", filename="a.pdf")
        body = assert_problem(response, 503, "storage_unavailable")
        assert "Tidak ada yang disimpan" in body["messages"]["id"]
        assert response.headers["retry-after"]
        assert await down.runtime.store.list_for(str(cid)) == []
        async with down.client() as client:
            ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["storage"] == "failing"
        events = await read_topic(settings.kafka_bootstrap, settings.topic_evidence_stored)
    assert events == []
