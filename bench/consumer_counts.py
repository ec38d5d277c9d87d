"""What the shared consumer costs around each record, counted in process (issue 15, (b) and
(p)): CPU microseconds per record of `EventBatchConsumer` (the registry's and the notifier's
path, FastStream's batch parser included, on uvloop as the services run) over synthetic polls
of valid ComplaintReceived with a handler that does nothing, next to the same records only
decoded (`decode_message`, the part no consumer can skip). The difference is the plumbing per
record: message, log and correlation context, span, metrics, lag. No server is used; counts,
not rates, so versions compare on a shared machine.

    uv run python -m bench.consumer_counts --records 20000
    uv run python -m bench.consumer_counts --records 20000 --profile   # + calls, cProfile's top 25
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import time
from typing import Any

import uvloop
from aiokafka import ConsumerRecord, TopicPartition
from faststream.kafka.message import KafkaMessage
from faststream.kafka.parser import AioKafkaBatchParser

from bench.common import received_events
from sipuma.shared import events as ev
from sipuma.shared.cloudevents import decode_message, encode, to_headers
from sipuma.shared.consumer import EventConsumer
from sipuma.shared.kafka import EventBatchConsumer, tolerant_batch_parser

TOPIC = "bench.complaint.received.v1"
PARTITIONS = 3


def records(count: int) -> list[ConsumerRecord[bytes, bytes]]:
    return records_of(received_events(count))


def records_of(events: list[ev.Event]) -> list[ConsumerRecord[bytes, bytes]]:
    """As a poll returns them: key = complaint id, CloudEvents headers as bytes."""
    found = []
    for offset, event in enumerate(events):
        value = encode(event)
        headers = [(k, v.encode()) for k, v in to_headers(event).items()]
        key = str(event.complaint_id).encode()
        found.append(
            ConsumerRecord(
                topic=TOPIC,
                partition=offset % PARTITIONS,
                offset=offset,
                timestamp=0,
                timestamp_type=0,
                key=key,
                value=value,
                checksum=None,
                serialized_key_size=len(key),
                serialized_value_size=len(value),
                headers=headers,
            )
        )
    return found


class Source:
    """The aiokafka consumer as the subscriber sees it: only `highwater` is read."""

    def __init__(self, end: int) -> None:
        self.end = end
        self.calls = 0

    def highwater(self, partition: TopicPartition) -> int:
        self.calls += 1
        return self.end


class _NoDeadLetters:
    topic = "bench.dead-letter.v1"

    async def publish(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("a valid record was dead-lettered")


async def through_consumer(
    polls: list[list[ConsumerRecord[bytes, bytes]]],
    handler: Any,
    source: Source,
    lanes: int = 200,
) -> None:
    """Each poll as the batch subscriber hands it on: FastStream's batch parser, then
    `EventBatchConsumer` (group "bench-registry") with `handler`."""
    consumer = EventConsumer(
        handler=handler,
        group_id="bench-registry",
        accept=(ev.ComplaintReceived,),
        dead_letters=_NoDeadLetters(),  # type: ignore[arg-type]
    )
    batches = EventBatchConsumer(consumer, concurrency=lanes)
    parser = AioKafkaBatchParser(KafkaMessage, None)  # FastStream's, as the subscriber has it
    parser._setup(source)  # type: ignore[arg-type]
    for poll in polls:
        await batches.consume(await tolerant_batch_parser(tuple(poll), parser.parse_batch))


async def _consume(polls: list[list[ConsumerRecord[bytes, bytes]]], source: Source) -> int:
    handled = 0

    async def handler(event: ev.Event) -> None:
        nonlocal handled
        handled += 1

    await through_consumer(polls, handler, source)
    return handled


def _decode_only(polls: list[list[ConsumerRecord[bytes, bytes]]]) -> int:
    decoded = 0
    for poll in polls:
        for record in poll:
            headers = {key: value.decode() for key, value in record.headers}
            decode_message(headers, bytes(record.value or b""), (ev.ComplaintReceived,))
            decoded += 1
    return decoded


def measure(count: int, poll_size: int, profile: bool) -> dict[str, Any]:
    made = records(count)
    polls = [made[i : i + poll_size] for i in range(0, count, poll_size)]
    source = Source(count)
    uvloop.run(_consume(polls[:2], source))  # warm: imports, metric children, pydantic
    _decode_only(polls[:2])
    source.calls = 0

    cpu = time.process_time()
    _decode_only(polls)
    decode_us = (time.process_time() - cpu) * 1e6 / count

    profiler = cProfile.Profile() if profile else None
    cpu = time.process_time()
    if profiler:
        profiler.enable()
    handled = uvloop.run(_consume(polls, source))
    if profiler:
        profiler.disable()
    consume_us = (time.process_time() - cpu) * 1e6 / count
    assert handled == count, (handled, count)
    result: dict[str, Any] = {
        "records": count,
        "poll": poll_size,
        "decode_only_cpu_us_per_record": round(decode_us, 1),
        "consumer_cpu_us_per_record": round(consume_us, 1),
        "plumbing_cpu_us_per_record": round(consume_us - decode_us, 1),
        "highwater_calls_per_record": round(source.calls / count, 3),
    }
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        # Function calls do not move with the machine's load (the CPU time above, profiled,
        # is inflated by cProfile itself).
        result["python_calls_per_record"] = round(stats.total_calls / count, 1)  # type: ignore[attr-defined]
        stats.sort_stats("tottime").print_stats(25)
        result["profile"] = out.getvalue()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--poll", type=int, default=200, help="records per poll (max_records)")
    parser.add_argument("--profile", action="store_true", help="cProfile the consumer run")
    args = parser.parse_args()
    result = measure(args.records, args.poll, args.profile)
    report = result.pop("profile", None)
    print(json.dumps(result, indent=2))
    if report:
        print(report)


if __name__ == "__main__":
    main()
