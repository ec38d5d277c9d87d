"""Stopping background tasks for sure.

On Python 3.11 a cancellation can be lost: `asyncio.wait_for` (used inside aiokafka's connection
set-up too) returns its result instead of raising when the cancel arrives just as its inner
future completes, and the task then runs on. `task.cancel(); await task` waits forever on such a
task. These helpers cancel again until the task ends, and never wait past a deadline."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import structlog

log = structlog.get_logger("sipuma.tasks")

CANCEL_INTERVAL_S = 2.0  # a client's stop normally takes well under this
CANCEL_PATIENCE_S = 10.0


async def cancel_and_wait(
    tasks: asyncio.Task[object] | Iterable[asyncio.Task[object]],
    *,
    patience_s: float = CANCEL_PATIENCE_S,
    interval_s: float = CANCEL_INTERVAL_S,
) -> bool:
    """Cancel `tasks`, again every `interval_s` while one still runs, for at most `patience_s`.

    Answers whether all ended; their results and errors are dropped (a stop is not the place to
    raise them). A task that outlives the patience is left behind and logged by name."""
    pending = {tasks} if isinstance(tasks, asyncio.Task) else set(tasks)
    deadline = time.monotonic() + patience_s
    rounds = 0
    while pending:
        if rounds:  # worth knowing: which task lost a cancellation (or is slow to stop)
            log.info("tasks_cancelled_again", tasks=sorted(t.get_name() for t in pending))
        rounds += 1
        for task in pending:
            task.cancel()
        left = deadline - time.monotonic()
        if left <= 0:
            log.warning("tasks_ignore_cancellation", tasks=sorted(t.get_name() for t in pending))
            return False
        _, pending = await asyncio.wait(pending, timeout=min(interval_s, left))
    return True


async def bounded(work: Awaitable[object], timeout_s: float) -> bool:
    """Wait up to `timeout_s` for `work` (e.g. a client's stop), then cancel it for sure; answers
    whether it ended by itself. Errors are dropped, as at any stop.

    Unlike `asyncio.wait_for`, it cannot hang on work that ignores its cancellation."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if done:
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not complain about it
        return True
    await cancel_and_wait(task)
    return False


async def every(
    interval_s: float,
    stop: asyncio.Event,
    work: Callable[[], Awaitable[object]],
    *,
    failed: str,
    logger: Any = log,
) -> None:
    """`work` until `stop` is set, a pass every `interval_s`: a pass that raises is logged as
    `failed` (with the traceback, on the job's own `logger`) and the next pass comes, so the job
    outlives an outage of the store or the mail server."""
    while not stop.is_set():
        try:
            await work()
        except Exception:
            logger.exception(failed)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
