"""The five measurements (a–e), each next to its raw baseline in the same run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient
from tqdm import tqdm

from bench.common import (
    PARTITIONS,
    Watcher,
    complainant,
    ms,
    pct,
    produce,
    received_events,
    ticket_events,
)
from bench.intake_bench import load, start_bare, start_intake
from bench.machine import machine_cpu, per_unit_ms
from services.intake.tests.support import complaint
from sipuma.shared import events as ev
from sipuma.shared import topics
from sipuma.shared.topic_admin import ensure_topics
from tests.e2e.stack import Stack
from tests.harness.endpoints import Endpoints

# ---------------------------------------------------------------- the five measurements


async def bench_intake(
    ep: Endpoints, stack: ExitStack, folder: Path, args: argparse.Namespace, series: dict[str, Any]
) -> dict[str, Any]:
    prefix = f"bench-a-{uuid.uuid4().hex[:8]}"
    await ensure_topics(ep.kafka_bootstrap, [f"{prefix}.{topics.COMPLAINT_RECEIVED.name}"])
    bare = start_bare(stack, folder)
    intake = start_intake(stack, folder, ep.kafka_bootstrap, prefix, 0.0)
    bare_samples: list[tuple[float, float]] = []
    intake_samples: list[tuple[float, float]] = []
    floor = await load(bare, args.seconds, args.concurrency, 201, samples=bare_samples)
    run = await load(intake, args.seconds, args.concurrency, 202, samples=intake_samples)
    series["a_bare"], series["a_intake"] = bare_samples, intake_samples
    return {
        "what": "POST /v1/complaints, closed loop, same JSON body",
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "baseline": floor,
        "service": run,
        "ratio": round(run["per_second"] / floor["per_second"], 3),
    }


async def bench_registry(
    ep: Endpoints, sstack: Stack, prefix: str, n: int, bar: tqdm, pid: int | None = None
) -> Any:
    db = f"bench_raw_{uuid.uuid4().hex[:8]}"
    # 1. the real registry process of the stack
    events = received_events(n)
    ids = {str(e.complaint_id) for e in events}
    watcher = Watcher(ep.kafka_bootstrap, prefix + topics.COMPLAINT_REGISTERED.name)
    service_machine: dict[str, float] = {}
    raw_machine: dict[str, float] = {}
    async with watcher.running():
        # Every service of the stack by name. Intake, evidence and the notifier read what the
        # registry publishes; on the same two cores they took ~1 CPU ms per event from it (in
        # production they run elsewhere, and the raw loop has no readers): they are paused
        # while the registry is measured and catch up after.
        services = {s.proc.pid: name for name, s in sstack.services.items() if s.proc is not None}
        readers = [p for p, name in services.items() if p != pid]
        with paused(readers), machine_cpu(services, service_machine):
            began, cpu_began = time.perf_counter(), cpu_seconds(pid)
            await produce(ep.kafka_bootstrap, prefix + topics.COMPLAINT_RECEIVED.name, events)
            ended = await watcher.wait_for(
                ids, 600, lambda k: bar.set_postfix_str(f"registered {k}/{n}")
            )
    # CPU per event barely depends on the machine's load (events/s does): versions compare on it.
    cpu_used = cpu_seconds(pid) - cpu_began
    done = len(ids & watcher.seen.keys())
    service_s = (ended or time.perf_counter()) - began

    # 2. raw: aiokafka consumer + one PyMongo async insert per event, commit after each batch
    raw_topic = f"bench-raw-{uuid.uuid4().hex[:8]}.complaint-received"
    await ensure_topics(ep.kafka_bootstrap, [raw_topic], partitions=PARTITIONS)
    raw_events = received_events(n)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(ep.mongo_uri)
    collection = mongo[db]["complaints"]
    consumer = AIOKafkaConsumer(
        raw_topic,
        bootstrap_servers=ep.kafka_bootstrap,
        group_id=db,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    inserted = 0
    try:
        with machine_cpu({}, raw_machine):
            began_raw = time.perf_counter()
            await produce(ep.kafka_bootstrap, raw_topic, raw_events)
            raw_cpu_began = time.process_time()  # the loop's own CPU (this process), no produce
            deadline = began_raw + 600
            while inserted < n and time.perf_counter() < deadline:
                batches = await consumer.getmany(timeout_ms=100)
                for records in batches.values():
                    for record in records:
                        doc = json.loads(record.value)
                        doc["_id"] = doc["complaint_id"]
                        await collection.insert_one(doc)
                        inserted += 1
                if batches:
                    await consumer.commit()
                    bar.set_postfix_str(f"raw inserted {inserted}/{n}")
            raw_s = time.perf_counter() - began_raw
            raw_cpu = time.process_time() - raw_cpu_began
    finally:
        await consumer.stop()
        await mongo.drop_database(db)
        await mongo.close()
    return {
        "what": f"{n} ComplaintReceived produced at once; time until all registered / inserted",
        "events": n,
        "service": {
            "registered": done,
            "seconds": round(service_s, 2),
            "per_second": round(done / service_s, 1),
            "cpu_ms_per_event": round(cpu_used * 1000 / max(done, 1), 2) if pid else None,
            # The whole machine's CPU per event while it ran, by process group (bench/machine.py)
            "machine_cpu_ms_per_event": per_unit_ms(service_machine, done),
            "cores_busy": round(service_machine.get("machine", 0.0) / service_s, 2),
        },
        "baseline": {
            "inserted": inserted,
            "seconds": round(raw_s, 2),
            "per_second": round(inserted / raw_s, 1),
            "cpu_ms_per_event": round(raw_cpu * 1000 / max(inserted, 1), 2),
            "machine_cpu_ms_per_event": per_unit_ms(raw_machine, inserted),
            "cores_busy": round(raw_machine.get("machine", 0.0) / raw_s, 2),
        },
        "ratio": round((done / service_s) / (inserted / raw_s), 3),
    }


# bench_e2e's HTTP clients: 16 pools of 32 connections, 512 requests in flight at most.
CLIENTS, CLIENT_CONNECTIONS = 16, 32


async def bench_e2e(
    ep: Endpoints,
    sstack: Stack,
    prefix: str,
    rate: float,
    seconds: float,
    drain_s: float,
    bar: tqdm,
    series: list[tuple[float, float]],
    unfinished: list[tuple[float, float]],
) -> dict[str, Any]:
    """Open loop at `rate` for `seconds`, then wait up to `drain_s` for the last number. A
    complaint still unregistered then counts as slower than the cut-off in the percentiles."""
    headers = {"Authorization": f"Bearer {sstack.token()}"}
    bodies = (complaint(complainant=complainant(i)) for i in itertools.count())
    body = complaint()
    sent: dict[str, float] = {}  # complaint id → send time
    answered: dict[str, float] = {}  # complaint id → answer time, when it carried the number
    statuses: dict[int, int] = {}
    failures = 0
    failure_types: dict[str, int] = {}  # e.g. a read timeout, or a keep-alive connection closed
    total = int(rate * seconds)
    watcher = Watcher(ep.kafka_bootstrap, prefix + topics.COMPLAINT_REGISTERED.name)
    # The load generator shares the two cores with what it measures, so it must cost little.
    # httpcore checks every connection of its pool (`has_expired`: a socket poll each) whenever
    # a request is assigned or done: one pool of 512 connections cost the bench process 10-17
    # CPU ms per complaint at saturation, more than the services it loads (and more for the
    # slower side, which keeps more connections busy). Pools of 32 scan 16x fewer.
    limits = httpx.Limits(max_connections=CLIENT_CONNECTIONS, max_keepalive_connections=32)
    async with contextlib.AsyncExitStack() as clients:
        await clients.enter_async_context(watcher.running())
        pool = [
            await clients.enter_async_context(
                httpx.AsyncClient(base_url=sstack.url("intake"), limits=limits, timeout=60)
            )
            for _ in range(CLIENTS)
        ]
        turns = itertools.cycle(pool)
        for _ in range(10):  # warm-up (connections, topic metadata); not counted
            await pool[0].post("/v1/complaints", json=body, headers=headers)

        # httpx's pool scans every waiting request per assignment: thousands in flight (an
        # offered rate far above what the stack takes) made the client itself the bottleneck.
        # Requests beyond the pools' size wait here instead; their latency still counts from
        # the moment they were due (an open loop).
        in_flight = asyncio.Semaphore(CLIENTS * CLIENT_CONNECTIONS)

        async def one() -> None:
            nonlocal failures
            started = time.perf_counter()
            client = next(turns)
            try:
                async with in_flight:
                    answer = await client.post("/v1/complaints", json=next(bodies), headers=headers)
            except httpx.HTTPError as error:
                failures += 1
                kind = type(error).__name__
                failure_types[kind] = failure_types.get(kind, 0) + 1
                return
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            if answer.status_code in (201, 202):
                data = answer.json()
                sent[data["complaint_id"]] = started
                if data.get("register_number"):
                    answered[data["complaint_id"]] = time.perf_counter()

        began = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
            if i % 50 == 0:
                bar.set_postfix_str(f"sent {i}/{total}")
        offered_s = time.perf_counter() - began
        await asyncio.gather(*tasks)
        last = await watcher.wait_for(
            set(sent), drain_s, lambda k: bar.set_postfix_str(f"registered {k}/{len(sent)}")
        )
    done_at = {
        cid: min(t for t in (answered.get(cid), watcher.seen.get(cid)) if t is not None)
        for cid in sent
        if cid in answered or cid in watcher.seen
    }
    latencies = {cid: done_at[cid] - sent[cid] for cid in done_at}
    series.extend(sorted((sent[c] - began, lat) for c, lat in latencies.items()))
    values = list(latencies.values())
    cutoff = time.perf_counter()
    missing = [cutoff - sent[c] for c in sent if c not in done_at]  # lower bounds
    unfinished.extend(sorted((sent[c] - began, cutoff - sent[c]) for c in sent if c not in done_at))
    censored = values + missing

    def quantile(q: float) -> str | float | None:
        if not censored:
            return None
        value = pct(censored, q)
        return ms(value) if value in values else f"> {ms(value)}"

    finished = (last or max(done_at.values(), default=began)) - began
    return {
        "offered_per_second": round(rate, 1),
        "offered_achieved_per_second": round(total / offered_s, 1),
        "seconds": seconds,
        "drain_cutoff_s": drain_s,
        "requests": total,
        "http_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "transport_errors": failures,
        "transport_error_types": failure_types,
        "registered": len(done_at),
        "unregistered_at_cutoff": len(missing),
        "answered_with_number": len(answered),
        "sustained_per_second": round(len(done_at) / finished, 1) if finished > 0 else None,
        "p50_ms": quantile(0.5),
        "p99_ms": quantile(0.99),
        "max_ms": quantile(1.0),
    }


@contextlib.contextmanager
def paused(pids: list[int]) -> Iterator[None]:
    """The processes stopped (SIGSTOP) while the block runs, continued after, whatever happens.
    Their Kafka consumers resume where they were (a stop longer than a session timeout costs a
    rebalance, nothing else)."""
    stopped = []
    try:
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        yield
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat), 0 without a pid."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# A socket send, a receive, a wait for either: asyncio's selector loop calls sendto, recvfrom
# and epoll_wait; uvloop (libuv), which the services run on, calls write/writev, read and
# epoll_pwait for the same (write also counts the service's own log lines to stdout).
SYSCALLS = (
    "sendto",
    "write",
    "writev",
    "recvfrom",
    "read",
    "epoll_wait",
    "epoll_pwait",
)


@contextlib.contextmanager
def syscall_counts(
    pid: int | None, counts: dict[str, int], names: tuple[str, ...] = SYSCALLS
) -> Iterator[None]:
    """Fill `counts` with the system calls `pid` made while the block ran (`perf stat` on the
    kernel's syscall tracepoints): counts that the load on the machine does not change, unlike
    times. Nothing when there is no pid or no perf (or no permission: then perf says so in its
    output and the counts stay empty)."""
    perf = shutil.which("perf")
    if pid is None or perf is None:
        yield
        return
    with tempfile.NamedTemporaryFile("r", suffix=".csv") as out:
        events = ",".join(f"syscalls:sys_enter_{name}" for name in names)
        command = [perf, "stat", "-x", ",", "-e", events, "-p", str(pid), "-o", out.name]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield
        finally:
            proc.send_signal(signal.SIGINT)  # perf writes its counts on SIGINT
            proc.wait(30)
        for line in out.read().splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[0].isdigit():
                counts[fields[2].rsplit("sys_enter_", 1)[-1]] = int(fields[0])


async def bench_notifier(
    ep: Endpoints, prefix: str, n: int, bar: tqdm, pid: int | None = None
) -> dict[str, Any]:
    """(e); with the notifier's `pid`, also its CPU time per e-mail (steadier than a rate when
    other work shares the machine)."""
    run = uuid.uuid4().hex[:8]
    tickets: list[ev.Event] = list(ticket_events(n, f"bench-{run}"))
    ids = {str(t.complaint_id) for t in tickets}
    watcher = Watcher(ep.kafka_bootstrap, prefix + topics.NOTIFICATION_SENT.name)
    calls: dict[str, int] = {}
    async with watcher.running():
        with syscall_counts(pid, calls):
            began, cpu_began = time.perf_counter(), cpu_seconds(pid)
            await produce(ep.kafka_bootstrap, prefix + topics.TICKET_ISSUED.name, tickets)
            ended = await watcher.wait_for(
                ids, 600, lambda k: bar.set_postfix_str(f"e-mails sent {k}/{n}")
            )
    arrived = ids & watcher.seen.keys()
    done = len(arrived)
    service_s = (ended or time.perf_counter()) - began
    cpu_used = cpu_seconds(pid) - cpu_began

    def raw_mail(i: int, kind: str) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = "sipuma@beacukai.go.id"
        mail["To"] = f"bench-{kind}-{run}-{i}@example.com"
        mail["Subject"] = f"Nomor tiket pengaduan {i}"
        mail.set_content("Nomor tiket Anda: ABCD-EF01-2345-6789.\n" * 10)
        return mail

    # raw: aiosmtplib, a connection per message, one at a time (the ratio's denominator)
    began_raw = time.perf_counter()
    for i in range(n):
        await aiosmtplib.send(raw_mail(i, "raw"), hostname=ep.smtp_host, port=ep.smtp_port)
        if i % 20 == 0:
            bar.set_postfix_str(f"raw e-mails {i}/{n}")
    raw_s = time.perf_counter() - began_raw
    # and one kept connection, as the notifier's pool keeps them (for comparison only)
    began_kept = time.perf_counter()
    async with aiosmtplib.SMTP(hostname=ep.smtp_host, port=ep.smtp_port) as smtp:
        for i in range(n):
            await smtp.send_message(raw_mail(i, "kept"))
    kept_s = time.perf_counter() - began_kept
    return {
        "what": f"{n} TicketIssued (e-mail only) → NotificationSent; raw: aiosmtplib.send x {n}",
        "events": n,
        "service": {
            "sent": done,
            "seconds": round(service_s, 2),
            "per_second": round(done / service_s, 1),
            "cpu_ms_per_email": round(1000 * cpu_used / done, 2) if pid and done else None,
            # the first NotificationSent after the produce began: the latency every run pays
            # once (poll, first claims, connections), a larger share of a short run
            "first_after_s": round(min(watcher.seen[i] for i in arrived) - began, 2)
            if arrived
            else None,
            # its socket sends, receives and waits (store, SMTP, Kafka): counts, not times
            **{
                f"{name}_per_email": round(count / done, 2) for name, count in calls.items() if done
            },
        },
        "baseline": {"sent": n, "seconds": round(raw_s, 2), "per_second": round(n / raw_s, 1)},
        "ratio": round((done / service_s) / (n / raw_s), 3),
        "baseline_kept_connection": {
            "sent": n,
            "seconds": round(kept_s, 2),
            "per_second": round(n / kept_s, 1),
        },
        "ratio_to_kept_connection": round((done / service_s) / (n / kept_s), 3),
    }
