"""Registry test fixtures: a fresh database per test on the real MongoDB-compatible store, and the
registry built on it the way `sipuma-registry` builds itself."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

# Test helpers live beside this file (`registry_testkit`); the workspace has several `tests`
# folders, so they get a name of their own instead of a `tests.` path.
sys.path.insert(0, str(Path(__file__).parent))

from registry_testkit.wiring import BuildRegistry, Recorder, settings_for

from sipuma.registry.main import Runtime, build
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


@pytest.fixture
async def build_registry(store: Store, endpoints: Endpoints) -> AsyncIterator[BuildRegistry]:
    built: list[Runtime] = []

    def make(**settings: Any) -> tuple[Runtime, Recorder]:
        recorder = Recorder(store)
        runtime = build(
            settings_for(endpoints.mongo_uri, store.db.name, **settings), publish=recorder
        )
        built.append(runtime)
        return runtime, recorder

    try:
        yield make
    finally:
        for runtime in built:
            await runtime.store.close()
