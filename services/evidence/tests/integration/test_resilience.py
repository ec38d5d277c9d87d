"""Kafka down at upload time (outbox), and SIGTERM while an upload is in flight."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from services.evidence.tests import samples
from services.evidence.tests.support import (
    OFFICE,
    SECRET,
    MiB,
    auth,
    free_port,
    publish_registered,
    read_topic,
    running_service,
    settings_for,
)
from sipuma.evidence.handlers import KafkaEvidencePublisher
from sipuma.shared.kafka import build_broker
from tests.harness.endpoints import Endpoints

pytestmark = pytest.mark.integration


async def test_with_kafka_down_the_upload_is_kept_and_its_event_waits_in_the_outbox(
    endpoints: Endpoints,
) -> None:
    name = f"ev-{uuid.uuid4().hex[:12]}"
    real = settings_for(endpoints, name, object_lock=False)
    down = real.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{free_port()}"})
    async with running_service(down, wait_kafka=False) as svc:
        cid = uuid.uuid4()
        # Kafka is down, so no complaint event can arrive: seed the service's own view directly.
        await svc.app.state.store.complaint_seen(str(cid), OFFICE, datetime.now(UTC))
        async with svc.client() as client:
            answer = await client.post(
                f"/v1/complaints/{cid}/evidence",
                params={"kind": "scan", "filename": "surat.pdf"},
                content=samples.pdf(),
                headers={**auth(), "Content-Type": "application/pdf"},
            )
        assert answer.status_code == 201, answer.text
        evidence_id = answer.json()["evidence_id"]
        record = await svc.app.state.store.evidence.find_one({"_id": evidence_id})
        assert record["outbox_pending"] is True

        # Kafka is back: the relay publishes the pending event once.
        broker = build_broker(real)
        await broker.start()
        try:
            publisher = KafkaEvidencePublisher(broker, real.topic_evidence_stored)
            publisher.connected = True
            svc.app.state.service.publisher = publisher
            assert await svc.app.state.service.relay_once(older_than_s=0) == 1
            assert await svc.app.state.service.relay_once(older_than_s=0) == 0
        finally:
            await broker.stop()
    events = await read_topic(real.kafka_bootstrap, real.topic_evidence_stored)
    assert [e["evidence_id"] for e, _ in events] == [evidence_id]
    assert events[0][0]["sha256"] == hashlib.sha256(samples.pdf()).hexdigest()


async def test_sigterm_lets_an_in_flight_upload_finish(endpoints: Endpoints) -> None:
    name = f"ev-{uuid.uuid4().hex[:12]}"
    settings = settings_for(endpoints, name, object_lock=False)
    port = free_port()
    env = {
        **os.environ,
        **endpoints.as_env(),
        "SIPUMA_HTTP_PORT": str(port),
        "SIPUMA_TOKEN_SECRET": SECRET,
        "SIPUMA_BUCKET": settings.bucket,
        "SIPUMA_OBJECT_LOCK": "false",
        "SIPUMA_MONGO_DATABASE": settings.mongo_database,
        "SIPUMA_TOPIC_PREFIX": settings.topic_prefix,
        "SIPUMA_CONSUMER_GROUP": settings.consumer_group,
        "SIPUMA_TOPIC_PARTITIONS": "1",
        "SIPUMA_LOG_FORMAT": "json",
    }
    exe = Path(sys.executable).with_name("sipuma-evidence")
    proc = await asyncio.create_subprocess_exec(
        str(exe), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            for _ in range(300):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            cid = uuid.uuid4()
            await publish_registered(
                settings.kafka_bootstrap, settings.topic_complaint_registered, OFFICE, cid
            )
            for _ in range(100):
                if (
                    await client.get(f"/v1/complaints/{cid}/evidence", headers=auth())
                ).status_code == 200:
                    break
                await asyncio.sleep(0.2)

            sent = asyncio.Event()

            async def slow_body() -> AsyncIterator[bytes]:
                for i, block in enumerate(samples.video_stream(12 * MiB)):
                    if i == 3:
                        sent.set()
                        await asyncio.sleep(1.5)  # SIGTERM arrives while we are here
                    yield block

            upload = asyncio.create_task(
                client.post(
                    f"/v1/complaints/{cid}/evidence",
                    params={"kind": "video"},
                    content=slow_body(),
                    headers={**auth(), "Content-Type": "video/mp4"},
                )
            )
            await sent.wait()
            proc.send_signal(signal.SIGTERM)
            answer = await upload
        assert answer.status_code == 201, answer.text
        assert answer.json()["size_bytes"] == 12 * MiB
        output, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert b"evidence_stopped" in output
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
