"""Intake benchmark (not a test): complaints/s and p50/p99 latency of `POST /v1/complaints`
against a bare FastAPI JSON POST, in the same run, on the real Kafka.

    uv run python bench/intake_bench.py [--seconds 10] [--concurrency 16]

Three servers, each its own uvicorn process on a free port, loaded the same way:
- `bare`: FastAPI, one route that takes the same JSON as a dict and answers 201 (the floor);
- `intake-publish`: `sipuma-intake` with register_wait_s=0 — validate, publish with acks=all,
  answer 202 (what the HTTP edge itself costs);
- `intake-registered`: `sipuma-intake` waiting for the register number — a registry double in
  this process answers `ComplaintRegistered` on the real topic, so each answer is a 201 after a
  full Kafka round trip (SOP step 4 as the receiver sees it).
Unique topics per run; tokens are minted locally. Prints one JSON document with the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.intake.tests.support import (  # noqa: E402
    SECRET,
    RegistryDouble,
    auth,
    complaint,
)
from sipuma.shared import topics  # noqa: E402
from sipuma.shared.topic_admin import ensure_topics  # noqa: E402
from sipuma.shared.web import HTTP, LOOP  # noqa: E402
from tests.harness.endpoints import resolve  # noqa: E402
from tests.harness.ports import free_port  # noqa: E402

BARE_APP = """
from typing import Any
from fastapi import FastAPI
app = FastAPI()

@app.post("/v1/complaints", status_code=201)
async def record(body: dict[str, Any]) -> dict[str, Any]:
    return {"status": "ok", "fields": len(body)}
"""


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready: {log.read_text()[-2000:]}")


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)


def start_bare(stack: ExitStack, folder: Path) -> str:
    (folder / "bare_app.py").write_text(BARE_APP)
    port, log = free_port(), folder / "bare.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            # the services' server options (`sipuma.shared.web`), so (a) compares like with like
            "--loop",
            LOOP,
            "--http",
            HTTP,
        ],
        cwd=folder,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack.callback(_terminate, proc)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base + "/docs", proc, log)
    return base


def start_intake(stack: ExitStack, folder: Path, bootstrap: str, prefix: str, wait_s: float) -> str:
    port, log = free_port(), folder / f"intake-{wait_s}.log"
    env = {
        **os.environ,
        "SIPUMA_KAFKA_BOOTSTRAP": bootstrap,
        "SIPUMA_HTTP_PORT": str(port),
        "SIPUMA_STATE_DIR": str(folder / f"state-{wait_s}"),
        "SIPUMA_TOKEN_SECRET": SECRET,
        "SIPUMA_REGISTER_WAIT_S": str(wait_s),
        "SIPUMA_LOG_LEVEL": "WARNING",
        "SIPUMA_LOG_FORMAT": "json",
        "SIPUMA_TOPIC_PREFIX": f"{prefix}.",
    }
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "sipuma-intake")],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack.callback(_terminate, proc)
    base = f"http://127.0.0.1:{port}"
    wait_ready(base + "/readyz", proc, log)
    return base


async def load(
    base: str,
    seconds: float,
    concurrency: int,
    expect: int,
    headers: dict[str, str] | None = None,
    samples: list[tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """Closed loop: `concurrency` workers POST the same complaint for `seconds`. `samples`, when
    given, collects (seconds since the start, latency in seconds) of every request."""
    body, headers = complaint(), headers or auth()
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        for _ in range(20):  # warm-up: connections, JIT-free but caches and topic metadata
            await client.post("/v1/complaints", json=body, headers=headers)
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                started = time.perf_counter()
                answer = await client.post("/v1/complaints", json=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                if samples is not None:
                    samples.append((started - began, latencies[-1]))
                if answer.status_code != expect:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": errors,
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    prefix = f"bench-intake-{int(time.time())}"
    with ExitStack() as stack:
        endpoints = resolve(stack)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        await ensure_topics(
            endpoints.kafka_bootstrap,
            [
                f"{prefix}.{topics.COMPLAINT_RECEIVED.name}",
                f"{prefix}.{topics.COMPLAINT_REGISTERED.name}",
            ],
        )
        registry = RegistryDouble(
            endpoints.kafka_bootstrap,
            f"{prefix}.{topics.COMPLAINT_RECEIVED.name}",
            f"{prefix}.{topics.COMPLAINT_REGISTERED.name}",
        )
        bare = start_bare(stack, folder)
        publish = start_intake(stack, folder, endpoints.kafka_bootstrap, prefix, 0.0)
        registered = start_intake(stack, folder, endpoints.kafka_bootstrap, prefix, 5.0)
        results: dict[str, Any] = {}
        results["bare"] = await load(bare, args.seconds, args.concurrency, 201)
        results["intake_publish"] = await load(publish, args.seconds, args.concurrency, 202)
        async with registry.running():
            results["intake_registered"] = await load(
                registered, args.seconds, args.concurrency, 201
            )
        floor = results["bare"]
        for name in ("intake_publish", "intake_registered"):
            run = results[name]
            run["throughput_vs_bare"] = round(run["per_second"] / floor["per_second"], 3)
            run["p50_vs_bare"] = round(run["p50_ms"] / floor["p50_ms"], 2)
            run["p99_vs_bare"] = round(run["p99_ms"] / floor["p99_ms"], 2)
        results["setup"] = {
            "seconds": args.seconds,
            "concurrency": args.concurrency,
            "cpus": os.cpu_count(),
            "kafka": endpoints.kafka_bootstrap,
            "note": "client, registry double and servers share this machine",
        }
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
