"""(x) Export memory (issue 18 part 2): a private registry process holding `--export-complaints`
(default 100,000) complaints of one year over three offices; the streamed per-complaint CSV of
the whole year, the same as XLSX, and the office statistics (JSON) are downloaded while the
registry's resident memory is sampled from /proc. Reported: rows, MiB sent, seconds, the
registry's RSS before and its peak during each (VmHWM, the kernel's own high-water mark, reset
before and read after each request) — the goal is a peak under 100 MiB."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from sipuma.shared.auth import Role
from tests.e2e.stack import start_stack
from tests.harness.endpoints import Endpoints

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
    assert registry.proc is not None
    pid = registry.proc.pid
    await _seed(ep.mongo_uri, sstack.databases["registry"], count)
    token = sstack.token((Role.SUPERVISOR,))
    year = {"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31"}
    base = _rss_mib(pid, "VmRSS")
    export = await _download(f"{registry.url}/v1/statistics/complaints", year, token, pid)
    after_export = _rss_mib(pid, "VmHWM")
    xlsx = await _download(
        f"{registry.url}/v1/statistics/complaints", {**year, "format": "xlsx"}, token, pid
    )
    after_xlsx = _rss_mib(pid, "VmHWM")
    stats = await _download(f"{registry.url}/v1/statistics", year, token, pid)
    return {
        "what": f"{count} complaints of a year, three offices: streamed CSV and XLSX exports, "
        "statistics",
        "complaints": count,
        "rss_before_mib": round(base, 1),
        "export_csv": {**export, "rss_peak_mib": round(after_export, 1)},
        "export_xlsx": {**xlsx, "rss_peak_mib": round(after_xlsx, 1)},
        "statistics_json": {**stats, "rss_peak_mib": round(_rss_mib(pid, "VmHWM"), 1)},
        "goal_peak_mib": 100,
    }


def markdown(result: dict[str, Any]) -> list[str]:
    if not result:
        return []
    export, stats = result["export_csv"], result["statistics_json"]
    xlsx = result.get("export_xlsx")
    return [
        "## (x) Export memory",
        "",
        f"{result['what']}; the registry's resident memory (VmHWM: its peak) — goal < 100 MiB.",
        "",
        "| request | rows | MiB | s | RSS before | peak RSS |",
        "|---|---|---|---|---|---|",
        f"| per-complaint CSV (streamed) | {export['lines'] - 1} | {export['mib']} | "
        f"{export['seconds']} | {result['rss_before_mib']} | {export['rss_peak_mib']} |",
        *(
            [
                f"| per-complaint XLSX (streamed) | {export['lines'] - 1} | {xlsx['mib']} | "
                f"{xlsx['seconds']} | {result['rss_before_mib']} | {xlsx['rss_peak_mib']} |"
            ]
            if xlsx
            else []
        ),
        f"| office statistics JSON | 3 offices | {stats['mib']} | {stats['seconds']} | "
        f"{result['rss_before_mib']} | {stats['rss_peak_mib']} |",
        "",
    ]


def run_alone(ep: Endpoints, folder: Path, count: int) -> dict[str, Any]:
    with ExitStack() as stack:
        return asyncio.run(measure(ep, stack, folder, count))
