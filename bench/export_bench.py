"""(x) Export memory (issue 18 part 2): a private registry process holding `--export-complaints`
(default 100,000) complaints of one year over three offices; the streamed per-complaint CSV of
the whole year, the same as XLSX, and the office statistics (JSON) are downloaded while the
registry's resident memory is sampled from /proc. Reported: rows, MiB sent, seconds, the
registry's RSS before and its peak during each (VmHWM, the kernel's own high-water mark, reset
before and read after each request) — the goal is a peak under 100 MiB.

Measured on the same data, one registry process after the other, each installed as the image
installs it (deploy/docker/Dockerfile: `uv sync --frozen --no-dev --no-editable --package
sipuma-registry`, bytecode compiled), here into this run's folder from uv's cache:
- `reports`: `SIPUMA_REGISTRY_ROLE=reports`, the process that serves the staff read side in
  production (deploy/k8s/base/registry-reports): no Kafka client, no calendar;
- `all`: the default role (consumers, relay, calendar, the whole API), which also answers these
  routes (the local development stack, one process).
The development environment (test tools installed: structlog loads rich when it is there) idles
~10 MiB higher than either; it is not what runs in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from sipuma.shared.auth import Role
from tests.e2e.stack import Service, start_stack
from tests.harness.endpoints import ROOT, Endpoints

OFFICES = ("KPUBC-TPK-TJPRIOK", "KPPBC-TMP-NGURAHRAI", "KPPBC-TMP-JAYAPURA")
YEAR = 2025


def _rss_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _entry(n: int, start: datetime, step: timedelta) -> dict[str, Any]:
    received = start + step * n
    return {
        "_id": str(uuid.UUID(int=n + 1)),
        "office_code": OFFICES[n % 3],
        "received_at": received,
        "channel": ("in_person", "email", "letter")[n % 3],
        "version": 1,
        "view": {
            "status": ("registered", "verified", "closed")[n % 3],
            "register_number": f"PGD/{OFFICES[n % 3]}/{YEAR}/{n + 1:06d}",
            "registered_at": received + timedelta(minutes=2 + n % 5),
            "intake_done_at": received + timedelta(minutes=10 + n % 40),
            "notifications": {"email": {"status": "sent"}},
            "deadline": {"stage": "verification", "due_at": received + timedelta(days=5)},
        },
    }


async def _seed(uri: str, database: str, count: int) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    start = datetime(YEAR, 1, 1, 3, tzinfo=UTC)
    step = timedelta(days=360) / count
    try:
        listing = client[database]["listing"]
        for first in range(0, count, 5000):
            await listing.insert_many(
                [_entry(n, start, step) for n in range(first, min(first + 5000, count))],
                ordered=False,
            )
    finally:
        await client.close()


def _reset_peak(pid: int) -> None:
    """Reset the kernel's VmHWM to the current RSS (Linux 4.0+), so each request's peak is its
    own, not the previous request's."""
    with contextlib.suppress(OSError):  # else the peaks are cumulative (reported as they are)
        Path(f"/proc/{pid}/clear_refs").write_text("5")


async def _download(url: str, params: dict[str, str], token: str, pid: int) -> dict[str, Any]:
    _reset_peak(pid)
    samples: list[float] = []
    began = time.perf_counter()
    size = lines = 0
    async with (
        httpx.AsyncClient(timeout=600) as http,
        http.stream(
            "GET", url, params=params, headers={"Authorization": f"Bearer {token}"}
        ) as answer,
    ):
        answer.raise_for_status()
        async for chunk in answer.aiter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
            samples.append(_rss_mib(pid, "VmRSS"))
    return {
        "seconds": round(time.perf_counter() - began, 2),
        "mib": round(size / 2**20, 2),
        "lines": lines,
        "rss_sampled_max_mib": round(max(samples, default=0.0), 1),
    }


def deployed_registry(folder: Path) -> list[str]:
    """The registry as the image installs it (no dev group, no editable source), from uv's
    cache into `folder`: its console script."""
    venv = folder / "registry-deployed"
    uv = os.environ.get("UV", "uv")
    subprocess.run(
        [
            *(uv, "sync", "--frozen", "--no-dev", "--no-editable", "--package", "sipuma-registry"),
            # uv keeps a workspace member's built wheel until its pyproject.toml changes:
            # rebuilt, so this measures the source as it is, not an older build's.
            *("--reinstall-package", "sipuma-registry", "--reinstall-package", "sipuma-shared"),
        ],
        cwd=ROOT,
        # As the image: bytecode compiled at install (else the first start compiles every
        # module, and the registry idles a few MiB higher).
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_COMPILE_BYTECODE": "1"},
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    return [str(venv / "bin" / "sipuma-registry")]


def _restart(registry: Service, command: list[str], role: str) -> int:
    registry.stop()
    registry.command = command
    registry.env = {**registry.env, "SIPUMA_REGISTRY_ROLE": role}
    registry.start()
    registry.wait_ready(time.monotonic() + 120)
    assert registry.proc is not None
    return registry.proc.pid


async def _requests(url: str, token: str, pid: int) -> dict[str, Any]:
    """One registry: idle RSS, then each download's own RSS before and peak."""
    year = {"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"}
    found: dict[str, Any] = {"rss_idle_mib": round(_rss_mib(pid, "VmRSS"), 1)}
    for key, path, params in (
        ("export_csv", "/v1/statistics/complaints", year),
        ("export_xlsx", "/v1/statistics/complaints", {**year, "format": "xlsx"}),
        ("statistics_json", "/v1/statistics", year),
    ):
        before = _rss_mib(pid, "VmRSS")
        got = await _download(f"{url}{path}", params, token, pid)
        found[key] = {
            **got,
            "rss_before_mib": round(before, 1),
            "rss_peak_mib": round(_rss_mib(pid, "VmHWM"), 1),
        }
    return found


async def measure(ep: Endpoints, stack: ExitStack, folder: Path, count: int) -> dict[str, Any]:
    unique = f"bench-x-{uuid.uuid4().hex[:8]}"
    workdir = folder / unique
    workdir.mkdir()
    sstack = start_stack(ep, unique, workdir)
    stack.callback(sstack.stop)
    for name in ("evidence", "notifier", "intake"):
        if name in sstack.services:
            sstack.services[name].stop()
    registry = sstack.services["registry"]
    await _seed(ep.mongo_uri, sstack.databases["registry"], count)
    token = sstack.token((Role.SUPERVISOR,))
    deployed = await asyncio.to_thread(deployed_registry, workdir)
    runs = {}
    for role in ENVIRONMENTS:
        pid = await asyncio.to_thread(_restart, registry, deployed, role)
        runs[role] = await _requests(registry.url, token, pid)
    return {
        "what": f"{count} complaints of a year, three offices: streamed CSV and XLSX exports, "
        "statistics",
        "complaints": count,
        "environments": runs,
        "goal_peak_mib": 100,
    }


ENVIRONMENTS = {
    "reports": "`reports` role, as deployed (`--no-dev`, as the image)",
    "all": "`all` role, as deployed (`--no-dev`, as the image)",
}
REQUESTS = (
    ("export_csv", "per-complaint CSV (streamed)"),
    ("export_xlsx", "per-complaint XLSX (streamed)"),
    ("statistics_json", "office statistics JSON"),
)


def markdown(result: dict[str, Any]) -> list[str]:
    if not result or "environments" not in result:
        return []
    rows = []
    for env, found in result["environments"].items():
        for key, label in REQUESTS:
            got = found[key]
            size = "3 offices" if key == "statistics_json" else str(got["lines"] - 1)
            if key == "export_xlsx":  # a zip: its bytes are not lines
                size = str(found["export_csv"]["lines"] - 1)
            rows.append(
                f"| {ENVIRONMENTS.get(env, env)} | {label} | {size} | {got['mib']} | "
                f"{got['seconds']} | {found['rss_idle_mib']} | {got['rss_before_mib']} | "
                f"{got['rss_peak_mib']} |"
            )
    return [
        "## (x) Export memory",
        "",
        f"{result['what']}; the registry process's resident memory in MiB (VmRSS; peak: VmHWM, "
        "reset before each request) — goal: peak < 100 MiB.",
        "",
        "| registry process | request | rows | MiB sent | s | RSS idle | RSS before | peak RSS |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def run_alone(ep: Endpoints, folder: Path, count: int) -> dict[str, Any]:
    with ExitStack() as stack:
        return asyncio.run(measure(ep, stack, folder, count))
