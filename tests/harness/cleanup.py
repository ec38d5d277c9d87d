"""What a test created on the shared servers is removed when the test ends.

Every scratch name a test uses carries a random token (`scratch_name`, the `unique_name`
fixture). After the test, `sweep` drops each database, Kafka topic and S3 bucket whose name
contains one of the test's tokens, so nothing piles up in the stack `make up` runs and nothing
that belongs to it is touched (its names carry no token).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterable
from typing import Any

from tests.harness.endpoints import Endpoints


def new_token() -> str:
    return uuid.uuid4().hex[:12]


def scratch_name(prefix: str, tokens: set[str] | None = None) -> str:
    """`prefix-<token>`; the token is remembered in `tokens` for the sweep."""
    token = new_token()
    if tokens is not None:
        tokens.add(token)
    return f"{prefix}-{token}".lower()


def _ours(name: str, tokens: Iterable[str]) -> bool:
    return any(token in name for token in tokens)


def drop_databases(endpoints: Endpoints, tokens: set[str]) -> None:
    from pymongo import MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(
        endpoints.mongo_uri, serverSelectionTimeoutMS=5000
    )
    with client:
        for name in client.list_database_names():
            if _ours(name, tokens):
                client.drop_database(name)


def delete_topics(endpoints: Endpoints, tokens: set[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=endpoints.kafka_bootstrap)
        await admin.start()
        try:
            doomed = [t for t in await admin.list_topics() if _ours(t, tokens)]
            if doomed:
                await admin.delete_topics(doomed)
        finally:
            await admin.close()

    # A thread of its own: the tests' event loop stays untouched whatever runs it.
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=target)
    worker.start()
    worker.join(60)
    if errors:
        raise errors[0]


def delete_buckets(endpoints: Endpoints, tokens: set[str]) -> None:
    from minio import Minio
    from minio.deleteobjects import DeleteObject

    client = Minio(
        endpoints.s3_endpoint,
        access_key=endpoints.s3_access_key,
        secret_key=endpoints.s3_secret_key,
        secure=False,
    )
    for bucket in client.list_buckets():
        if not _ours(bucket.name, tokens):
            continue
        versions = [
            DeleteObject(obj.object_name or "", obj.version_id)
            for obj in client.list_objects(bucket.name, recursive=True, include_version=True)
        ]
        if versions:
            # Evidence buckets lock objects in GOVERNANCE mode: a scratch bucket may bypass it.
            for error in client.remove_objects(bucket.name, versions, bypass_governance_mode=True):
                raise RuntimeError(f"could not remove {error.name} from {bucket.name}")
        client.remove_bucket(bucket.name)


def sweep(endpoints: Endpoints, tokens: set[str]) -> list[str]:
    """Remove what carries a token; answer the failures (a sweep never hides a test's result)."""
    if not tokens:
        return []
    failures = []
    for step in (drop_databases, delete_topics, delete_buckets):
        try:
            step(endpoints, tokens)
        except Exception as exc:
            failures.append(f"{step.__name__}: {exc!r}")
    return failures
