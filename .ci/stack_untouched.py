"""`make test` beside `make up`'s stack changes nothing in it.

    stack_untouched.py before FILE   # what the shared servers hold before the tests
    stack_untouched.py after FILE    # after: the stack still answers, and nothing was added

Every test removes its own databases, topics and buckets, so after the tests the servers hold
exactly what they held before (what an earlier run left is not this run's doing)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from minio import Minio
from pymongo import MongoClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.harness.endpoints import LOCAL

PORTS = {"intake": 8001, "registry": 8002, "evidence": 8003, "notifier": 8004}


def holdings() -> dict[str, list[str]]:
    client: MongoClient[dict[str, Any]] = MongoClient(
        LOCAL.mongo_uri, serverSelectionTimeoutMS=10_000
    )
    with client:
        databases = client.list_database_names()

    async def topic_names() -> list[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=LOCAL.kafka_bootstrap)
        await admin.start()
        try:
            return list(await admin.list_topics())
        finally:
            await admin.close()

    s3 = Minio(
        LOCAL.s3_endpoint,
        access_key=LOCAL.s3_access_key,
        secret_key=LOCAL.s3_secret_key,
        secure=False,
    )
    return {
        "database": sorted(databases),
        "topic": sorted(t for t in asyncio.run(topic_names()) if not t.startswith("__")),
        "bucket": sorted(b.name for b in s3.list_buckets()),
    }


def problems(before: dict[str, list[str]]) -> list[str]:
    found = []
    for name, port in PORTS.items():
        answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        if answer.status_code != 200:
            found.append(f"{name} not ready after the tests: {answer.status_code}")
    after = holdings()
    for kind, names in after.items():
        added = sorted(set(names) - set(before.get(kind, [])))
        found += [f"{kind} left by a test: {name}" for name in added]
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("before", "after"):
        print(__doc__, file=sys.stderr)
        return 2
    state = Path(argv[2])
    if argv[1] == "before":
        state.write_text(json.dumps(holdings()))
        return 0
    found = problems(json.loads(state.read_text()))
    for line in found:
        print(f"[ci] {line}", file=sys.stderr)
    if found:
        return 1
    print("[ci] the running stack is ready and holds nothing a test left behind")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
