"""One private world for the whole chaos pass; faults accumulate, and so does the reconciliation
(every register number ever given in this world must stay 1..N per office)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.infra import World, missing_artefacts, start_world
from tests.chaos.load import Ledger
from tests.chaos.report import write_report


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    why = missing_artefacts()
    if why:
        pytest.skip(why)
    started = time.monotonic()
    world = start_world(tmp_path_factory.mktemp("chaos-world"))
    world.startup_s = time.monotonic() - started
    world.started = started
    try:
        yield world
    finally:
        world.stop()


@pytest.fixture(scope="package")
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture(scope="package")
def results(world: World) -> Iterator[list[dict[str, Any]]]:
    found: list[dict[str, Any]] = []
    started = time.monotonic()
    yield found
    (world.folder / "results.json").write_text(json.dumps(found, indent=2))
    target = os.environ.get("SIPUMA_CHAOS_REPORT")
    if target:
        write_report(Path(target), found, time.monotonic() - started, world)
