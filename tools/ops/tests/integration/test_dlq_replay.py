"""sipuma-dlq on the real Kafka and store with a real registry (its `build()`): a complaint that a
registry refused lands in the dead-letter topic; the CLI lists and shows it with personal data
masked; after the fix (a registry that accepts it) `replay` puts it back on its original topic and
it is registered; `purge` empties the topic; every action leaves an audit line.

The refusal: a registry release that does not (yet) accept ComplaintReceived, the failure an
upgrade in the wrong order gives (producers before consumers; docs/operations.md). A complaint of
an office the registry does not know is not a dead letter here: it waits for a person instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer

from sipuma.registry import handlers
from sipuma.registry.main import build
from sipuma.registry.settings import RegistrySettings
from sipuma.registry.store import Store
from sipuma.shared import events as ev
from sipuma.shared import samples
from sipuma.shared.cloudevents import encode, to_headers
from sipuma.shared.topics import COMPLAINT_RECEIVED, COMPLAINT_REGISTERED
from tests.harness.endpoints import Endpoints
from tests.harness.state import consumed, eventually, read_to_end

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

OFFICE = "KPUBC-TPK-TJPRIOK"
PERSONAL = ("Siti", "Pattimura", "pengadu@contoh.id", "81234567890", "Ahmad")


def _settings(endpoints: Endpoints, prefix: str, database: str) -> RegistrySettings:
    return RegistrySettings(
        kafka_bootstrap=endpoints.kafka_bootstrap,
        mongo_uri=endpoints.mongo_uri,
        mongo_database=database,
        topic_prefix=prefix,
        outbox_interval_seconds=0.2,
        consumer_retry_initial_seconds=0.2,
        consumer_retry_max_seconds=2,
        shutdown_grace_seconds=5,
    )


def _complaint() -> ev.ComplaintReceived:
    return samples.example(
        ev.ComplaintReceived,
        event_id=uuid4(),
        complaint_id=uuid4(),
        office_code=OFFICE,
        received_at=datetime.now(UTC),
        occurred_at=datetime.now(UTC),
    )


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sipuma.ops.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def dlq(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    result = await asyncio.to_thread(_cli, env, *args)
    assert result.returncode == 0, result.stderr
    for secret in PERSONAL:
        assert secret not in result.stdout and secret not in result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


async def test_a_dead_lettered_complaint_is_replayed_after_the_fix_and_registered(
    endpoints: Endpoints,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = unique_name("dlq") + "."
    database = unique_name("dlq").replace("-", "_")
    settings = _settings(endpoints, prefix, database)
    complaint = _complaint()
    audit_file = tmp_path / "audit.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPUMA_")} | {
        "SIPUMA_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "SIPUMA_TOPIC_PREFIX": prefix,
        "SIPUMA_AUDIT_FILE": str(audit_file),
        "SIPUMA_LOG_FORMAT": "json",
    }
    dead_topic = prefix + "sipuma.dead-letter.registry.v1"
    inputs = [prefix + spec.name for spec in handlers.CONSUMED]
    producer = AIOKafkaProducer(
        bootstrap_servers=endpoints.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    try:
        # 1. A registry that refuses ComplaintReceived: the complaint is dead-lettered.
        with monkeypatch.context() as patch:
            refusing = tuple(c for c in handlers.ACCEPTED if c is not ev.ComplaintReceived)
            patch.setattr(handlers, "ACCEPTED", refusing)
            old = build(settings)
        async with old.app.router.lifespan_context(old.app):
            await producer.start()
            await producer.send_and_wait(
                prefix + COMPLAINT_RECEIVED.name,
                encode(complaint),
                key=str(complaint.complaint_id).encode(),
                headers=[(k, v.encode()) for k, v in to_headers(complaint).items()],
            )
            await eventually(
                "the complaint in the dead-letter topic",
                lambda: read_to_end(endpoints.kafka_bootstrap, dead_topic),
            )
            await consumed(endpoints.kafka_bootstrap, settings.group_id, inputs)
        await old.store.close()

        # 2. The operator looks: reason and origin, then the message with personal data masked.
        (groups,) = [g for g in await dlq(env, "groups") if g["group"] == "registry"]
        assert groups["messages"] == 1
        (listed,) = await dlq(env, "list", "registry")
        assert listed["ce_id"] == str(complaint.event_id)
        assert listed["from"].startswith(prefix + COMPLAINT_RECEIVED.name + "[")
        assert listed["group"] == settings.group_id
        assert listed["reason"]
        (shown,) = await dlq(env, "show", "registry", listed["position"], "--actor", "op-1")
        assert shown["headers"]["ce_type"] == ev.ComplaintReceived.TYPE
        assert shown["body"]["complainant"] == "[redacted]"
        assert shown["body"]["office_code"] == OFFICE

        # 3. The fix (a registry that accepts it) is running; replay; the complaint is registered.
        fixed = build(settings)
        async with fixed.app.router.lifespan_context(fixed.app):
            (replayed,) = await dlq(
                env, "replay", "registry", listed["position"], "--actor", "op-1", "--yes"
            )
            assert replayed["to"] == prefix + COMPLAINT_RECEIVED.name

            async def registered() -> list[Any]:
                records = await read_to_end(
                    endpoints.kafka_bootstrap, prefix + COMPLAINT_REGISTERED.name
                )
                return [r for r in records if r.key == str(complaint.complaint_id).encode()]

            (record,) = await eventually("the replayed complaint registered", registered)
            number = json.loads(record.value)["register_number"]
            assert number.startswith(f"PGD/{OFFICE}/")
            # A second replay of the same dead letter changes nothing (dedupe by event id).
            await dlq(env, "replay", "registry", "--all", "--actor", "op-1", "--yes")
            await consumed(endpoints.kafka_bootstrap, settings.group_id, inputs)
            assert len(await registered()) == 1
        await fixed.store.close()

        # 4. Purge: the topic holds nothing more.
        (purged,) = await dlq(env, "purge", "registry", "--all", "--actor", "op-1", "--yes")
        assert purged["deleted"] == 1
        (groups,) = [g for g in await dlq(env, "groups") if g["group"] == "registry"]
        assert groups["messages"] == 0
        assert await dlq(env, "list", "registry") == []

        # 5. The audit trail: who did what to which message, nothing of its content.
        lines = [json.loads(line) for line in audit_file.read_text().splitlines()]
        assert [line["action"] for line in lines] == ["show", "replay", "replay", "purge"]
        assert {line["actor"] for line in lines} == {"op-1"}
        assert lines[1]["event_ids"] == [str(complaint.event_id)]
        for secret in PERSONAL:
            assert secret not in audit_file.read_text()
    finally:
        await producer.stop()
        store = Store.connect(endpoints.mongo_uri, database)
        try:
            await store.client.drop_database(database)
        finally:
            await store.close()


def test_replay_and_purge_refuse_to_run_unconfirmed(endpoints: Endpoints) -> None:
    """Without --yes and without a terminal, nothing changes (exit 1); --actor is required."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPUMA_")} | {
        "SIPUMA_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
    }
    assert _cli(env, "replay", "registry", "--all").returncode == 2  # no --actor
    result = subprocess.run(
        [sys.executable, "-m", "sipuma.ops.cli", "purge", "registry", "--all", "--actor", "x"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1 and "without --yes" in result.stderr
