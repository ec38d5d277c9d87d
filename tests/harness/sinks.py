"""A private SMS-gateway sink (deploy/local/smssink.py) on a free port, for a test or a harness
that must not use the shared one (failure injection is global to a sink)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.harness.endpoints import ROOT
from tests.harness.ports import free_port
from tests.harness.state import eventually_sync


@contextlib.contextmanager
def sms_sink(folder: Path) -> Iterator[str]:
    """The sink's URL once it answers; it keeps what it is sent in `folder`, and is stopped at
    the end of the block."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "deploy/local/smssink.py"),
            "--port",
            str(port),
            "--store",
            str(folder / f"sms-{port}.jsonl"),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        eventually_sync(
            "the SMS sink answers",
            lambda: httpx.get(f"{url}/livez", timeout=0.5).status_code == 200,
            retry_on=(httpx.HTTPError,),
        )
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
