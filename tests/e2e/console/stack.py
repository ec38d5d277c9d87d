"""Moved to `tests/e2e/stack.py` (shared by every end-to-end suite); kept for old imports
(`bench/`, `tests/chaos/`)."""

from tests.e2e.stack import (
    OFFICE,
    OFFICER,
    SECRET,
    Service,
    Stack,
    _die_with_parent,
    start_stack,
)
from tests.harness.ports import free_port

__all__ = [
    "OFFICE",
    "OFFICER",
    "SECRET",
    "Service",
    "Stack",
    "_die_with_parent",
    "free_port",
    "start_stack",
]
