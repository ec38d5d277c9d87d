"""The raw pipeline: the least a POST → register number path can do on the same servers, as the
denominator of the end-to-end ratio (issue 15, part 1).

    bare FastAPI POST → aiokafka produce (idempotent, acks=all) → received topic
      → one aiokafka consumer: insert_one into the store, produce to the registered topic,
        commit the offset
      → the API's own reader of the registered topic answers the waiting HTTP request

No validation, no idempotency keys, no outbox, no numbering, no logs, no metrics: what is left is
the network, Kafka and one store write, which SIPUMA cannot avoid either. Both halves run as their
own processes (`python -m bench.raw_pipeline api|worker`), configured by environment:
RAW_BOOTSTRAP, RAW_RECEIVED and RAW_REGISTERED (topics), RAW_GROUP, RAW_MONGO_URI, RAW_DATABASE,
RAW_WAIT_S, RAW_PORT.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any


def _env(name: str) -> str:
    return os.environ[f"RAW_{name}"]


def create_api() -> Any:
    """The bare HTTP half (uvicorn factory)."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from fastapi import FastAPI

    wait_s = float(_env("WAIT_S"))
    waiting: dict[str, asyncio.Future[str]] = {}
    parts: dict[str, Any] = {}

    async def answer_waiters(consumer: AIOKafkaConsumer) -> None:
        async for record in consumer:
            body = json.loads(record.value)
            future = waiting.pop(body["complaint_id"], None)
            if future is not None and not future.done():
                future.set_result(body["register_number"])

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        producer = AIOKafkaProducer(
            bootstrap_servers=_env("BOOTSTRAP"), acks="all", enable_idempotence=True, linger_ms=1
        )
        consumer = AIOKafkaConsumer(
            _env("REGISTERED"), bootstrap_servers=_env("BOOTSTRAP"), auto_offset_reset="latest"
        )
        await producer.start()
        await consumer.start()
        parts["producer"] = producer
        reader = asyncio.create_task(answer_waiters(consumer))
        try:
            yield
        finally:
            reader.cancel()
            await consumer.stop()
            await producer.stop()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/complaints", status_code=202)
    async def post(body: dict[str, Any]) -> dict[str, Any]:
        complaint_id = str(uuid.uuid4())
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        waiting[complaint_id] = future
        value = json.dumps({"complaint_id": complaint_id, "body": body}).encode()
        await parts["producer"].send_and_wait(_env("RECEIVED"), value, key=complaint_id.encode())
        try:
            number = await asyncio.wait_for(future, wait_s)
        except TimeoutError:
            waiting.pop(complaint_id, None)
            number = None
        return {"complaint_id": complaint_id, "register_number": number}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def run_worker() -> None:
    """The bare consuming half: one insert and one produce per message, commit after both."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(_env("MONGO_URI"))
    complaints = client[_env("DATABASE")]["complaints"]
    producer = AIOKafkaProducer(
        bootstrap_servers=_env("BOOTSTRAP"), acks="all", enable_idempotence=True, linger_ms=1
    )
    consumer = AIOKafkaConsumer(
        _env("RECEIVED"),
        bootstrap_servers=_env("BOOTSTRAP"),
        group_id=_env("GROUP"),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await producer.start()
    await consumer.start()
    seq = 0
    try:
        async for record in consumer:
            body = json.loads(record.value)
            seq += 1
            number = f"RAW/{seq:06d}"
            await complaints.insert_one({"_id": body["complaint_id"], "number": number, **body})
            registered = {"complaint_id": body["complaint_id"], "register_number": number}
            await producer.send_and_wait(
                _env("REGISTERED"), json.dumps(registered).encode(), key=record.key
            )
            await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
        await client.close()


if __name__ == "__main__":
    # The services' own event loop and HTTP parser (`sipuma.shared.web`), so the ratio compares
    # the same server and loop, not uvloop against asyncio's.
    from sipuma.shared.web import HTTP, LOOP

    if sys.argv[1:] == ["worker"]:
        import uvloop

        uvloop.run(run_worker())
    else:
        import uvicorn

        uvicorn.run(
            "bench.raw_pipeline:create_api",
            factory=True,
            port=int(_env("PORT")),
            log_level="warning",
            access_log=False,
            loop=LOOP,
            http=HTTP,
        )
