"""A private 3-node KRaft cluster (issue 17): three processes from the jars `deploy/local/infra.sh`
caches, each broker + controller, one controller quorum, topics replicated three times with
`min.insync.replicas=2` (`deploy/local/kafka/cluster.properties.in`, shared with
`deploy/local/cluster.sh`). Each node can be SIGKILLed, stopped and started again on the same
ports and data. The shared broker on 127.0.0.1:9092 is never touched."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from tests.harness.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
LIBS = Path(os.environ.get("SIPUMA_CACHE_DIR", Path.home() / ".cache/sipuma")) / "kafka-4.1.1/libs"
TEMPLATE = ROOT / "deploy/local/kafka/cluster.properties.in"
STARTED = "Kafka Server started"


def available() -> bool:
    return (LIBS / ".complete").exists() and bool(
        subprocess.run(["which", "java"], capture_output=True, check=False).stdout
    )


def _java(folder: Path, heap: str) -> list[str]:
    return [
        "java",
        f"-Xms{heap}",
        f"-Xmx{heap}",
        # Three JVMs on a small shared box: start-up (each restart in the chaos runs) is mostly
        # JIT work; C1 only and the serial collector halve the CPU it takes.
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        f"-Dlog4j2.configurationFile={ROOT / 'deploy/local/kafka/log4j2.properties'}",
        f"-Dkafka.logs.dir={folder}",
        "-cp",
        f"{LIBS}/*",
    ]


@dataclass
class Node:
    node_id: int
    folder: Path
    port: int
    controller_port: int
    heap: str = "256m"
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def log(self) -> Path:
        return self.folder / "kafka.log"

    @property
    def conf(self) -> Path:
        return self.folder / "server.properties"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _started_count(self) -> int:
        return self.log.read_text(errors="replace").count(STARTED) if self.log.exists() else 0

    def launch(self) -> int:
        """Start the process; answer how many starts its log showed before (see `wait_started`)."""
        before = self._started_count()
        self.proc = subprocess.Popen(
            [*_java(self.folder, self.heap), "kafka.Kafka", str(self.conf)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1
        return before

    def wait_started(self, before: int, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while self._started_count() <= before:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"kafka node {self.node_id} exited: {self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"kafka node {self.node_id} not started: {self.tail()}")
            time.sleep(0.2)

    def start(self) -> None:
        self.wait_started(self.launch())

    def kill(self) -> None:
        """SIGKILL, no goodbye (no controlled shutdown: the controller finds out by the missed
        heartbeats, after `broker.session.timeout.ms`)."""
        if self.alive:
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        """SIGTERM: a controlled shutdown (leaderships are moved away first)."""
        if self.alive:
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@dataclass
class KafkaCluster:
    folder: Path
    size: int = 3
    nodes: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.nodes:
            self.nodes = [
                Node(n, self.folder / f"node{n}", free_port(), free_port())
                for n in range(1, self.size + 1)
            ]
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        template = TEMPLATE.read_text()
        cluster_id = ""
        for node in self.nodes:
            node.folder.mkdir(parents=True, exist_ok=True)
            node.conf.write_text(
                template.replace("@NODE@", str(node.node_id))
                .replace("@VOTERS@", voters)
                .replace("@DATA@", str(node.folder / "data"))
                .replace("@PORT@", str(node.port))
                .replace("@CPORT@", str(node.controller_port))
            )
            if (node.folder / "data/meta.properties").exists():
                continue
            java = _java(node.folder, "128m")
            if not cluster_id:
                cluster_id = subprocess.run(
                    [*java, "kafka.tools.StorageTool", "random-uuid"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.strip()
            format_ = ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(node.conf)]
            subprocess.run(
                [*java, *format_],
                capture_output=True,
                check=True,
            )

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def node(self, node_id: int) -> Node:
        return next(n for n in self.nodes if n.node_id == node_id)

    def start(self) -> None:
        """All nodes at once: a controller quorum needs a majority before anyone is ready."""
        before = {n.node_id: n.launch() for n in self.nodes if not n.alive}
        for node_id, count in before.items():
            self.node(node_id).wait_started(count)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()

    # ------------------------------------------------------------- what the cluster says

    def describe(self, topics: list[str]) -> list[dict[str, Any]]:
        """Per partition of `topics`: topic, partition, leader, replicas, isr (-1: no leader)."""

        async def run() -> list[dict[str, Any]]:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.live_bootstrap(), request_timeout_ms=5000
            )
            await admin.start()
            try:
                described = await admin.describe_topics(topics)
            finally:
                await admin.close()
            return [
                {
                    "topic": t["topic"],
                    "partition": p["partition"],
                    "leader": p["leader"],
                    "replicas": list(p["replicas"]),
                    "isr": list(p["isr"]),
                }
                for t in described
                for p in t["partitions"]
            ]

        return asyncio.run(run())

    def topics(self, prefix: str) -> list[str]:
        """The topics named `prefix`..., and the group offsets (their replicas matter too)."""

        async def run() -> list[str]:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.live_bootstrap(), request_timeout_ms=5000
            )
            await admin.start()
            try:
                names = await admin.list_topics()
            finally:
                await admin.close()
            return sorted(n for n in names if n.startswith(prefix) or n == "__consumer_offsets")

        return asyncio.run(run())

    def live_bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes if n.alive) or self.bootstrap

    def leader(self, topic: str, partition: int = 0) -> int:
        for p in self.describe([topic]):
            if p["partition"] == partition:
                return int(p["leader"])
        raise LookupError(f"{topic}[{partition}] not found")

    def wait_leader_moved(self, topic: str, away_from: int, timeout_s: float = 60) -> float:
        """Seconds until every partition of `topic` has a leader other than `away_from`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            try:
                parts = self.describe([topic])
            except Exception:  # the admin's bootstrap node may be the dead one: ask again
                parts = []
            if parts and all(p["leader"] not in (-1, away_from) for p in parts):
                return time.monotonic() - started
            time.sleep(0.2)
        raise TimeoutError(f"{topic}: leadership did not leave node {away_from}")

    def wait_in_sync(self, topics: list[str], timeout_s: float = 120) -> float:
        """Seconds until every partition of `topics` has all its replicas in sync again."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            try:
                parts = self.describe(topics)
            except Exception:
                parts = []
            if parts and all(sorted(p["isr"]) == sorted(p["replicas"]) for p in parts):
                return time.monotonic() - started
            time.sleep(0.5)
        raise TimeoutError(f"replicas of {topics} not back in sync")
