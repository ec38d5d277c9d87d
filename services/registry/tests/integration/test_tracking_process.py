"""Public tracking on `sipuma-registry` as a process, behind its real HTTP server (uvicorn via the
shared `serve`): the ticket never reaches the log, and the rate limit keys on the real client —
`X-Forwarded-For` is believed only from configured trusted proxies."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from registry_testkit.events import OFFICES, publish, received
from registry_testkit.process import Isolated, RegistryProcess

from sipuma.registry import tickets
from sipuma.registry.handlers import CONSUMED
from sipuma.shared import payloads as p
from tests.harness.endpoints import Endpoints
from tests.harness.state import consumed, read_to_end

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
UNKNOWN = "7KQ2-M9XD-4HBT-0RZ0"


def _track(url: str, ticket: str, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return httpx.post(f"{url}/v1/track", json={"ticket": ticket}, headers=headers).status_code


async def test_the_ticket_stays_out_of_the_log_and_forwarded_for_is_not_believed(
    endpoints: Endpoints, unique_name, tmp_path: Path
) -> None:
    own = Isolated.named(unique_name, "trk")
    prefix = own.prefix
    env = own.env(
        endpoints,
        SIPUMA_LOG_LEVEL="INFO",  # the access log is on
        SIPUMA_TRACK_REQUESTS_PER_MINUTE="4",
        SIPUMA_TRACK_MIN_SECONDS="0",
    )
    registry = RegistryProcess(env, tmp_path / "reg.log").start()
    producer = AIOKafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap, acks="all")
    try:
        registry.wait_ready()
        await producer.start()
        event = received(OFFICES[0], contact=p.TrackingContact(email="pengadu@example.org"))
        await publish(producer, event, prefix)
        inputs = [prefix + s.name for s in CONSUMED]
        await consumed(endpoints.kafka_bootstrap, prefix + "registry", inputs)
        issued = await read_to_end(endpoints.kafka_bootstrap, prefix + "sipuma.ticket.issued.v1")
        plain = json.loads(issued[0].value)["ticket_number"]

        assert _track(registry.url, plain) == 200
        assert httpx.get(f"{registry.url}/v1/track/{plain}").status_code == 200  # deprecated
        # Rotating X-Forwarded-For from loopback (no trusted proxy): still one client, one
        # bucket of 4, whatever address the header claims.
        codes = [_track(registry.url, UNKNOWN, f"198.51.100.{i}") for i in range(4)]
        assert codes == [404, 404, 429, 429]
    finally:
        await producer.stop()
        registry.terminate()
        await own.drop(endpoints)
    log = registry.log.read_text()
    canonical = tickets.parse(plain)
    assert canonical is not None
    for secret in (plain, canonical, plain.lower(), UNKNOWN):
        assert secret not in log
    assert "/v1/track/{ticket}" in log  # the access log names the route template instead


async def test_behind_a_trusted_proxy_the_limit_keys_on_the_forwarded_client(
    endpoints: Endpoints, unique_name, tmp_path: Path
) -> None:
    own = Isolated.named(unique_name, "trk")
    env = own.env(
        endpoints,
        SIPUMA_TRUSTED_PROXIES='["127.0.0.1"]',  # the ingress runs on this host
        SIPUMA_TRACK_REQUESTS_PER_MINUTE="2",
        SIPUMA_TRACK_MIN_SECONDS="0",
    )
    registry = RegistryProcess(env, tmp_path / "reg.log").start()
    try:
        registry.wait_ready()
        first = [_track(registry.url, UNKNOWN, "203.0.113.7") for _ in range(3)]
        assert first == [404, 404, 429]
        assert _track(registry.url, UNKNOWN, "203.0.113.8") == 404  # another client
        assert _track(registry.url, UNKNOWN, "203.0.113.7") == 429
    finally:
        registry.terminate()
        await own.drop(endpoints)
