"""What one e-mail costs the notifier, counted in process (issue 15 part 3): store commands (by
name), publishes, libmongocrypt encryptions and CPU milliseconds per e-mail. Counts do not depend
on the machine's load, so they compare versions on a shared machine where e-mails/s do not. The
notifier is built as `sipuma-notifier` builds it (`main.build`) on a private database of the
local store, sending to the local SMTP sink and publishing to a counter instead of Kafka;
`--emails` TicketIssued (e-mail only, as in (e)) are recorded `--lanes` at a time, as the
consumer handles a poll, and handed to the dispatcher's workers.

    uv run python -m bench.notifier_counts --emails 400
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

from bench.common import ticket_events
from bench.counts import StoreCommands, counted_encryptions
from sipuma.notifier.main import build
from sipuma.notifier.settings import NotifierSettings
from sipuma.shared import events as ev
from sipuma.shared.logging import configure_logging
from tests.harness.endpoints import resolve


async def measure(emails: int, lanes: int, connections: int | None = None) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    database = f"bench_ncounts_{run}"
    commands = StoreCommands(database, transactions=True)
    monitoring.register(commands)  # clients made from here on report their commands
    published: Counter[str] = Counter()
    all_sent = asyncio.Event()

    async def publish(event: ev.Event) -> None:
        published[event.event_type] += 1
        if sum(published.values()) >= emails:
            all_sent.set()

    configure_logging("notifier-counts", "WARNING", "console")  # a line per e-mail otherwise
    with ExitStack() as stack:
        ep = resolve(stack)
        settings = NotifierSettings(
            mongo_uri=ep.mongo_uri,
            mongo_database=database,
            smtp_host=ep.smtp_host,
            smtp_port=ep.smtp_port,
            email_rate_per_second=100000,  # as (e): the rate limit would set the pace
        )
        if connections:
            settings = settings.model_copy(update={"smtp_connections": connections})
        runtime = build(settings)
        runtime.notifier.publish = publish
        notifier, dispatcher = runtime.notifier, runtime.dispatcher
        try:
            await runtime.deliveries.ensure_indexes()
            dispatcher.start()
            # Warm: the first connection to the sink, the key vault's index.
            for first in await notifier.receive(ticket_events(1, f"counts-{run}")[0]):
                await notifier.attempt(first)
            commands.seen.clear()
            published.clear()
            batch = ticket_events(emails, f"counts-{run}")
            with counted_encryptions() as encryptions:
                cpu, wall = time.process_time(), time.perf_counter()
                for start in range(0, emails, lanes):
                    recorded = await asyncio.gather(
                        *(notifier.receive(t) for t in batch[start : start + lanes])
                    )
                    for new in recorded:
                        dispatcher.hand_over(new)
                await all_sent.wait()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            seen = Counter(commands.seen)  # not the clean-up's
        finally:
            await dispatcher.stop(5)
            await runtime.email.aclose()
            await runtime.mongo.drop_database(database)
            await runtime.deliveries.close()
            await runtime.mongo.close()
            await runtime.http.aclose()
    per = {name: round(n / emails, 3) for name, n in sorted(seen.items())}
    return {
        "emails": emails,
        "lanes": lanes,
        "smtp_connections": settings.smtp_connections,
        "store_commands_per_email": round(sum(seen.values()) / emails, 3),
        "store_commands_by_name": per,
        "publishes_per_email": round(sum(published.values()) / emails, 3),
        "encryptions_per_email": round(encryptions.count / emails, 3),
        "cpu_ms_per_email": round(cpu * 1000 / emails, 3),
        "wall_s": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=400)
    parser.add_argument("--lanes", type=int, default=200, help="recorded at once (a poll)")
    parser.add_argument("--smtp-connections", type=int, help="the pool's size (default: settings)")
    args = parser.parse_args()
    found = asyncio.run(measure(args.emails, args.lanes, args.smtp_connections))
    print(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
