"""After `make test` ran beside `make up`'s stack: the stack still answers, and the shared servers
hold nothing but the stack's own databases, topics and buckets (every test removes its own)."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from minio import Minio
from pymongo import MongoClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sipuma.shared import topics
from tests.harness.endpoints import LOCAL

PORTS = {"intake": 8001, "registry": 8002, "evidence": 8003, "notifier": 8004}
STACK_DATABASES = {"sipuma_registry", "sipuma_evidence", "sipuma_notifier"}
SYSTEM_DATABASES = {"admin", "config", "local"}
STACK_GROUPS = ("registry", "sipuma-evidence", "notifier")
STACK_TOPICS = {spec.name for spec in topics.ALL_TOPICS} | {
    topics.dead_letter_topic(group) for group in STACK_GROUPS
}
STACK_BUCKETS = {"sipuma-evidence"}


def problems() -> list[str]:
    found = []
    for name, port in PORTS.items():
        answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        if answer.status_code != 200:
            found.append(f"{name} not ready after the tests: {answer.status_code}")

    client: MongoClient[dict[str, Any]] = MongoClient(
        LOCAL.mongo_uri, serverSelectionTimeoutMS=10_000
    )
    with client:
        extra = set(client.list_database_names()) - STACK_DATABASES - SYSTEM_DATABASES
    found += [f"database left by a test: {name}" for name in sorted(extra)]

    async def topic_names() -> set[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=LOCAL.kafka_bootstrap)
        await admin.start()
        try:
            return set(await admin.list_topics())
        finally:
            await admin.close()

    internal = re.compile(r"^__")
    extra = {t for t in asyncio.run(topic_names()) if not internal.match(t)} - STACK_TOPICS
    found += [f"topic left by a test: {name}" for name in sorted(extra)]

    s3 = Minio(
        LOCAL.s3_endpoint,
        access_key=LOCAL.s3_access_key,
        secret_key=LOCAL.s3_secret_key,
        secure=False,
    )
    extra = {b.name for b in s3.list_buckets()} - STACK_BUCKETS
    found += [f"bucket left by a test: {name}" for name in sorted(extra)]
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(f"[ci] {line}", file=sys.stderr)
    if found:
        return 1
    print("[ci] the running stack is ready and holds nothing a test left behind")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
