"""`sipuma-registry` as a process on the real Kafka and store: a schema-invalid event goes to the
dead-letter topic and the consumer goes on; a complaint of an office the registry does not know
is kept for a person, not dead-lettered; a redelivered event changes nothing; the outbox events
reach their topics with CloudEvents headers; the consumer group is the test's own; readiness and
graceful SIGTERM."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from registry_testkit.events import OFFICES, contact_provided, publish, received
from registry_testkit.process import Isolated, RegistryProcess

from sipuma.registry.handlers import CONSUMED
from sipuma.registry.store import Store
from sipuma.shared import payloads as p
from sipuma.shared.auth import Role, mint_token
from sipuma.shared.settings import DEV_TOKEN_SECRET
from tests.harness.endpoints import Endpoints
from tests.harness.state import consumed, read_to_end

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
SPV = Role.SUPERVISOR


async def test_dead_letter_dedupe_outbox_and_graceful_stop(
    endpoints: Endpoints, unique_name, tmp_path: Path
) -> None:
    own = Isolated.named(unique_name, "reg")
    prefix, database = own.prefix, own.database
    registry = RegistryProcess(
        own.env(endpoints, SIPUMA_LOG_LEVEL="INFO"), tmp_path / "reg.log"
    ).start()
    registry.wait_ready()
    producer = AIOKafkaProducer(
        bootstrap_servers=endpoints.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        good = received(OFFICES[0], contact=p.TrackingContact(email="pengadu@example.org"))
        poison = received(OFFICES[0])
        body = json.loads(poison.model_dump_json())
        del body["elements"]  # schema-invalid: a required field is missing
        await publish(producer, poison, prefix, value=json.dumps(body).encode())
        unknown_office = received(OFFICES[0]).model_copy(update={"office_code": "KPPBC-NOWHERE"})
        await publish(producer, unknown_office, prefix)
        await publish(producer, good, prefix)
        await publish(producer, good, prefix)  # redelivered / published twice
        later = contact_provided(good.office_code, good.complaint_id)
        await publish(producer, later, prefix)
        await publish(producer, later, prefix)

        # Everything published was handled and committed by the test's own group (the prefix
        # isolates it: the running stack's `registry` group is never joined).
        inputs = [prefix + s.name for s in CONSUMED]
        await consumed(endpoints.kafka_bootstrap, prefix + "registry", inputs)
        dead = await read_to_end(
            endpoints.kafka_bootstrap, prefix + "sipuma.dead-letter.registry.v1"
        )
        reasons = [dict(r.headers)["x-sipuma-dead-letter-reason"].decode() for r in dead]
        assert reasons == ["invalid_payload"]  # the unknown office is not among them
        assert "elements" in dict(dead[0].headers)["x-sipuma-dead-letter-detail"].decode()
        assert dict(dead[0].headers)["x-sipuma-dead-letter-group"].decode() == prefix + "registry"
        store = Store.connect(endpoints.mongo_uri, database)
        try:
            total, waiting = await store.needing_attention(10)
        finally:
            await store.close()
        assert total == 1 and waiting[0]["_id"] == str(unknown_office.complaint_id)
        supervisor = mint_token(DEV_TOKEN_SECRET.get_secret_value(), "spv-1", OFFICES[0], [SPV])
        attention = httpx.get(
            f"{registry.url}/v1/attention", headers={"Authorization": f"Bearer {supervisor}"}
        )
        assert [i["reason"] for i in attention.json()["items"]] == ["unknown_office"]

        registered = await read_to_end(
            endpoints.kafka_bootstrap, prefix + "sipuma.complaint.registered.v1"
        )
        assert len(registered) == 1  # the consumer went on past the poison; one number only
        event = json.loads(registered[0].value)
        assert event["register_number"] == f"PGD/{OFFICES[0]}/2026/000001"
        headers = {k: v.decode() for k, v in registered[0].headers}
        assert headers["ce_type"] == "sipuma.complaint.registered.v1"
        assert headers["ce_id"] == event["event_id"]
        assert headers["ce_subject"] == str(good.complaint_id)
        assert registered[0].key == str(good.complaint_id).encode()
        assert "Siti" not in registered[0].value.decode()  # analytics topic: no personal data

        # All input was handled (above) and a handler publishes before its offset is
        # committed, so the topic up to its high-water mark is all there will be.
        issued = await read_to_end(endpoints.kafka_bootstrap, prefix + "sipuma.ticket.issued.v1")
        assert len(issued) == 2  # one per contact; the repeated contact event adds nothing

        ready = httpx.get(f"{registry.url}/readyz").json()
        assert ready == {"status": "ready", "checks": {"kafka": "ok", "store": "ok"}}
        assert (
            httpx.get(f"{registry.url}/openapi.json").json()["info"]["title"] == "SIPUMA Registry"
        )
    finally:
        await producer.stop()
        code = registry.terminate()
        await own.drop(endpoints)
    log = registry.log.read_text()
    assert code in (0, -15) and "Application shutdown complete" in log
    for secret in ("Siti", "pengadu@example.org", "Merdeka"):
        assert secret not in log  # personal data never reaches the logs
