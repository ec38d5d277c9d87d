"""What one complaint costs intake, counted in process (issue 15, (p)): CPU milliseconds per
`POST /v1/complaints` answered with its register number, and Kafka requests per complaint by
kind (produce, fetch, ...) from intake's own clients. Counts and CPU time of one thread do not
move much with the machine's load, so they compare versions on a shared machine where
complaints/s do not.

Intake is built as `sipuma-intake` builds it (`main.build`, then `heap.settle()`) on a private
topic prefix of the local Kafka and served in process (httpx's ASGI transport, so the CPU time
includes the client's share, the same in every version; no uvicorn). The registry is the intake
tests' double (numbers, then the possible-duplicate hint, as the registry answers), run in a
thread of its own with its own event loop: `time.thread_time()` of the main thread is intake's
work (and the client's), not the double's. `--complaints` complaints, `--lanes` at a time.

    uv run python -m bench.intake_counts --complaints 400
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TextIO

import uvloop
from aiokafka.conn import AIOKafkaConnection

from bench.common import complainant
from services.intake.tests.support import (
    RegistryDouble,
    auth,
    complaint,
    running_intake,
    settings_for,
)
from sipuma.shared import heap
from sipuma.shared.logging import configure_logging
from tests.harness.endpoints import resolve

INTAKE_CLIENTS = ("sipuma-intake", "sipuma-intake-book")  # the producer, the status book


@contextmanager
def kafka_requests() -> Iterator[Counter[str]]:
    """Every request intake's Kafka clients send while the block runs, by request class
    (`ProduceRequest_v7`, `FetchRequest_v4`, ...); the double's clients are not counted."""
    seen: Counter[str] = Counter()
    original = AIOKafkaConnection.send

    def counted(self: AIOKafkaConnection, request: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "_client_id", None) in INTAKE_CLIENTS:
            seen[type(request).__name__] += 1
        return original(self, request, *args, **kwargs)

    setattr(AIOKafkaConnection, "send", counted)  # noqa: B010
    try:
        yield seen
    finally:
        setattr(AIOKafkaConnection, "send", original)  # noqa: B010


@contextmanager
def double_in_thread(double: RegistryDouble) -> Iterator[None]:
    """The registry double on an event loop of its own thread (its CPU is not intake's)."""
    started = threading.Event()
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def run() -> None:
        async def serve() -> None:
            stop = asyncio.Event()
            running.append((asyncio.get_running_loop(), stop))
            async with double.running():
                started.set()
                await stop.wait()

        asyncio.run(serve())

    thread = threading.Thread(target=run, name="registry-double", daemon=True)
    thread.start()
    started.wait(30)
    try:
        yield
    finally:
        for loop, stop in running:
            loop.call_soon_threadsafe(stop.set)
        thread.join(30)


async def measure(
    complaints: int,
    lanes: int,
    log_stream: TextIO,
    log_level: str = "INFO",
    count_calls: bool = False,
) -> dict[str, Any]:
    prefix = f"bench-intake-counts-{uuid.uuid4().hex[:8]}"
    with ExitStack() as stack:
        ep = resolve(stack)
        state = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        settings = settings_for(ep.kafka_bootstrap, state, prefix, register_wait_s=10.0)
        double = RegistryDouble(
            ep.kafka_bootstrap,
            settings.topic_complaint_received,
            settings.topic_complaint_registered,
        )
        headers = auth()
        # As `sipuma-intake` logs (JSON, redacted), into `log_stream` instead of a file.
        configure_logging(settings.service, log_level, "json", stream=log_stream)
        async with running_intake(settings) as client:
            heap.settle()  # as `sipuma-intake` does once built (main.run)
            stack.enter_context(double_in_thread(double))

            async def post(i: int) -> int:
                answer = await client.post(
                    "/v1/complaints",
                    json=complaint(complainant=complainant(i)),
                    headers=headers,
                )
                return answer.status_code

            # Warm: connections, topic metadata, the first number.
            warm = await asyncio.gather(*(post(i) for i in range(lanes)))
            statuses: Counter[int] = Counter()
            profile = cProfile.Profile() if count_calls else None
            with kafka_requests() as requests:
                cpu, wall = time.thread_time(), time.perf_counter()
                if profile is not None:
                    profile.enable()  # this thread only: not the double's
                for start in range(len(warm), len(warm) + complaints, lanes):
                    done = await asyncio.gather(*(post(i) for i in range(start, start + lanes)))
                    statuses.update(done)
                if profile is not None:
                    profile.disable()
                cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    sent = sum(statuses.values())
    calls = {}
    if profile is not None:
        # Python function calls per complaint: the interpreter's work as a count that the load
        # on the machine does not change (the CPU time under the profiler is not reported).
        total: int = getattr(pstats.Stats(profile), "total_calls")  # noqa: B009 (not typed)
        calls["python_calls_per_complaint"] = round(total / sent)
    return {
        **calls,
        "complaints": sent,
        "lanes": lanes,
        "log_level": log_level,
        "statuses": dict(statuses),  # 201: answered with the register number
        "cpu_ms_per_complaint": round(cpu * 1000 / sent, 3),
        "kafka_requests_per_complaint": round(sum(requests.values()) / sent, 3),
        "kafka_requests_by_kind": {k: round(n / sent, 3) for k, n in sorted(requests.items())},
        "wall_s": round(wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=400)
    parser.add_argument("--lanes", type=int, default=8, help="requests in flight at once")
    parser.add_argument(
        "--log-level",
        default="INFO",
        help="INFO: a service's default (an access log line per request); (p) runs at WARNING",
    )
    parser.add_argument(
        "--calls", action="store_true", help="also count Python function calls (cProfile)"
    )
    args = parser.parse_args()
    # Intake's own loop is libuv's, as `sipuma-intake` serves (shared.web.LOOP).
    with (
        open(os.devnull, "w") as sink,
        asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
    ):
        found = runner.run(measure(args.complaints, args.lanes, sink, args.log_level, args.calls))
    print(json.dumps(found, indent=2))


if __name__ == "__main__":
    main()
