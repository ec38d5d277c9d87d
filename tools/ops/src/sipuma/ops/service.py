"""The dead-letter use cases: list, show, replay, purge (one consumer group's dead-letter topic).

A dead letter keeps the original value, key and headers plus `x-sipuma-dead-letter-*` headers
(reason, detail, original topic/partition/offset, group, when). Replay publishes value, key and
the original headers (without the dead-letter ones) back to the original topic; the consumers
dedupe by event id, so replaying twice, or replaying something already handled, changes nothing.
Kafka cannot delete one record: purge deletes everything below an offset, per partition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sipuma.ops import masking
from sipuma.ops.audit import AuditTrail
from sipuma.ops.ports import DeadLetterLog, Extent, Message
from sipuma.shared.consumer import DEAD_LETTER_HEADER
from sipuma.shared.topics import dead_letter_topic

DLQ_PREFIX = "sipuma.dead-letter."


class NotFound(LookupError):
    pass


@dataclass(frozen=True)
class Position:
    partition: int
    offset: int

    @classmethod
    def parse(cls, text: str) -> Position:
        """`partition:offset`, e.g. `0:17`."""
        partition, sep, offset = text.partition(":")
        if not sep or not partition.isdigit() or not offset.isdigit():
            raise ValueError(f"{text!r}: expected partition:offset, e.g. 0:17")
        return cls(int(partition), int(offset))

    def __str__(self) -> str:
        return f"{self.partition}:{self.offset}"


def summary(message: Message) -> dict[str, Any]:
    """What `list` shows of a dead letter: where it is, why, where from (no content)."""
    get = message.header
    return {
        "position": f"{message.partition}:{message.offset}",
        "reason": get(DEAD_LETTER_HEADER + "reason"),
        "detail": get(DEAD_LETTER_HEADER + "detail"),
        "from": f"{get(DEAD_LETTER_HEADER + 'topic')}"
        f"[{get(DEAD_LETTER_HEADER + 'partition')}]@{get(DEAD_LETTER_HEADER + 'offset')}",
        "group": get(DEAD_LETTER_HEADER + "group"),
        "at": get(DEAD_LETTER_HEADER + "at"),
        "ce_type": get("ce_type"),
        "ce_id": get("ce_id"),
    }


class DeadLetters:
    def __init__(self, kafka: DeadLetterLog, audit: AuditTrail, topic_prefix: str = "") -> None:
        self._kafka = kafka
        self._audit = audit
        self._prefix = topic_prefix

    def topic(self, group: str) -> str:
        """The dead-letter topic of a group as every service names it (the deployment's prefix,
        then `sipuma.dead-letter.<group>.v1`, the group without the prefix; the same as
        `ServiceSettings.dead_letter_topic`)."""
        return self._prefix + dead_letter_topic(group)

    async def groups(self) -> dict[str, int]:
        """Each group with a dead-letter topic, and how many messages it holds now."""
        found: dict[str, int] = {}
        for topic in await self._kafka.topics(self._prefix + DLQ_PREFIX):
            group = topic.removeprefix(self._prefix + DLQ_PREFIX).removesuffix(".v1")
            found[group] = sum(e.count for e in await self._kafka.extents(topic))
        return found

    async def listing(self, group: str, limit: int | None = None) -> list[dict[str, Any]]:
        messages = await self._all(group)
        return [summary(m) for m in messages[:limit]]

    async def show(self, group: str, position: Position) -> dict[str, Any]:
        message = await self._one(group, position)
        self._audit.record(
            "show", group=group, topic=message.topic, positions=[str(position)], **_ids([message])
        )
        return {
            **summary(message),
            "key": (message.key or b"").decode("utf-8", "replace"),
            "headers": masking.headers(message.headers),
            "body": masking.body(message.value),
        }

    async def replay(
        self, group: str, positions: Sequence[Position] | None = None
    ) -> list[dict[str, Any]]:
        """Publish the chosen dead letters (None: all it holds) to their original topics."""
        if positions is None:
            messages = await self._all(group)
        else:
            messages = [await self._one(group, p) for p in positions]
        replayed: list[dict[str, Any]] = []
        try:
            for message in messages:
                original = message.header(DEAD_LETTER_HEADER + "topic")
                if not original:
                    raise NotFound(f"{message.partition}:{message.offset} names no original topic")
                headers = [
                    (k, v) for k, v in message.headers if not k.startswith(DEAD_LETTER_HEADER)
                ]
                await self._kafka.publish(original, message.key, message.value, headers)
                replayed.append({**summary(message), "to": original})
        finally:
            self._audit.record(
                "replay",
                group=group,
                topic=self.topic(group),
                positions=[r["position"] for r in replayed],
                requested=len(messages),
                replayed=len(replayed),
                event_ids=[r["ce_id"] for r in replayed],
                to=sorted({r["to"] for r in replayed}),
            )
        return replayed

    async def purge(self, group: str, before: dict[int, int] | None = None) -> dict[int, int]:
        """Delete each partition's records below the offset (None: everything held now)."""
        topic = self.topic(group)
        extents = await self._kafka.extents(topic)
        if not extents:
            raise NotFound(f"{topic} does not exist")
        upto = {e.partition: e.end for e in extents} if before is None else dict(before)
        held = {e.partition: e for e in extents}
        for partition, offset in upto.items():
            if partition not in held or offset > held[partition].end:
                raise NotFound(f"{topic}: partition {partition} has no offset {offset}")
        deleted = {p: max(0, o - held[p].first) for p, o in upto.items()}
        await self._kafka.delete_before(topic, upto)
        self._audit.record(
            "purge",
            group=group,
            topic=topic,
            before={str(p): o for p, o in upto.items()},
            deleted=sum(deleted.values()),
        )
        return deleted

    async def _all(self, group: str) -> list[Message]:
        topic = self.topic(group)
        extents = await self._kafka.extents(topic)
        if not extents:
            raise NotFound(f"{topic} does not exist")
        return await self._kafka.read(topic, extents)

    async def _one(self, group: str, position: Position) -> Message:
        topic = self.topic(group)
        extent = next(
            (e for e in await self._kafka.extents(topic) if e.partition == position.partition),
            None,
        )
        if extent is None or not extent.first <= position.offset < extent.end:
            raise NotFound(f"{topic} holds no message at {position}")
        found = await self._kafka.read(
            topic, [Extent(position.partition, position.offset, position.offset + 1)]
        )
        if not found:
            raise NotFound(f"{topic} holds no message at {position}")
        return found[0]


def _ids(messages: Sequence[Message]) -> dict[str, list[str | None]]:
    return {"event_ids": [m.header("ce_id") for m in messages]}
