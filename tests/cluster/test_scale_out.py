"""Scale-out on the 3-node cluster (issue 17, part 2): `scale_round` (registry 1 → 3 replicas
and back, notifier 1 → 2 and back), run under load from five offices with the exact
reconciliation by test_cluster_chaos; and here the shape of throughput against registry replicas
(on this machine's cores: see docs/scaling.md)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from pymongo import MongoClient

from tests.chaos.infra import Proc, World, service_proc
from tests.chaos.load import Ledger, office_load, settle, wait_converged
from tests.cluster.conftest import PARTITIONS
from tests.cluster.report import write_reports
from tests.cluster.runs import FIVE_OFFICES, RUNS, SPREAD_S

pytestmark = [pytest.mark.chaos, pytest.mark.e2e, pytest.mark.timeout(RUNS * 300 + 600)]
BURST_PER_CLIENT = 6  # throughput: complaints each client sends back to back
CLIENTS_PER_OFFICE = 2


def _scale(world: World, name: str, replicas: int) -> None:
    """Start or stop (SIGTERM: a graceful scale-down) processes `name-2`... until `replicas`
    of `name` run; the first one is the world's own and stays."""
    for replica in range(2, PARTITIONS + 2):
        label = f"{name}-{replica}"
        if replica <= replicas and label not in world.services:
            proc = service_proc(world, name, world.envs[name], replica)
            world.services[label] = proc
            proc.start()
            proc.wait_ready(120)
        elif replica > replicas and label in world.services:
            world.services.pop(label).stop()


def _running(world: World, name: str) -> list[Proc]:
    return [p for label, p in world.services.items() if label.split("-")[0] == name and p.alive]


def scale_round(world: World) -> dict[str, Any]:
    """registry 1 → 2 → 3, a round of load on three, 3 → 1; notifier 1 → 2, a round, 2 → 1."""
    steps: dict[str, Any] = {}
    started = time.monotonic()
    _scale(world, "registry", 2)
    _scale(world, "registry", 3)
    steps["registry_up_s"] = round(time.monotonic() - started, 1)
    time.sleep(SPREAD_S)  # a load round handled by three replicas (the rebalance included)
    _scale(world, "registry", 1)
    started = time.monotonic()
    _scale(world, "notifier", 2)
    steps["notifier_up_s"] = round(time.monotonic() - started, 1)
    time.sleep(SPREAD_S)
    _scale(world, "notifier", 1)
    return steps


def _numbered(world: World) -> int:
    client: MongoClient[dict[str, Any]] = MongoClient(
        world.mongo_uri, serverSelectionTimeoutMS=5000
    )
    with client as mongo:
        return mongo[f"{world.db}_registry"]["register_numbers"].count_documents({})


def burst(world: World, ledger: Ledger, seed: int) -> tuple[int, float]:
    """Every client sends its complaints back to back; answers how many and the seconds from
    the first request until the registry has numbered all of them."""
    before = _numbered(world)
    accepted = len(ledger.complaints)
    clients = [
        threading.Thread(
            target=office_load,
            args=(world, ledger, office, BURST_PER_CLIENT, 0.0, seed * 100 + n * 10 + c),
            daemon=True,
        )
        for n, office in enumerate(FIVE_OFFICES)
        for c in range(CLIENTS_PER_OFFICE)
    ]
    started = time.monotonic()
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    sent = len(ledger.complaints) - accepted
    while _numbered(world) < before + sent:  # reading state, no timing assertion
        time.sleep(0.05)
    return sent, time.monotonic() - started


def test_throughput_against_registry_replicas(
    cluster_world: World,
    cluster_ledger: Ledger,
    cluster_results: dict[str, list[dict[str, Any]]],
) -> None:
    """Measured, not asserted (numbers belong in docs/scaling.md): bursts from ten clients with
    1, 2 and 3 registry replicas, then back to one; nothing lost along the way."""
    rounds = max(1, RUNS // 4)
    for round_ in range(rounds):
        for replicas in range(1, PARTITIONS + 1):
            _scale(cluster_world, "registry", replicas)
            sent, seconds = burst(cluster_world, cluster_ledger, hash(("burst", round_, replicas)))
            cluster_results["throughput"].append(
                {
                    "replicas": replicas,
                    "complaints": sent,
                    "seconds": round(seconds, 2),
                    "numbered_per_s": round(sent / seconds, 1),
                }
            )
            print(f"\nthroughput {replicas} replicas: {cluster_results['throughput'][-1]}")
    _scale(cluster_world, "registry", 1)
    write_reports(cluster_results, cluster_world)
    assert wait_converged(cluster_world, cluster_ledger, 180) >= 0
    settle(cluster_world)
