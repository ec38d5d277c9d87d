"""sipuma-dlq's use cases on an in-memory dead-letter log: masking, replay, purge, audit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from sipuma.ops import masking
from sipuma.ops.audit import AuditTrail
from sipuma.ops.ports import Extent, Message
from sipuma.ops.service import DeadLetters, NotFound, Position
from sipuma.shared.settings import ServiceSettings

pytestmark = pytest.mark.unit

DLQ = "p.sipuma.dead-letter.registry.v1"
BODY = json.dumps(
    {"complainant": {"name": "Siti", "phone": "+6281234567890"}, "what": "mail a@b.id"}
).encode()
HEADERS = (
    ("ce_id", b"e-1"),
    ("ce_type", b"sipuma.complaint.received.v1"),
    ("x-custom", b"Siti"),
    ("x-sipuma-dead-letter-reason", b"unexpected_event_type"),
    ("x-sipuma-dead-letter-topic", b"p.sipuma.complaint.received.v1"),
)


class FakeLog:
    def __init__(self, messages: list[Message]) -> None:
        self.messages = messages
        self.first = 0
        self.published: list[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]] = []

    async def topics(self, pattern_prefix: str) -> list[str]:
        return [DLQ] if DLQ.startswith(pattern_prefix) else []

    async def extents(self, topic: str) -> list[Extent]:
        return [Extent(0, self.first, len(self.messages))] if topic == DLQ else []

    async def read(self, topic: str, extents: Sequence[Extent]) -> list[Message]:
        return [m for e in extents for m in self.messages[max(e.first, self.first) : e.end]]

    async def publish(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        self.published.append((topic, key, value, headers))

    async def delete_before(self, topic: str, offsets: dict[int, int]) -> None:
        self.first = offsets[0]


def _message(offset: int) -> Message:
    return Message(DLQ, 0, offset, b"c-1", BODY, HEADERS, 0)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[DeadLetters, FakeLog, Path]:
    log = FakeLog([_message(0), _message(1)])
    audit = tmp_path / "audit.jsonl"
    return DeadLetters(log, AuditTrail(audit, "op-1"), "p."), log, audit


async def test_each_group_maps_to_the_topic_its_service_dead_letters_to(setup) -> None:
    """The services' one naming (`ServiceSettings.dead_letter_topic`): the prefix in front, the
    group inside without it — evidence's group too, which once carried the prefix inside."""
    dead, _, _ = setup
    for group in ("registry", "notifier-staff", "sipuma-evidence"):
        service = ServiceSettings(topic_prefix="p.", consumer_group=group)
        assert dead.topic(group) == service.dead_letter_topic()
    assert await dead.groups() == {"registry": 2}  # found under the prefix, named without it


def test_headers_and_body_are_masked() -> None:
    shown = masking.headers(HEADERS)
    assert shown["ce_id"] == "e-1" and shown["x-custom"] == "[redacted]"
    body = json.dumps(masking.body(BODY))
    assert "Siti" not in body and "81234567890" not in body and "a@b.id" not in body
    assert masking.body(b"\xff\x00") == "[2 bytes, not JSON]"


def test_position_parsing() -> None:
    assert Position.parse("3:17") == Position(3, 17)
    for bad in ("3", "a:1", "1:-2"):
        with pytest.raises(ValueError, match="partition:offset"):
            Position.parse(bad)


async def test_replay_sends_the_original_without_dead_letter_headers(setup) -> None:
    dead, log, audit = setup
    (item,) = await dead.replay("registry", [Position(0, 1)])
    topic, key, value, headers = log.published[0]
    assert topic == "p.sipuma.complaint.received.v1" == item["to"]
    assert (key, value) == (b"c-1", BODY)
    assert [k for k, _ in headers] == ["ce_id", "ce_type", "x-custom"]
    line = json.loads(audit.read_text())
    assert line["action"] == "replay" and line["positions"] == ["0:1"] and line["actor"] == "op-1"
    assert "Siti" not in audit.read_text()


async def test_purge_then_nothing_is_listed_and_missing_positions_are_refused(setup) -> None:
    dead, _, audit = setup
    assert await dead.groups() == {"registry": 2}
    assert await dead.purge("registry") == {0: 2}
    assert await dead.listing("registry") == []
    with pytest.raises(NotFound):
        await dead.show("registry", Position(0, 0))
    with pytest.raises(NotFound):
        await dead.purge("registry", {0: 99})
    with pytest.raises(NotFound):
        await dead.listing("notifier")
    assert [json.loads(x)["action"] for x in audit.read_text().splitlines()] == ["purge"]
