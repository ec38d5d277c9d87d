"""Isolation: intake's readers (the status book on every replica) join no consumer group, so a
test's intake can never join, rebalance or commit in the group of a stack that is running."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from services.intake.tests.support import running_intake

pytestmark = pytest.mark.integration


def _members(described: Any) -> list[tuple[str, str]]:
    """(group id, client id) of every member in a DescribeGroups answer (any version)."""
    found = []
    for response in described:
        for group in response.groups:
            group_id, members = group[1], group[5]
            found += [(group_id, member[1]) for member in members]
    return found


async def test_a_running_intake_is_member_of_no_consumer_group(settings) -> None:
    async with running_intake(settings) as client:
        assert client.app.state.feeder.ready.is_set()  # type: ignore[attr-defined]
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            groups = [group_id for group_id, _ in await admin.list_consumer_groups()]
            described = await admin.describe_consumer_groups(groups) if groups else []
        finally:
            await admin.close()
    intake_members = [m for m in _members(described) if m[1].startswith("sipuma-intake")]
    assert intake_members == []
