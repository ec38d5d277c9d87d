"""What one complaint costs the registry's write path, counted in process (issue 15 part 5):
store commands, publishes, libmongocrypt encryptions and CPU milliseconds per complaint. Counts
do not depend on the machine's load, so they compare versions on a shared machine where events/s
do not. The registry is built as `sipuma-registry` builds it (`main.build`) on a private
database of the local store, publishing to a counter instead of Kafka (the produce path is (b)'s);
`--events` ComplaintReceived (each from its own invented complainant, as in (b)) are handled
`--lanes` at a time, as the consumer handles a poll. With `--consumer` they go as Kafka records
through the shared batch consumer (FastStream's parser, `EventBatchConsumer`, the registry's
handler), polls of `--lanes`, so the count includes its per-record plumbing
(`bench/consumer_counts.py` counts that alone).

    uv run python -m bench.registry_counts --events 800
    uv run python -m bench.registry_counts --events 800 --consumer
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from typing import Any

from pymongo import monitoring

from bench.common import received_events
from bench.consumer_counts import Source, records_of, through_consumer
from bench.counts import StoreCommands, counted_encryptions
from sipuma.registry.handlers import handler_for
from sipuma.registry.main import build
from sipuma.registry.settings import RegistrySettings
from sipuma.shared import events as ev
from sipuma.shared import heap
from tests.harness.endpoints import resolve


async def measure(
    events: int, lanes: int, settle: bool = True, consumer: bool = False
) -> dict[str, Any]:
    database = f"bench_counts_{uuid.uuid4().hex[:8]}"
    commands = StoreCommands(database)
    monitoring.register(commands)  # clients made from here on report their commands
    published: Counter[str] = Counter()

    async def publish(event: ev.Event, topic: str, payload: str | None = None) -> None:
        published[event.event_type] += 1

    with ExitStack() as stack:
        ep = resolve(stack)
        settings = RegistrySettings(
            mongo_uri=ep.mongo_uri,
            mongo_database=database,
            token_secret="bench-token-secret-0123456789-abcdef",
            ticket_hash_key="bench-ticket-key",
        )
        runtime = build(settings, publish=publish)
        if settle:
            heap.settle()  # as `sipuma-registry` does once built (cli.run)
        try:
            await runtime.store.ensure_indexes()
            # Warm: the office's first number reads its top, the key vault its index.
            await runtime.registry.receive(received_events(1)[0])  # type: ignore[arg-type]
            commands.seen.clear()
            published.clear()
            batch = received_events(events)
            made = records_of(batch) if consumer else []
            polls = [made[i : i + lanes] for i in range(0, len(made), lanes)]
            with counted_encryptions() as encryptions:
                cpu, wall = time.process_time(), time.perf_counter()
                if consumer:
                    handler = handler_for(runtime.registry)
                    await through_consumer(polls, handler, Source(events), lanes)
                else:
                    for start in range(0, events, lanes):
                        await asyncio.gather(
                            *(runtime.registry.receive(e) for e in batch[start : start + lanes])  # type: ignore[arg-type]
                        )
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            await runtime.store.client.drop_database(database)
            await runtime.store.close()
    per = {name: round(n / events, 3) for name, n in sorted(commands.seen.items())}
    return {
        "events": events,
        "lanes": lanes,
        "through_consumer": consumer,
        "heap_settled": settle,
        "store_commands_per_complaint": round(sum(commands.seen.values()) / events, 3),
        "store_commands_by_name": per,
        "publishes_per_complaint": round(sum(published.values()) / events, 3),
        "encryptions_per_complaint": round(encryptions.count / events, 3),
        "cpu_ms_per_complaint": round(cpu * 1000 / events, 3),
        "wall_s": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=800)
    parser.add_argument("--lanes", type=int, default=200, help="handled at once (a poll)")
    parser.add_argument(
        "--no-settle", action="store_true", help="without heap.settle() (A/B of the collector)"
    )
    parser.add_argument(
        "--consumer", action="store_true", help="as Kafka records through the shared consumer"
    )
    args = parser.parse_args()
    result = asyncio.run(measure(args.events, args.lanes, not args.no_settle, args.consumer))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
