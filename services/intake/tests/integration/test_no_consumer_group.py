"""Isolation: intake's readers (the status book on every replica) join no consumer group, so a
test's intake can never join, rebalance or commit in the group of a stack that is running.

The real intake runs against the real Kafka; the consumer class is only watched (every
constructor call is recorded, then passed on), because describing every group on a shared
broker is not something aiokafka can do reliably (newer group types do not decode)."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from services.intake.tests.support import auth, complaint, running_intake
from sipuma.intake import status_book
from tests.harness.state import eventually

pytestmark = pytest.mark.integration


async def test_a_running_intake_joins_no_consumer_group(settings, registry, monkeypatch) -> None:
    groups: list[object] = []

    def watched(*args: Any, **kwargs: Any) -> AIOKafkaConsumer:
        groups.append(kwargs.get("group_id"))  # aiokafka's default is None as well
        return AIOKafkaConsumer(*args, **kwargs)

    monkeypatch.setattr(status_book, "AIOKafkaConsumer", watched)
    async with running_intake(settings) as client, registry.running():
        book = client.runtime.book
        await eventually("the status book follows Kafka", book.is_live)
        answer = await client.post("/v1/complaints", json=complaint(), headers=auth())
        assert answer.status_code == 201  # the book saw the register number: it is reading
    assert groups, "intake created no consumer at all"
    assert groups == [None] * len(groups)
