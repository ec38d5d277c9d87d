"""Notifier test fixtures: settings with their own topics, consumer group and database (all
named with the test's token, so the harness removes them when the test ends)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.notifier.tests.support import settings_for
from sipuma.notifier.settings import NotifierSettings
from tests.harness.endpoints import Endpoints


@pytest.fixture
def settings(endpoints: Endpoints, unique_name: Callable[[str], str]) -> NotifierSettings:
    return settings_for(endpoints, unique_name("ntf"))


@pytest.fixture
async def deliveries(settings: NotifierSettings) -> AsyncIterator[Any]:
    """The test's delivery collection, read directly: what the notifier left in the store."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    try:
        yield client[settings.mongo_database][settings.deliveries_collection]
    finally:
        await client.close()
