"""Start the console's test stack by hand and keep it up (Ctrl-C stops it):

    uv run python -m tests.e2e.console.run_stack

Prints the console URL and a receiver token; uses the same real components as the tests."""

from __future__ import annotations

import signal
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from tests.e2e.stack import start_stack
from tests.harness.endpoints import resolve


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the services too
    with ExitStack() as resources:
        endpoints = resolve(resources)
        folder = Path(resources.enter_context(tempfile.TemporaryDirectory()))
        stack = start_stack(endpoints, f"e2e-console-{uuid.uuid4().hex[:10]}", folder)
        resources.callback(stack.stop)
        print(f"console:  {stack.console}/masuk", flush=True)
        print(f"tracking: {stack.url('intake')}/lacak", flush=True)
        print(f"logs:     {folder}", flush=True)
        print(f"token:    {stack.token()}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
