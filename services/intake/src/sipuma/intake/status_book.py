"""The status book: how every intake replica learns register numbers and which complaints exist.

Every replica reads the whole registered topic (and the received topic, for office and existence)
**without a consumer group**: all partitions, its own position, nothing committed. That way the
replica that published a complaint sees its `ComplaintRegistered` whichever partition it lands on,
and any replica can answer `GET /v1/complaints/{id}/status`:

- at start each replica looks back a bounded window (`status_lookback`, by record timestamp) so
  recent complaints are known after a restart or on a new replica, then follows the live end;
- a waiting request registers a future keyed by complaint id *before* it publishes, so an answer
  that arrives quickly is never missed;
- the book keeps only ids, office codes and register numbers (no personal data), bounded in size
  (least recently touched entries go first);
- complaints still in this replica's spool after a restart are noted from the spool (`recall`);
- the received topic is read in batches (up to `RECEIVED_FETCH_WAIT_MS` late): no answer waits
  for it, only another replica's status of a complaint not yet registered does.

A group-per-replica would give the same fan-out but leaves a consumer group behind for every pod
that ever ran; no group at all needs no clean-up and no rebalancing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from sipuma.intake.domain import ComplaintStatus, Entry, Hint
from sipuma.intake.spool import OutgoingRecord
from sipuma.shared import events as ev
from sipuma.shared.cloudevents import decode_message
from sipuma.shared.tasks import bounded, cancel_and_wait

log = structlog.get_logger("sipuma.intake.status_book")


async def partition_counts(bootstrap: str, topics: list[str]) -> dict[str, int]:
    """Partition count of each topic that exists (missing topics are left out)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="sipuma-intake-admin")
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return {d["topic"]: len(d["partitions"]) for d in described if not d["error_code"]}


@dataclass(frozen=True)
class Seen:
    """What the feeder extracted from one event."""

    complaint_id: str
    office_code: str
    register_number: str | None = None
    registered_at: str | None = None


def _headers(raw: Any) -> Mapping[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in (raw or ())}


def decode_received(headers: Any, value: bytes) -> Seen | None:
    """Only id and office are needed, and every replica reads every complaint: a cheap look at
    the CloudEvents type and two fields, not a full validation (the registry validates)."""
    meta = _headers(headers)
    if meta.get("ce_type") != ev.ComplaintReceived.TYPE:
        return None
    data = json.loads(value)
    complaint_id, office_code = data.get("complaint_id"), data.get("office_code")
    if not isinstance(complaint_id, str) or not isinstance(office_code, str):
        return None
    return Seen(str(uuid.UUID(complaint_id)), office_code)


def decode_registered(headers: Any, value: bytes) -> Seen | None:
    _, event = decode_message(_headers(headers), value, accept=[ev.ComplaintRegistered])
    assert isinstance(event, ev.ComplaintRegistered)
    return Seen(
        str(event.complaint_id),
        event.office_code,
        event.register_number,
        event.registered_at.isoformat().replace("+00:00", "Z"),
    )


def decode_hinted(headers: Any, value: bytes) -> tuple[str, list[Hint]]:
    _, event = decode_message(_headers(headers), value, accept=[ev.ComplaintDuplicatesHinted])
    assert isinstance(event, ev.ComplaintDuplicatesHinted)
    return str(event.complaint_id), [
        Hint(d.office_code, d.received_at.isoformat().replace("+00:00", "Z"), d.register_number)
        for d in event.duplicates
    ]


class ComplaintBook:
    def __init__(self, max_entries: int = 200_000) -> None:
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        # Register number (upper case) → complaint id: staff address complaints by number.
        self._numbers: dict[str, str] = {}
        self._waiters: dict[str, list[asyncio.Future[Entry]]] = {}
        # Possible-duplicate hints: only for complaints an answer waits for (never bulk-kept).
        self._hint_waiters: dict[str, asyncio.Future[list[Hint]]] = {}
        self._max = max_entries
        # Set while the feeder follows Kafka: only then does a missing entry mean "unknown".
        self.live = asyncio.Event()

    def is_live(self) -> bool:
        return self.live.is_set()

    def get(self, complaint_id: str) -> Entry | None:
        return self._entries.get(complaint_id)

    def by_number(self, register_number: str) -> Entry | None:
        complaint_id = self._numbers.get(register_number.strip().upper())
        return None if complaint_id is None else self._entries.get(complaint_id)

    def _put(self, entry: Entry) -> None:
        self._entries[entry.complaint_id] = entry
        self._entries.move_to_end(entry.complaint_id)
        if entry.register_number:
            self._numbers[entry.register_number.upper()] = entry.complaint_id
        while len(self._entries) > self._max:
            _, dropped = self._entries.popitem(last=False)
            if dropped.register_number:
                self._numbers.pop(dropped.register_number.upper(), None)

    def note(self, complaint_id: str, office_code: str, status: ComplaintStatus) -> None:
        """This replica accepted the complaint (published or spooled)."""
        known = self._entries.get(complaint_id)
        if known is not None and known.status is ComplaintStatus.REGISTERED:
            return
        if known is not None and known.status is ComplaintStatus.RECEIVED:
            status = ComplaintStatus.RECEIVED
        self._put(Entry(complaint_id, office_code, status))

    def recall(self, spooled: Iterable[OutgoingRecord]) -> None:
        """Complaints still in the spool after a restart are known here (status, office check)."""
        for record in spooled:
            with contextlib.suppress(Exception):  # amendments are not ComplaintReceived: skipped
                seen = decode_received(record.headers, record.value)
                if seen is not None:
                    self.note(seen.complaint_id, seen.office_code, ComplaintStatus.QUEUED)

    def received(self, seen: Seen) -> None:
        known = self._entries.get(seen.complaint_id)
        if known is None or known.status is ComplaintStatus.QUEUED:
            self._put(Entry(seen.complaint_id, seen.office_code, ComplaintStatus.RECEIVED))

    def registered(self, seen: Seen) -> None:
        entry = Entry(
            seen.complaint_id,
            seen.office_code,
            ComplaintStatus.REGISTERED,
            seen.register_number,
            seen.registered_at,
        )
        known = self._entries.get(seen.complaint_id)
        if known is not None and known.status is ComplaintStatus.REGISTERED:
            entry = replace(known)  # the first number stands; a redelivery changes nothing
        self._put(entry)
        for future in self._waiters.pop(seen.complaint_id, []):
            if not future.done():
                future.set_result(entry)

    def hinted(self, complaint_id: str, hints: list[Hint]) -> None:
        future = self._hint_waiters.pop(complaint_id, None)
        if future is not None and not future.done():
            future.set_result(hints)

    def expect_hints(self, complaint_id: str) -> asyncio.Future[list[Hint]]:
        future: asyncio.Future[list[Hint]] = asyncio.get_running_loop().create_future()
        self._hint_waiters[complaint_id] = future
        return future

    async def wait_hints(
        self, complaint_id: str, future: asyncio.Future[list[Hint]], timeout_s: float
    ) -> list[Hint] | None:
        """The hints, or None when they did not come in time (a hint never holds the answer
        beyond its budget)."""
        if timeout_s <= 0 and not future.done():
            return None
        try:
            async with asyncio.timeout(timeout_s):
                return await asyncio.shield(future)
        except TimeoutError:
            return None
        finally:
            if self._hint_waiters.get(complaint_id) is future:
                del self._hint_waiters[complaint_id]

    def expect(self, complaint_id: str) -> asyncio.Future[Entry]:
        future: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        known = self._entries.get(complaint_id)
        if known is not None and known.status is ComplaintStatus.REGISTERED:
            future.set_result(known)
        else:
            self._waiters.setdefault(complaint_id, []).append(future)
        return future

    def forget(self, complaint_id: str, future: asyncio.Future[Entry]) -> None:
        waiting = self._waiters.get(complaint_id)
        if waiting and future in waiting:
            waiting.remove(future)
            if not waiting:
                del self._waiters[complaint_id]

    async def wait_registered(
        self, complaint_id: str, future: asyncio.Future[Entry], timeout_s: float
    ) -> Entry | None:
        try:
            async with asyncio.timeout(timeout_s):  # cheaper per answer than wait_for
                return await asyncio.shield(future)
        except TimeoutError:
            return None
        finally:
            self.forget(complaint_id, future)


# The received topic feeds only the book of *other* replicas (the replica that accepted a
# complaint notes it itself) and no answer waits for it, so its reader lets the broker hold each
# fetch until a batch gathered: a fetch round trip per complaint fewer on every replica, its
# socket write and read among intake's larger costs per complaint (issue 15,
# bench/profiles/p-pipeline-before-2-intake.txt). The register numbers and hints, which answers
# wait for, are read by their own consumer that takes each event as it arrives.
RECEIVED_FETCH_WAIT_MS = 250
RECEIVED_FETCH_MIN_BYTES = 1_048_576


class BookFeeder:
    """Reads the received and registered topics into the book; reconnects while Kafka is down.
    Two readers: one for what waiting answers need at once (registered, hinted), one for the
    received topic, batched (`RECEIVED_FETCH_WAIT_MS`). The book is live while both follow."""

    def __init__(
        self,
        book: ComplaintBook,
        bootstrap: str,
        *,
        received_topic: str,
        registered_topic: str,
        hinted_topic: str | None = None,
        lookback_s: float,
        prepare_topics: Callable[[], Awaitable[object]],
        client_id: str = "sipuma-intake-book",
        received_fetch_wait_ms: int = RECEIVED_FETCH_WAIT_MS,
    ) -> None:
        self._prepare_topics = prepare_topics
        self._book = book
        self._bootstrap = bootstrap
        self._topics: dict[str, Callable[[Any, bytes], Any]] = {
            received_topic: decode_received,
            registered_topic: decode_registered,
        }
        if hinted_topic is not None:
            self._topics[hinted_topic] = decode_hinted
        self._registered_topic = registered_topic
        self._hinted_topic = hinted_topic
        self._lookback_s = lookback_s
        self._client_id = client_id
        self._readers: list[_Reader] = [
            _Reader("live", [t for t in self._topics if t != received_topic], {}),
            _Reader(
                "received",
                [received_topic],
                {
                    "fetch_max_wait_ms": received_fetch_wait_ms,
                    "fetch_min_bytes": RECEIVED_FETCH_MIN_BYTES,
                },
            ),
        ]
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def ready(self) -> asyncio.Event:
        """Set once positioned on every partition: live events will be seen."""
        return self._book.live

    async def start(self, wait_s: float = 10.0) -> None:
        self._tasks = [
            asyncio.create_task(self._run(reader), name=f"complaint-book-{reader.name}")
            for reader in self._readers
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ready.wait(), timeout=wait_s)

    async def stop(self) -> None:
        for task in self._tasks:
            await cancel_and_wait(task)

    def _following(self, reader: _Reader, following: bool) -> None:
        reader.following = following
        if all(r.following for r in self._readers):
            self.ready.set()
        else:
            self.ready.clear()

    async def _run(self, reader: _Reader) -> None:
        failures = 0
        while True:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                client_id=self._client_id,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="latest",
                metadata_max_age_ms=30_000,
                **reader.options,
            )
            try:
                await consumer.start()
                await self._position(consumer, reader.topics)
                self._following(reader, True)
                failures = 0
                await self._follow(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._following(reader, False)
                failures += 1
                if failures == 1 or failures % 30 == 0:
                    log.warning(
                        "status_book_interrupted", reader=reader.name, error=type(exc).__name__
                    )
                await asyncio.sleep(min(1.0 * failures, 5.0))
            finally:
                await bounded(consumer.stop(), timeout_s=5)

    async def _partitions(self, names: list[str]) -> list[TopicPartition]:
        counts = await partition_counts(self._bootstrap, names)
        for _ in range(50):
            if all(counts.get(t) for t in names):
                return [TopicPartition(t, p) for t in names for p in range(counts[t])]
            await self._prepare_topics()
            await asyncio.sleep(0.2)
            counts = await partition_counts(self._bootstrap, names)
        raise RuntimeError("topics of the status book do not exist")

    async def _position(self, consumer: AIOKafkaConsumer, names: list[str]) -> None:
        partitions = await self._partitions(names)
        consumer.assign(partitions)
        since_ms = int((time.time() - self._lookback_s) * 1000)
        starts = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            found = starts.get(tp)
            if tp.topic == self._hinted_topic:  # hints matter only to answers waiting now
                consumer.seek(tp, ends[tp])
            else:
                consumer.seek(tp, found.offset if found is not None else ends[tp])
        # Read the look-back window before declaring the book live.
        behind = set(partitions)
        while behind:
            await self._apply(await consumer.getmany(timeout_ms=200, max_records=5000))
            behind = {tp for tp in behind if await consumer.position(tp) < ends[tp]}

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            await self._apply(await consumer.getmany(timeout_ms=1000, max_records=5000))

    async def _apply(self, batches: dict[TopicPartition, list[object]]) -> None:
        for tp, records in batches.items():
            decode = self._topics[tp.topic]
            registered = tp.topic == self._registered_topic
            for record in records:
                value = getattr(record, "value", None)
                if not value:
                    continue
                try:
                    seen = decode(getattr(record, "headers", ()), value)
                except Exception:
                    seen = None
                if seen is None:
                    continue  # not ours to judge; the registry dead-letters poison events
                if tp.topic == self._hinted_topic:
                    self._book.hinted(*seen)
                elif registered:
                    self._book.registered(seen)
                else:
                    self._book.received(seen)


@dataclass
class _Reader:
    """One of the feeder's consumers: its topics, its fetch options, whether it follows now."""

    name: str
    topics: list[str]
    options: dict[str, int]
    following: bool = False
