"""What the dead-letter use cases need of Kafka, in their own words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Message:
    """One record of a dead-letter topic, as stored."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return (value or b"").decode("utf-8", "replace")
        return None


@dataclass(frozen=True)
class Extent:
    """Offsets held by one partition: [first, end)."""

    partition: int
    first: int
    end: int

    @property
    def count(self) -> int:
        return max(0, self.end - self.first)


class DeadLetterLog(Protocol):
    async def topics(self, pattern_prefix: str) -> list[str]:
        """Existing topic names starting with the prefix."""

    async def extents(self, topic: str) -> list[Extent]: ...

    async def read(self, topic: str, extents: Sequence[Extent]) -> list[Message]:
        """Every record in the given offset ranges, in partition then offset order."""

    async def publish(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        """Acknowledged by all in-sync replicas (idempotent producer)."""

    async def delete_before(self, topic: str, offsets: dict[int, int]) -> None:
        """Delete the records of each partition below the given offset."""
