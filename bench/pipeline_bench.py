"""(p) SIPUMA end to end against the raw pipeline (`bench/raw_pipeline.py`) on the same servers,
in the same run: the sustained rate of each when offered more than either takes, and p99
POST → register number of each at 50 % of the raw pipeline's sustained rate."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from tqdm import tqdm

from bench.common import PARTITIONS
from bench.intake_bench import wait_ready
from bench.machine import machine_cpu, per_unit_ms
from bench.phases import bench_e2e, cpu_seconds, syscall_counts
from bench.profiles import profiling
from sipuma.shared import topics
from sipuma.shared.topic_admin import ensure_topics
from tests.e2e.stack import Stack
from tests.harness.endpoints import Endpoints
from tests.harness.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
KINDS = (
    ("write", ("write", "writev", "sendto", "sendmsg")),
    ("read", ("read", "recvfrom", "recvmsg")),
    ("epoll_wait", ("epoll_wait", "epoll_pwait")),
)
SOCKET_CALLS = tuple(n for _, names in KINDS for n in names)


@dataclass(frozen=True)
class RawStack:
    """Looks like the stack to `bench_e2e`: where to POST, and (unused) a token."""

    base: str

    def url(self, name: str) -> str:
        return self.base

    def token(self) -> str:
        return "raw"


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(30)


def start_raw(
    ep: Endpoints, stack: ExitStack, folder: Path, prefix: str, wait_s: float
) -> tuple[str, dict[str, int]]:
    """The raw pipeline's URL and its processes' pids (api, worker)."""
    database = f"bench_rawpipe_{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        **os.environ,
        "RAW_BOOTSTRAP": ep.kafka_bootstrap,
        "RAW_RECEIVED": prefix + topics.COMPLAINT_RECEIVED.name,
        "RAW_REGISTERED": prefix + topics.COMPLAINT_REGISTERED.name,
        "RAW_GROUP": prefix + "raw-worker",
        "RAW_MONGO_URI": ep.mongo_uri,
        "RAW_DATABASE": database,
        "RAW_WAIT_S": str(wait_s),
        "RAW_PORT": str(port),
    }

    def drop() -> None:
        client: MongoClient[dict[str, Any]] = MongoClient(ep.mongo_uri)
        with client:
            client.drop_database(database)

    stack.callback(drop)
    pids: dict[str, int] = {}
    for role in ("worker", "api"):
        log = folder / f"raw-{role}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.raw_pipeline", role],
            cwd=ROOT,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stack.callback(stop, proc)
        pids[role] = proc.pid
    base = f"http://127.0.0.1:{port}"
    wait_ready(base + "/healthz", proc, folder / "raw-api.log")
    return base, pids


async def measure(
    ep: Endpoints,
    stack: ExitStack,
    folder: Path,
    sstack: Stack,
    prefix: str,
    offered: float,
    seconds: float,
    drain_s: float,
    bar: tqdm,
    series: dict[str, Any],
    *,
    profile: bool = False,
) -> dict[str, Any]:
    raw_prefix = f"sipuma.bench-raw-{uuid.uuid4().hex[:8]}."
    await ensure_topics(
        ep.kafka_bootstrap,
        [raw_prefix + t.name for t in (topics.COMPLAINT_RECEIVED, topics.COMPLAINT_REGISTERED)],
        partitions=PARTITIONS,
    )
    raw_base, raw_pids = start_raw(ep, stack, folder, raw_prefix, wait_s=2.0)
    raw = RawStack(raw_base)
    # Every SIPUMA process: evidence also reads each complaint's events, and the notifier each
    # registered one, on the same two cores as intake and the registry.
    sipuma_pids = {
        n: s.proc.pid
        for n in ("intake", "registry", "evidence", "notifier")
        if (s := sstack.services[n]).proc is not None
    }

    async def run(target: Any, at_prefix: str, rate: float, label: str) -> dict[str, Any]:
        bar.set_description(f"(p) {label}")
        # CPU seconds each process spent per registered complaint: a count that does not
        # depend on what else the shared machine runs, unlike the rates.
        pids = raw_pids if target is raw else sipuma_pids
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        calls: dict[str, dict[str, int]] = {name: {} for name in pids}
        spent: dict[str, float] = {}
        with ExitStack() as counting:
            for name, pid in pids.items():
                counting.enter_context(syscall_counts(pid, calls[name], SOCKET_CALLS))
            counting.enter_context(machine_cpu({pid: name for name, pid in pids.items()}, spent))
            result = await _run(target, at_prefix, rate, label)
        done = result["registered"] or 1
        # The whole machine's CPU per complaint, the store's and Kafka's included (the load
        # generator is `bench`): what the two cores pay for one complaint, by process.
        result["machine_cpu_ms_per_complaint"] = per_unit_ms(spent, done)
        result["cpu_ms_per_complaint"] = {
            name: round((cpu_seconds(pid) - before[name]) * 1000 / done, 2)
            for name, pid in pids.items()
        }
        # Socket writes, reads and loop wake-ups per complaint (perf; empty without it): the
        # round trips to Kafka, the store and the client behind the CPU above.
        result["syscalls_per_complaint"] = {
            name: {kind: round(sum(counts.get(n, 0) for n in of) / done, 2) for kind, of in KINDS}
            for name, counts in calls.items()
            if counts
        }
        return result

    async def _run(target: Any, at_prefix: str, rate: float, label: str) -> dict[str, Any]:
        return await bench_e2e(
            ep,
            target,
            at_prefix,
            rate,
            seconds,
            drain_s,
            bar,
            series.setdefault(f"p_{label}", []),
            series.setdefault(f"p_{label}_unfinished", []),
        )

    raw_full = await run(raw, raw_prefix, offered, "raw_saturated")
    half = (raw_full["sustained_per_second"] or offered) / 2
    raw_half = await run(raw, raw_prefix, half, "raw_half")
    # SIPUMA at the same half load before its own saturation run, which leaves a queue behind.
    profiled = {n: p for n, p in sipuma_pids.items() if n in ("intake", "registry", "evidence")}
    with profiling(profile, "p", profiled):  # py-spy (`--profile`)
        sipuma_half = await run(sstack, prefix, half, "sipuma_half")
        sipuma_full = await run(sstack, prefix, offered, "sipuma_saturated")

    def ratio(f: Callable[[dict[str, Any]], Any]) -> float | None:
        a, b = f(sipuma_full), f(raw_full)
        return round(a / b, 3) if a and b else None

    return {
        "what": "open-loop POST → register number; raw = bare FastAPI → aiokafka (acks=all) → "
        "one consumer: insert_one + produce → the API answers; same servers, same run",
        "offered_per_second": offered,
        "raw_saturated": raw_full,
        "sipuma_saturated": sipuma_full,
        "ratio_sustained": ratio(lambda r: r["sustained_per_second"]),
        "half_rate_per_second": round(half, 1),
        "raw_at_half": raw_half,
        "sipuma_at_half": sipuma_half,
    }
