"""The chaos world of tests/chaos on a 3-node KRaft cluster (issue 17, part 2): topics with 3
partitions, replication factor 3 and min.insync.replicas=2. One world for the whole package;
faults and scale steps accumulate, and so does the reconciliation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.chaos.infra import World, missing_artefacts, start_world
from tests.chaos.load import Ledger
from tests.cluster.report import write_reports
from tests.harness.kafka_cluster import KafkaCluster

PARTITIONS = 3  # the most replicas a consumer group can use (docs/scaling.md)
CLUSTER_ENV = {
    "SIPUMA_TOPIC_PARTITIONS": str(PARTITIONS),
    "SIPUMA_TOPIC_REPLICATION_FACTOR": "3",
    "SIPUMA_TOPIC_MIN_INSYNC_REPLICAS": "2",
}


@pytest.fixture(scope="package")
def cluster_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    why = missing_artefacts()
    if why:
        pytest.skip(why)
    started = time.monotonic()
    folder = tmp_path_factory.mktemp("cluster-world")
    cluster = KafkaCluster(folder / "kafka")
    world = start_world(folder, broker=cluster, service_env=CLUSTER_ENV)
    world.startup_s = time.monotonic() - started
    world.started = started
    try:
        yield world
    finally:
        world.stop()


@pytest.fixture(scope="package")
def cluster(cluster_world: World) -> KafkaCluster:
    assert isinstance(cluster_world.broker, KafkaCluster)
    return cluster_world.broker


@pytest.fixture(scope="package")
def cluster_ledger() -> Ledger:
    return Ledger()


@pytest.fixture(scope="package")
def cluster_results(cluster_world: World) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Results per kind: `chaos`, `scale`, `throughput`."""
    found: dict[str, list[dict[str, Any]]] = {"chaos": [], "scale": [], "throughput": []}
    yield found
    (cluster_world.folder / "results.json").write_text(json.dumps(found, indent=2))
    write_reports(found, cluster_world)
