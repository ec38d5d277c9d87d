"""The cyclic garbage collector set for a long-running service (issue 15).

A service imports FastAPI, FastStream, pydantic, PyMongo and their kin: ~110,000 objects that live
as long as the process. CPython's collector walks all of them at every full collection (50 ms
measured in the notifier under load, one every few seconds of work) and promotes the
per-message garbage through its generations at the default thresholds (700 allocations: ~30
young collections a second, 0.8 ms each under load). Together ~15 % of the notifier's CPU per
e-mail. `settle()`, called once the service is built and before it serves:
- `gc.freeze()` moves everything alive so far (modules, classes, clients) to the permanent
  generation, which no collection walks again (CPython's documented use: after start-up);
- raises the first generation's threshold, so a young collection comes per many messages, not
  several per message: the short-lived objects of one message are freed by reference counting
  anyway; the collector only exists for cycles.
Memory stays bounded: cycles are still collected, only later."""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000  # allocations between young collections (CPython's default: 700)


def settle(young: int = YOUNG_THRESHOLD) -> None:
    """Freeze what is alive now and space the young collections; once, before serving."""
    gc.collect()  # what start-up left behind goes now, not frozen with the rest
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, old)
