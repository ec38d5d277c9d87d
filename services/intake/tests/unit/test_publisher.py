"""The Kafka record of an event (`publisher.record_of`): the publishable check is remembered
per event class and topic only once it passed, so a wrong topic is refused every time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from sipuma.intake.publisher import record_of
from sipuma.shared import events as ev
from sipuma.shared import samples, topics

pytestmark = pytest.mark.unit


def received() -> ev.ComplaintReceived:
    event = samples.example(
        ev.ComplaintReceived,
        event_id=uuid.uuid4(),
        complaint_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
    )
    assert isinstance(event, ev.ComplaintReceived)
    return event


def test_the_right_topic_gives_the_record_each_time() -> None:
    topic = "test-prefix." + topics.COMPLAINT_RECEIVED.name
    for _ in range(2):
        event = received()
        record = record_of(topic, event)
        assert (record.topic, record.key) == (topic, str(event.complaint_id).encode())
        assert dict(record.headers)["ce_id"] == str(event.event_id).encode()


@pytest.mark.parametrize(
    "topic", [topics.COMPLAINT_REGISTERED.name, "test-prefix.not-a-declared-topic"]
)
def test_a_wrong_topic_is_refused_every_time(topic: str) -> None:
    for _ in range(2):  # a refusal is never remembered as a pass
        with pytest.raises(ValueError, match=r"does not carry|not a known topic"):
            record_of(topic, received())
