"""What a test names with its scratch token is removed from the real servers when it ends, and
nothing else is (the running stack's own names carry no token)."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from minio import Minio
from pymongo import AsyncMongoClient

from tests.harness.cleanup import new_token, sweep
from tests.harness.endpoints import Endpoints

pytestmark = pytest.mark.integration


async def _topics(endpoints: Endpoints) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def test_sweep_removes_databases_topics_and_buckets_with_the_token(
    endpoints: Endpoints,
) -> None:
    token, bystander = new_token(), new_token()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_uri)
    s3 = Minio(
        endpoints.s3_endpoint,
        access_key=endpoints.s3_access_key,
        secret_key=endpoints.s3_secret_key,
        secure=False,
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_bootstrap)
    await admin.start()
    try:
        for name in (token, bystander):
            await mongo[f"scratch_{name}_registry"]["things"].insert_one({"_id": 1})
            s3.make_bucket(f"scratch-{name}", object_lock=True)
            s3.put_object(f"scratch-{name}", "evidence/1", io.BytesIO(b"x"), 1)
        await admin.create_topics(
            [
                NewTopic(f"sipuma.scratch-{n}.complaint.received.v1", 1, 1)
                for n in (token, bystander)
            ]
        )
    finally:
        await admin.close()

    try:
        assert await asyncio.to_thread(sweep, endpoints, {token}) == []

        databases = set(await mongo.list_database_names())
        assert f"scratch_{token}_registry" not in databases
        assert f"scratch_{bystander}_registry" in databases
        buckets = {b.name for b in s3.list_buckets()}
        assert f"scratch-{token}" not in buckets and f"scratch-{bystander}" in buckets
        # Topic deletion is asynchronous in Kafka: read the listing until it is gone.
        for _ in range(100):
            names = await _topics(endpoints)
            if f"sipuma.scratch-{token}.complaint.received.v1" not in names:
                break
            await asyncio.sleep(0.1)
        assert f"sipuma.scratch-{token}.complaint.received.v1" not in names
        assert f"sipuma.scratch-{bystander}.complaint.received.v1" in names
    finally:
        await asyncio.to_thread(sweep, endpoints, {bystander})
        await mongo.close()
