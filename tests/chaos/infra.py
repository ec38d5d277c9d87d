"""A private SIPUMA world for fault injection: its own Kafka broker, store (PostgreSQL 15 +
DocumentDB + its gateway, TLS + SCRAM, through `deploy/local/documentdb/store.sh`), MinIO, SMTP
sink and SMS-gateway sink on free ports (from the artefacts `deploy/local/infra.sh` builds and
caches), and the four services as real processes against them. Every piece can be SIGKILLed,
stopped and started again on the same port and data folder. The shared servers on 127.0.0.1
(Kafka 9092, store 27017 + PostgreSQL 5433, MinIO 9000, SMTP 1025, SMS 8026) are never touched:
other tests use them."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import httpx

from services.intake.tests.kafka_process import ThrowawayKafka
from services.intake.tests.kafka_process import available as kafka_available
from sipuma.shared import topics
from sipuma.shared.auth import Role, mint_token
from tests.e2e.stack import _die_with_parent
from tests.harness.endpoints import ROOT
from tests.harness.ports import free_port

CACHE = Path(os.environ.get("SIPUMA_CACHE_DIR", Path.home() / ".cache/sipuma"))
STORE_SH = ROOT / "deploy/local/documentdb/store.sh"
SECRET = "chaos-token-secret-0123456789abcdef0123"
S3_KEY, S3_SECRET = "chaos-user", "chaos-secret-0123456789"
OFFICES = ("KPUBC-TPK-TJPRIOK", "KPPBC-TMP-NGURAHRAI", "KPPBC-TMP-MAKASSAR")  # WIB, WITA, WITA


def minio_binary() -> Path | None:
    found = sorted((CACHE / "bin").glob("minio-*"))
    return found[-1] if found else None


def missing_artefacts() -> str | None:
    if not kafka_available():
        return "Kafka jars not cached (run deploy/local/infra.sh up once)"
    store = subprocess.run(
        ["bash", str(STORE_SH), "check"], capture_output=True, text=True, check=False
    )
    if store.returncode != 0:
        missing = "; ".join(store.stdout.split("\n")).strip("; ")
        return f"store not built ({missing}; run deploy/local/infra.sh up once)"
    if minio_binary() is None:
        return "MinIO binary missing"
    if not Path(sys.executable).with_name("sipuma-intake").exists():
        return "console scripts missing"
    return None


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
    except OSError:
        return False
    return True


@dataclass
class Proc:
    """One process we own, restartable with the same command (same port, same data)."""

    name: str
    command: list[str]
    log: Path
    port: int
    env: dict[str, str] | None = None
    ready_path: str | None = None  # HTTP path answering 200 when ready; else the port
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.starts += 1

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-3000:]}")
            if self.ready_path is None:
                if port_open(self.port):
                    return
            else:
                try:
                    if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL, no goodbye."""
        if self.alive:
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive:
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.start()
        self.wait_ready()


class Store:
    """The private store through `deploy/local/documentdb/store.sh`: PostgreSQL (own cluster, own
    port) and the gateway (own port, own TLS material and users). `stop` is the gateway's graceful
    shutdown plus `pg_ctl stop -m fast`; `kill` is SIGKILL to both (crash recovery at restart);
    `restart` returns once an authenticated TLS ping answers.

    Its folder is a fresh `tempfile.mkdtemp()`, not the world's: when the tests run as root,
    PostgreSQL runs as the unprivileged `postgres` user, which cannot enter pytest's private
    temporary root (mode 0700, reset by pytest at every run). The logs are copied into the world's
    folder when the world stops."""

    name = "store"

    def __init__(self, world_folder: Path) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="sipuma-chaos-store-"))
        self.world_folder = world_folder
        self.port = free_port()
        self.pg_port = free_port()
        self.log = self.home / "logs/store-gateway.log"
        self.starts = 0
        self._env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SIPUMA_")},
            "SIPUMA_CACHE_DIR": str(CACHE),
            "SIPUMA_STORE_DATA": str(self.home / "data"),
            "SIPUMA_STORE_HOME": str(self.home),
            "SIPUMA_STORE_LOGS": str(self.home / "logs"),
            "SIPUMA_STORE_PORT": str(self.port),
            "SIPUMA_STORE_PG_PORT": str(self.pg_port),
            "SIPUMA_STORE_PYTHON": sys.executable,
        }
        atexit.register(self.remove)  # also when the test process ends without World.stop()

    def uri(self, user: str) -> str:
        """`registry`, `evidence`, `notifier` (read-write), `test`, `readonly`."""
        return (self.home / "uri" / user).read_text().strip()

    def _run(self, command: str, timeout: float = 180) -> None:
        done = subprocess.run(
            ["bash", str(STORE_SH), command],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        with (self.world_folder / "store.sh.log").open("a") as out:
            out.write(f"$ store.sh {command} -> {done.returncode}\n{done.stderr}{done.stdout}")
        if done.returncode != 0:
            raise RuntimeError(f"store.sh {command} failed: {done.stderr[-3000:]}")

    def start(self) -> None:
        self._run("start")
        self.starts += 1

    def wait_ready(self, timeout: float = 90) -> None:
        self._run("ping", timeout)

    def restart(self) -> None:
        self.start()  # returns once an authenticated TLS ping answers

    def stop(self) -> None:
        self._run("stop")

    def kill(self) -> None:
        """SIGKILL the gateway and the postmaster, no goodbye."""
        self._run("kill")

    def remove(self) -> None:
        """Stop, keep the logs beside the world's others, delete the cluster."""
        if not self.home.exists():
            return
        try:
            self._run("stop")
        finally:
            for log in (self.home / "logs").glob("*.log"):
                if self.world_folder.exists():
                    shutil.copy(log, self.world_folder / log.name)
            shutil.rmtree(self.home, ignore_errors=True)


class Broker:
    """The throwaway Kafka with a SIGKILL."""

    def __init__(self, folder: Path) -> None:
        self.kafka = ThrowawayKafka(folder)
        self.bootstrap = self.kafka.bootstrap
        self.log = self.kafka.log

    def start(self) -> None:
        self.kafka.start()

    def kill(self) -> None:
        proc = self.kafka._proc
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        self.kafka._proc = None

    def stop(self) -> None:
        self.kafka.stop()


class Brokers(Protocol):
    """What the world needs of its Kafka: one broker (`Broker`) or a cluster (tests/cluster)."""

    @property
    def bootstrap(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def kill(self) -> None: ...


@dataclass
class World:
    folder: Path
    prefix: str
    broker: Brokers
    store: Store
    infra: dict[str, Proc] = field(default_factory=dict)
    services: dict[str, Proc] = field(default_factory=dict)
    db: str = "chaos"
    bucket: str = "chaos-evidence"
    envs: dict[str, dict[str, str]] = field(default_factory=dict)  # per service: its environment
    started: float = 0.0  # time.monotonic() when the world began starting
    startup_s: float = 0.0  # how long starting it took

    @property
    def mongo_uri(self) -> str:
        """The reconciliation's view: the store's read-only user (readAnyDatabase)."""
        return self.store.uri("readonly")

    @property
    def s3_endpoint(self) -> str:
        return f"127.0.0.1:{self.infra['minio'].port}"

    def token(self, office: str) -> str:
        return mint_token(SECRET, "198001012005011001", office, (Role.RECEIVER,))

    def topic(self, spec: topics.TopicSpec) -> str:
        return self.prefix + spec.name

    def component(self, name: str) -> Proc | Store:
        if name == "store":
            return self.store
        return self.services.get(name) or self.infra[name]

    def stop(self) -> None:
        for proc in reversed(list(self.services.values())):
            proc.stop()
        for proc in reversed(list(self.infra.values())):
            proc.stop()
        self.store.remove()
        self.broker.stop()


def _service_env(world: World, overrides: dict[str, str]) -> dict[str, dict[str, str]]:
    prefix = world.prefix
    base = {k: v for k, v in os.environ.items() if not k.startswith("SIPUMA_")}
    base.update(
        {
            "SIPUMA_KAFKA_BOOTSTRAP": world.broker.bootstrap,
            "SIPUMA_S3_ENDPOINT": world.s3_endpoint,
            "SIPUMA_S3_ACCESS_KEY": S3_KEY,
            "SIPUMA_S3_SECRET_KEY": S3_SECRET,
            "SIPUMA_SMTP_HOST": "127.0.0.1",
            "SIPUMA_SMTP_PORT": str(world.infra["smtp"].port),
            "SIPUMA_SMS_GATEWAY_URL": f"{world.infra['sms'].url}/sms",
            "SIPUMA_ENVIRONMENT": "development",
            "SIPUMA_TOKEN_SECRET": SECRET,
            "SIPUMA_LOG_FORMAT": "json",
            "SIPUMA_LOG_LEVEL": "INFO",
            "SIPUMA_TOPIC_PARTITIONS": "2",
            "SIPUMA_CONSUMER_RETRY_INITIAL_SECONDS": "0.2",
            "SIPUMA_CONSUMER_RETRY_MAX_SECONDS": "2",
            "SIPUMA_CONSUMER_SESSION_TIMEOUT_MS": "6000",
            "SIPUMA_CONSUMER_HEARTBEAT_INTERVAL_MS": "1000",
            "SIPUMA_SHUTDOWN_GRACE_SECONDS": "5",
            "PYTHONPATH": str(ROOT),
            **overrides,
        }
    )
    return {
        "registry": {
            **base,
            "SIPUMA_MONGO_URI": world.store.uri("registry"),
            "SIPUMA_TOPIC_PREFIX": prefix,
            "SIPUMA_MONGO_DATABASE": f"{world.db}_registry",
            "SIPUMA_CONSUMER_GROUP": "chaos-registry",
            "SIPUMA_OUTBOX_INTERVAL_SECONDS": "0.5",
        },
        "evidence": {
            **base,
            "SIPUMA_MONGO_URI": world.store.uri("evidence"),
            "SIPUMA_MONGO_DATABASE": f"{world.db}_evidence",
            "SIPUMA_BUCKET": world.bucket,
            "SIPUMA_CONSUMER_GROUP": "chaos-evidence",
            "SIPUMA_TOPIC_PREFIX": prefix,
            "SIPUMA_OUTBOX_INTERVAL_S": "0.5",
            "SIPUMA_COMPLAINT_WAIT_S": "10",
        },
        "notifier": {
            **base,
            "SIPUMA_MONGO_URI": world.store.uri("notifier"),
            "SIPUMA_TOPIC_PREFIX": prefix,
            "SIPUMA_MONGO_DATABASE": f"{world.db}_notifier",
            "SIPUMA_CONSUMER_GROUP": "chaos-notifier",
            "SIPUMA_DISPATCH_INTERVAL_SECONDS": "0.5",
            "SIPUMA_RETRY_BASE_SECONDS": "0.5",
            "SIPUMA_RETRY_MAX_SECONDS": "4",
            "SIPUMA_RETRY_MAX_ATTEMPTS": "40",  # outlasts every outage scripted here
            "SIPUMA_LEASE_SECONDS": "8",
            "SIPUMA_SMS_RATE_PER_SECOND": "100",
            "SIPUMA_EMAIL_RATE_PER_SECOND": "100",
            "SIPUMA_SMTP_TIMEOUT_SECONDS": "5",
            "SIPUMA_SMS_TIMEOUT_SECONDS": "5",
        },
        "intake": {
            **base,
            "SIPUMA_STATE_DIR": str(world.folder / "intake-state"),
            "SIPUMA_REGISTER_WAIT_S": "2",
            "SIPUMA_TOPIC_PREFIX": prefix,
        },
    }


def service_proc(world: World, name: str, env: dict[str, str], replica: int = 1) -> Proc:
    """One service process; replica > 1 is another process of the same service (same group,
    same database), on its own port."""
    port = free_port()
    label = name if replica == 1 else f"{name}-{replica}"
    return Proc(
        label,
        [str(Path(sys.executable).with_name(f"sipuma-{name}"))],
        world.folder / f"{label}.log",
        port,
        env={**env, "SIPUMA_HTTP_PORT": str(port)},
        ready_path="/readyz",
    )


def start_world(
    folder: Path, broker: Brokers | None = None, service_env: dict[str, str] | None = None
) -> World:
    """The private world; `broker` (default: one throwaway broker) and `service_env` (settings
    for all four services, over the chaos defaults) let tests/cluster put it on three brokers."""
    folder.mkdir(parents=True, exist_ok=True)
    python = str(Path(sys.executable))
    broker = broker or Broker(folder / "kafka")
    world = World(folder=folder, prefix="sipuma.chaos.", broker=broker, store=Store(folder))
    minio_port, smtp_port, mail_api, sms_port = (free_port() for _ in range(4))
    (folder / "minio").mkdir(exist_ok=True)
    (folder / "mail").mkdir(exist_ok=True)
    minio_env = {
        **os.environ,
        "MINIO_ROOT_USER": S3_KEY,
        "MINIO_ROOT_PASSWORD": S3_SECRET,
        "MINIO_BROWSER": "off",
    }
    world.infra = {
        "minio": Proc(
            "minio",
            [
                str(minio_binary()),
                "server",
                "--quiet",
                "--address",
                f"127.0.0.1:{minio_port}",
                "--console-address",
                f"127.0.0.1:{free_port()}",
                str(folder / "minio"),
            ],
            folder / "minio.log",
            minio_port,
            env=minio_env,
            ready_path="/minio/health/ready",
        ),
        "smtp": Proc(
            "smtp",
            [
                python,
                str(ROOT / "deploy/local/mailsink.py"),
                "--smtp-port",
                str(smtp_port),
                "--http-port",
                str(mail_api),
                "--maildir",
                str(folder / "mail"),
            ],
            folder / "mailsink.log",
            smtp_port,
        ),
        "sms": Proc(
            "sms",
            [
                python,
                str(ROOT / "deploy/local/smssink.py"),
                "--port",
                str(sms_port),
                "--store",
                str(folder / "sms.jsonl"),
            ],
            folder / "smssink.log",
            sms_port,
        ),
    }
    try:
        broker.start()
        for proc in world.infra.values():
            proc.start()
        world.store.start()  # synchronous: returns once an authenticated TLS ping answers
        for proc in world.infra.values():
            proc.wait_ready()
        world.envs = _service_env(world, service_env or {})
        for name in ("registry", "evidence", "notifier", "intake"):
            world.services[name] = service_proc(world, name, world.envs[name])
        for proc in world.services.values():
            proc.start()
        for proc in world.services.values():
            proc.wait_ready(120)
    except Exception:
        world.stop()
        raise
    return world
