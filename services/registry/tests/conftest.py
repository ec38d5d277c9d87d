"""Registry test fixtures: a fresh database per test on the real MongoDB-compatible store."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

# Test helpers live beside this file (`registry_testkit`); the workspace has several `tests`
# folders, so they get a name of their own instead of a `tests.` path.
sys.path.insert(0, str(Path(__file__).parent))

from sipuma.registry.store import Store
from tests.harness.endpoints import Endpoints


@pytest.fixture
async def store(endpoints: Endpoints, unique_name: Callable[[str], str]) -> AsyncIterator[Store]:
    found = Store.connect(endpoints.mongo_uri, unique_name("reg").replace("-", "_"))
    await found.ensure_indexes()
    try:
        yield found
    finally:
        await found.client.drop_database(found.db.name)
        await found.close()
