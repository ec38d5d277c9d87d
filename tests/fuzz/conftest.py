"""Fixtures for the bad-input tests: a private running system (the four services as processes on
free ports, with their own topics, databases, bucket and SMS sink) per test module, so what one
module stores can never be mistaken for what another did."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.stack import Stack, start_stack
from tests.harness.endpoints import Endpoints


@pytest.fixture(scope="module")
def fuzz_stack(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    unique = f"fuzz-{uuid.uuid4().hex[:10]}"
    stack = start_stack(
        endpoints,
        unique,
        tmp_path_factory.mktemp("fuzz-stack"),
        # Uploads for a complaint evidence has not seen wait 0.2 s (not 10): the fuzzer
        # mostly names complaints that do not exist.
        # A 1 MiB photo limit, so the oversized-upload case stays small on a loaded machine.
        env={"SIPUMA_COMPLAINT_WAIT_S": "0.2", "SIPUMA_MAX_PHOTO_BYTES": str(1024 * 1024)},
    )
    try:
        for name in ("intake", "registry", "evidence", "notifier"):
            stack.need(name)
        yield stack
    finally:
        stack.stop()
