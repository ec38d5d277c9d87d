"""`heap.settle`: what is alive at start-up is frozen (no collection walks it again) and young
collections are spaced; cycles made afterwards are still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from sipuma.shared import heap


@pytest.fixture
def restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.mark.usefixtures("restored")
def test_settle_freezes_what_lives_and_still_collects_new_cycles() -> None:
    heap.settle()

    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
    later = weakref.ref(_Node())
    gc.collect()
    assert later() is None
