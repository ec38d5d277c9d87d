"""Where one complaint's POST → register number goes (issue 15, part 1): complaints one at a
time through a private stack, each step timed from the records' own Kafka timestamps.

    uv run python -m bench.pipeline_trace [--count 40] [--gap 0.2]

Steps (wall clock, one machine, so the producers' CreateTime and the client's clock agree):
  POST sent → ComplaintReceived's timestamp        intake: auth, validation, produce (acks=all)
  → ComplaintRegistered's timestamp                 registry: poll, dedupe, numbering, store
  → ComplaintDuplicatesHinted's timestamp           registry: the duplicate hint intake waits for
  → 201 answered                                    intake: status book read, answer
Not a test and no assertion; it prints the median and the 90th percentile of each step.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from bench.common import PARTITIONS, complainant, pct
from services.intake.tests.support import complaint
from sipuma.shared import topics
from sipuma.shared.topic_admin import ensure_topics
from tests.e2e.stack import start_stack
from tests.harness.endpoints import resolve

WATCHED = {
    "received": topics.COMPLAINT_RECEIVED,
    "registered": topics.COMPLAINT_REGISTERED,
    "hinted": topics.COMPLAINT_DUPLICATES_HINTED,
}


async def _stamps(bootstrap: str, names: dict[str, str], until: asyncio.Event) -> dict[str, Any]:
    """complaint id → {step: record timestamp (s)} for every watched topic, from their end."""
    by_topic = {topic: step for step, topic in names.items()}
    consumer = AIOKafkaConsumer(*names.values(), bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    seen: dict[str, dict[str, float]] = {}
    try:
        while not until.is_set():
            for tp, records in (await consumer.getmany(timeout_ms=100)).items():
                for r in records:
                    cid = (r.key or b"").decode()
                    seen.setdefault(cid, {}).setdefault(by_topic[tp.topic], r.timestamp / 1000)
    finally:
        await consumer.stop()
    return seen


async def trace(count: int, gap: float) -> None:
    with ExitStack() as stack:
        ep = resolve(stack)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sipuma-trace-")))
        unique = f"trace-{uuid.uuid4().hex[:8]}"
        prefix = f"sipuma.{unique}."
        await ensure_topics(
            ep.kafka_bootstrap, [prefix + t.name for t in topics.ALL_TOPICS], partitions=PARTITIONS
        )
        sstack = start_stack(ep, unique, folder)
        stack.callback(sstack.stop)
        names = {step: prefix + spec.name for step, spec in WATCHED.items()}
        done = asyncio.Event()
        watching = asyncio.create_task(_stamps(ep.kafka_bootstrap, names, done))
        await asyncio.sleep(2)  # the watcher's position, before the first POST (a tool, no test)
        headers = {"Authorization": f"Bearer {sstack.token()}"}
        posts: dict[str, tuple[float, float]] = {}
        async with httpx.AsyncClient(base_url=sstack.url("intake"), timeout=30) as client:
            for i in range(count + 5):
                sent = time.time()
                answer = await client.post(
                    "/v1/complaints", json=complaint(complainant=complainant(i)), headers=headers
                )
                if i >= 5 and answer.status_code == 201:  # the first five warm up
                    posts[answer.json()["complaint_id"]] = (sent, time.time())
                await asyncio.sleep(gap)
        await asyncio.sleep(1)
        done.set()
        seen = await watching
    steps: dict[str, list[float]] = {}
    for cid, (sent, answered) in posts.items():
        at = seen.get(cid, {})
        if len(at) < len(WATCHED):
            continue
        points = [("sent", sent)] + [(s, at[s]) for s in WATCHED] + [("answered", answered)]
        for (a, t0), (b, t1) in itertools.pairwise(points):
            steps.setdefault(f"{a} → {b}", []).append((t1 - t0) * 1000)
        steps.setdefault("sent → answered (total)", []).append((answered - sent) * 1000)
    print(f"{len(posts)} complaints, one at a time, {gap} s apart (ms)")
    for step, values in steps.items():
        print(f"  {step:34s} p50 {pct(values, 0.5):7.1f}  p90 {pct(values, 0.9):7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline_trace")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--gap", type=float, default=0.2, help="s between complaints")
    args = parser.parse_args()
    asyncio.run(trace(args.count, args.gap))


if __name__ == "__main__":
    main()
