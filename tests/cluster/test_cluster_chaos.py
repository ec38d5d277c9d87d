"""Broker faults and the scale-out on the 3-node cluster under load (issue 17, part 2), each
`SIPUMA_CHAOS_RUNS` times (1 in `make test`; `make cluster-chaos` runs 20), each run reconciled
exactly and cumulatively: every complaint answered 2xx numbered once, per-office numbers 1..N,
one e-mail and one SMS per ticket, no EvidenceStored without its object."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from sipuma.shared import topics
from tests.chaos.infra import World
from tests.chaos.load import Ledger
from tests.cluster.report import write_reports
from tests.cluster.runs import FIVE_OFFICES, RUNS, SPREAD_S, run_under_load
from tests.cluster.test_scale_out import scale_round
from tests.harness.kafka_cluster import KafkaCluster

pytestmark = [pytest.mark.chaos, pytest.mark.e2e, pytest.mark.timeout(900)]


def _kill_leader_of(
    world: World, cluster: KafkaCluster, spec: topics.TopicSpec, pause_s: float = 2.0
) -> dict[str, Any]:
    """SIGKILL the node leading partition 0 of `spec`; measure until its partitions have
    another leader, restart it after `pause_s` more, measure until every replica is in sync."""
    topic = world.topic(spec)
    leader = cluster.leader(topic, 0)
    cluster.node(leader).kill()
    moved_s = cluster.wait_leader_moved(topic, leader)
    time.sleep(pause_s)
    cluster.node(leader).start()
    in_sync_s = cluster.wait_in_sync(cluster.topics(world.prefix))
    return {"node": leader, "leader_moved_s": round(moved_s, 1), "in_sync_s": round(in_sync_s, 1)}


def kill_leader_received(world: World, cluster: KafkaCluster) -> dict[str, Any]:
    return _kill_leader_of(world, cluster, topics.COMPLAINT_RECEIVED)


def kill_broker_in_ticket_burst(world: World, cluster: KafkaCluster) -> dict[str, Any]:
    """The moment the SMS sink records a message of this run, tickets are flowing (registry
    publishing TicketIssued, notifier consuming it): SIGKILL the leader of ticket.issued then."""
    store = world.folder / "sms.jsonl"

    def size() -> int:
        return store.stat().st_size if store.exists() else 0

    seen, deadline = size(), time.monotonic() + SPREAD_S * 3
    while size() == seen and time.monotonic() < deadline:
        time.sleep(0.005)
    return _kill_leader_of(world, cluster, topics.TICKET_ISSUED)


def roll_all(world: World, cluster: KafkaCluster) -> dict[str, Any]:
    """A rolling restart as an upgrade does it: one node at a time, SIGTERM (controlled
    shutdown), start, and the next only once every replica is back in sync."""
    per_node = []
    for node in cluster.nodes:
        started = time.monotonic()
        node.stop()
        node.start()
        cluster.wait_in_sync(cluster.topics(world.prefix))
        per_node.append(round(time.monotonic() - started, 1))
    return {"node_s": per_node}


SCENARIOS: dict[str, tuple[str, Callable[[World, KafkaCluster], dict[str, Any]]]] = {
    "kill-leader-received": (
        "SIGKILL the leader of complaint.received[0], restart 2 s after the new leader",
        kill_leader_received,
    ),
    "kill-broker-ticket-burst": (
        "SIGKILL the leader of ticket.issued[0] as tickets flow, restart 2 s after",
        kill_broker_in_ticket_burst,
    ),
    "roll-brokers": (
        "Roll all three nodes one by one (SIGTERM, start, wait in sync)",
        roll_all,
    ),
}


# Run-major order (run 1 of every case, then run 2, ...): a long pass cut short still has
# about as many runs of each; the scale-out (test_scale_out.scale_round) is one of the cases.
CASES = [*SCENARIOS, "scale-out"]


@pytest.mark.parametrize(
    ("run", "case"),
    [(run, case) for run in range(1, RUNS + 1) for case in CASES],
    ids=lambda value: str(value),
)
def test_under_load(
    run: int,
    case: str,
    cluster_world: World,
    cluster: KafkaCluster,
    cluster_ledger: Ledger,
    cluster_results: dict[str, list[dict[str, Any]]],
) -> None:
    if case == "scale-out":
        result = run_under_load(
            cluster_world,
            cluster_ledger,
            lambda: scale_round(cluster_world),
            seed=hash((case, run)),
            offices=FIVE_OFFICES,
        )
        cluster_results["scale"].append({"run": run, **result})
    else:
        label, fault = SCENARIOS[case]
        result = run_under_load(
            cluster_world, cluster_ledger, lambda: fault(cluster_world, cluster), hash((case, run))
        )
        cluster_results["chaos"].append({"scenario": case, "fault": label, "run": run, **result})
    print(f"\n{case} run {run}: {result}")
    write_reports(cluster_results, cluster_world)
    assert not result["new_problems"], "\n".join(result["new_problems"])
