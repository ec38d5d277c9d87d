"""Notifier test fixtures: settings with their own topics, consumer group and database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from services.notifier.tests.support import delivery_log, remove_topics, settings_for
from sipuma.notifier.settings import NotifierSettings
from tests.harness.endpoints import Endpoints


@pytest.fixture
async def settings(
    endpoints: Endpoints, unique_name: Callable[[str], str]
) -> AsyncIterator[NotifierSettings]:
    made = settings_for(endpoints, unique_name("ntf"))
    yield made
    await remove_topics(made.kafka_bootstrap, made.topic_prefix)


@pytest.fixture
async def deliveries(settings: NotifierSettings) -> AsyncIterator[Any]:
    async with delivery_log(settings) as collection:
        yield collection
