"""One command for every ratio benchmark (not a test: nothing here asserts a time).

    make bench                      # or: uv run python -m bench [--quick] [--help]

All four services run as real processes (`tests/e2e/stack.py`) against the real Kafka,
MongoDB-compatible store, MinIO and SMTP sink (the test harness's endpoints: env vars, Docker, or
`deploy/local/infra.sh`), with this run's own topic prefix, databases and bucket. Each service is
measured next to a raw baseline doing the same work on the same servers, in the same run:

a. intake complaints/s (validate + publish acks=all, 202) vs a bare FastAPI JSON POST;
b. registry events/s (N ComplaintReceived → N ComplaintRegistered) vs a raw aiokafka consumer
   doing one PyMongo async insert per event;
c. end-to-end: open-loop POSTs at 50 % of (a)'s rate through intake + registry, latency from the
   POST to the register number (201 answer, or the ComplaintRegistered event when intake's wait
   ran out first), over time;
d. evidence upload MiB/s vs a direct `minio` put of the same file, and RSS growth for 1 GiB;
e. notifier e-mails/s (TicketIssued → NotificationSent on the real SMTP sink) vs raw aiosmtplib;
x. export memory (`bench/export_bench.py`): the peak RSS of the registry's `reports` process
   (and, for comparison, of its `all` role) while it streams a 100,000-complaint export (goal
   < 100 MiB);
g. growth (`bench/growth.py`): a private registry grown to 10k, 50k, 200k complaints; each read,
   POST → number and the registry's rate at each size, as a ratio to the first size;
p. the whole pipeline vs the raw pipeline (`bench/raw_pipeline.py`: bare FastAPI → aiokafka →
   one consumer with one insert → the API answers): sustained rate when offered more than either
   takes, and p99 POST → number of each at 50 % of the raw rate.

Writes docs/benchmarks.md, docs/benchmarks.json, docs/benchmarks-latency.png and
docs/benchmarks-growth.png.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import tempfile
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop
from tqdm import tqdm

from bench import evidence_bench, export_bench, growth, growth_seed, pipeline_bench
from bench.common import DOCS, PARTITIONS, loadavg
from bench.phases import bench_e2e, bench_intake, bench_notifier, bench_registry
from bench.profiles import profiling
from bench.report import write_report
from sipuma.shared import topics
from sipuma.shared.topic_admin import ensure_topics
from tests.e2e.stack import Stack, start_stack
from tests.harness.endpoints import resolve

# ---------------------------------------------------------------- main


def pids(sstack: Stack, *names: str) -> dict[str, int]:
    return {n: s.proc.pid for n in names if (s := sstack.services[n]).proc is not None}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = datetime.now(UTC)
    machine: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "loadavg_start": loadavg(),
        "loadavg_phases": {},
    }
    results: dict[str, Any] = {}
    series: dict[str, Any] = {}
    phases = [
        "infra + stack",
        "a",
        "b",
        "c sustainable",
        "d",
        "e",
        "x",
        "g",
        "p",
        "c at 50 % of a",
        "report",
    ]
    bar = tqdm(total=len(phases), unit="phase", dynamic_ncols=True)

    def phase(name: str) -> None:
        bar.set_description(name)
        bar.set_postfix_str("")

    with ExitStack() as stack:
        phase("infra + services")
        ep = resolve(stack)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sipuma-bench-")))
        unique = f"bench-{uuid.uuid4().hex[:8]}"
        prefix = f"sipuma.{unique}."
        if set(args.only) & set("bcep"):  # the phases that use this stack (g has its own)
            # The stack's topics, all with the partitions its settings ask for, before any service
            await ensure_topics(
                ep.kafka_bootstrap,
                [prefix + t.name for t in topics.ALL_TOPICS],
                partitions=PARTITIONS,
            )
            # (e) measures what sending costs, not the provider's rate limit (a policy, 100/s by
            # default, which would cap the notifier below the raw loop's rate by design)
            sstack = start_stack(ep, unique, folder, env={"SIPUMA_EMAIL_RATE_PER_SECOND": "100000"})
            stack.callback(sstack.stop)
        bar.update()

        if "a" in args.only:
            phase("(a) intake vs bare FastAPI")
            results["a_intake"] = await bench_intake(ep, stack, folder, args, series)
            machine["loadavg_phases"]["a"] = loadavg()
        bar.update()
        if "b" in args.only:
            phase("(b) registry vs raw consumer")
            with profiling(args.profile, "b", pids(sstack, "registry")):
                results["b_registry"] = await bench_registry(
                    ep, sstack, prefix, args.events, bar, pids(sstack, "registry").get("registry")
                )
            machine["loadavg_phases"]["b"] = loadavg()
        bar.update()
        if "c" in args.only:
            phase("(c) end-to-end at 50 % of (b)")
            rate = args.e2e_sustain_rate or (
                results["b_registry"]["service"]["per_second"] / 2 if "b_registry" in results else 5
            )
            results["c_e2e_sustainable"] = {
                "what": "open-loop POST → register number at 50 % of the registry's rate (b)",
                **await bench_e2e(
                    ep,
                    sstack,
                    prefix,
                    rate,
                    args.e2e_sustain_seconds,
                    args.e2e_drain,
                    bar,
                    series.setdefault("c_sustainable", []),
                    series.setdefault("c_sustainable_unfinished", []),
                ),
            }
            machine["loadavg_phases"]["c_sustainable"] = loadavg()
        bar.update()
        if "d" in args.only:
            phase("(d) evidence vs direct minio")
            results["d_evidence"] = await asyncio.to_thread(
                evidence_bench.measure,
                ep,
                args.file_mib,
                args.big_mib,
                lambda s: bar.set_postfix_str(s),
                profile=args.profile,
            )
            machine["loadavg_phases"]["d"] = loadavg()
        bar.update()
        if "e" in args.only:
            phase("(e) notifier vs raw aiosmtplib")
            with profiling(args.profile, "e", pids(sstack, "notifier")):
                results["e_notifier"] = await bench_notifier(
                    ep, prefix, args.emails, bar, pids(sstack, "notifier").get("notifier")
                )
            machine["loadavg_phases"]["e"] = loadavg()
        bar.update()
        if "x" in args.only:
            phase("(x) export memory")
            results["x_export"] = await export_bench.measure(
                ep, stack, folder, args.export_complaints
            )
            machine["loadavg_phases"]["x"] = loadavg()
        bar.update()
        # Before (c) at 50 % of (a): that one leaves a queue behind in the other stack.
        if "g" in args.only:
            phase("(g) growth")
            settings = growth_seed.Settings(
                sizes=[int(x) for x in args.growth_sizes.split(",")],
                requests=args.growth_requests,
                batch=args.growth_batch,
                post_rate=args.growth_post_rate,
                post_seconds=args.growth_post_seconds,
            )
            results["g_growth"] = await growth.measure(ep, stack, folder, settings, bar)
            machine["loadavg_phases"]["g"] = loadavg()
        bar.update()
        if "p" in args.only:
            phase("(p) pipeline vs raw pipeline")
            results["p_pipeline"] = await pipeline_bench.measure(
                ep,
                stack,
                folder,
                sstack,
                prefix,
                args.pipeline_rate,
                args.pipeline_seconds,
                args.e2e_drain,
                bar,
                series,
                profile=args.profile,  # SIPUMA's runs only: the raw ones leave it idle
            )
            machine["loadavg_phases"]["p"] = loadavg()
        bar.update()
        # Last, because what the registry cannot take stays queued behind it when this ends.
        if "c" in args.only:
            phase("(c) end-to-end at 50 % of (a)")
            rate = args.e2e_rate or (
                results["a_intake"]["service"]["per_second"] / 2 if "a_intake" in results else 20
            )
            results["c_e2e"] = {
                "what": "open-loop POST → register number at 50 % of intake's rate (a)",
                **await bench_e2e(
                    ep,
                    sstack,
                    prefix,
                    rate,
                    args.e2e_seconds,
                    args.e2e_drain,
                    bar,
                    series.setdefault("c_intake_rate", []),
                    series.setdefault("c_intake_rate_unfinished", []),
                ),
            }
            machine["loadavg_phases"]["c"] = loadavg()
        bar.update()
        phase("report")
        origin = ep.origin
    machine["loadavg_end"] = loadavg()
    finished = datetime.now(UTC)
    report = {
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "duration_s": round((finished - started).total_seconds(), 1),
        "settings": " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"
        ),
        "machine": machine,
        "endpoints": {
            "origin": origin,
            "mongo": {
                "docker": "MongoDB 8",
                "local": "PostgreSQL + DocumentDB (gateway)",
            }.get(origin, "the MongoDB-wire store of SIPUMA_TEST_MONGO_URI"),
        },
        "results": results,
        "series_points": {k: len(v) for k, v in series.items()},
    }
    await asyncio.to_thread(write_report, Path(args.out), report, series)
    bar.update()
    bar.close()
    return report


def main() -> None:
    # A stopped run (SIGTERM) still removes its processes, databases, topics and bucket.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="(a) per server")
    parser.add_argument("--concurrency", type=int, default=16, help="(a) closed-loop workers")
    # Ten polls of 200: with 400 (two polls) the first poll's start (fetch wait, the office's
    # top, cold keys) weighed on the rate: 220/s at 400 (0.62 of raw) while the same run's
    # phase g registered 5,000 at 290-310/s; the raw loop has no such start.
    parser.add_argument("--events", type=int, default=2000, help="(b) ComplaintReceived events")
    parser.add_argument("--e2e-seconds", type=float, default=10, help="(c) at 50 %% of (a): s")
    parser.add_argument("--e2e-rate", type=float, default=0, help="(c) per s; 0 = 50 %% of (a)")
    parser.add_argument("--e2e-sustain-seconds", type=float, default=20, help="(c) at (b)/2: s")
    parser.add_argument(
        "--e2e-sustain-rate", type=float, default=0, help="(c) per s; 0 = 50 %% of (b)"
    )
    parser.add_argument(
        "--e2e-drain", type=float, default=60, help="(c) s to wait for the last number"
    )
    parser.add_argument("--file-mib", type=int, default=256, help="(d) file for the ratio")
    parser.add_argument("--big-mib", type=int, default=1024, help="(d) upload for RSS growth")
    parser.add_argument("--emails", type=int, default=200, help="(e) TicketIssued events")
    parser.add_argument(
        "--growth-sizes", default="10000,50000,200000", help="(g) complaints stored, ascending"
    )
    parser.add_argument("--growth-requests", type=int, default=200, help="(g) per read, per size")
    parser.add_argument("--growth-batch", type=int, default=5000, help="(g) events for events/s")
    parser.add_argument("--growth-post-rate", type=float, default=5, help="(g) POST → number /s")
    parser.add_argument("--growth-post-seconds", type=float, default=40, help="(g) POSTs for s")
    parser.add_argument(
        "--pipeline-rate", type=float, default=400, help="(p) offered per s, above both rates"
    )
    parser.add_argument("--pipeline-seconds", type=float, default=15, help="(p) per run")
    parser.add_argument(
        "--export-complaints", type=int, default=100_000, help="(x) complaints exported"
    )
    parser.add_argument("--only", default="abcdexgp", help="subset of the measurements, e.g. ace")
    parser.add_argument("--out", default=str(DOCS), help="where the report files go")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy profiles of (b), (d), (e), (p) in bench/profiles",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to try the tool")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.events, args.e2e_seconds = 3, 100, 8
        args.file_mib, args.big_mib, args.emails = 16, 64, 30
        args.e2e_sustain_seconds, args.e2e_drain = 8, 20
        args.growth_sizes, args.growth_requests, args.growth_batch = "1000,3000", 50, 500
        args.growth_post_seconds = 5
        args.pipeline_rate, args.pipeline_seconds = 100, 5
        args.export_complaints = 3000
    # The services' event loop (`sipuma.shared.web.LOOP`) for the raw loops that run in this
    # process too ((b), (e), the load generators), so no ratio is uvloop against asyncio's.
    report = uvloop.run(run(args))
    print(Path(args.out, "benchmarks.md").read_text())
    print(json.dumps(report["results"], indent=2))
