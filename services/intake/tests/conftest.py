"""Fixtures for intake tests: unique topics per test, a running app, a registry double."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.intake.tests.support import RegistryDouble, running_intake, settings_for
from sipuma.intake.settings import IntakeSettings


@pytest.fixture
def settings(endpoints, tmp_path, unique_name) -> IntakeSettings:
    return settings_for(endpoints.kafka_bootstrap, tmp_path / "replica-a", unique_name("intake"))


@pytest.fixture
def registry(settings) -> RegistryDouble:
    return RegistryDouble(
        settings.kafka_bootstrap,
        settings.topic_complaint_received,
        settings.topic_complaint_registered,
    )


@pytest.fixture
async def client(settings, registry) -> AsyncIterator[httpx.AsyncClient]:
    async with running_intake(settings) as client, registry.running():
        yield client
