"""Run `sipuma-registry` as a real process (the console script), on its own port and topics."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from sipuma.registry.store import Store
from tests.harness.endpoints import Endpoints
from tests.harness.ports import free_port
from tests.harness.state import eventually_sync


@dataclass(frozen=True)
class Isolated:
    """A process test's own topic prefix (hence consumer group) and database."""

    prefix: str
    database: str

    @classmethod
    def named(cls, unique_name: Callable[[str], str], label: str) -> Isolated:
        return cls(unique_name(label) + ".", unique_name(label).replace("-", "_"))

    def env(self, endpoints: Endpoints, **extra: str) -> dict[str, str]:
        return registry_env(endpoints, self.prefix, self.database, **extra)

    async def drop(self, endpoints: Endpoints) -> None:
        store = Store.connect(endpoints.mongo_uri, self.database)
        try:
            await store.client.drop_database(self.database)
        finally:
            await store.close()


def registry_env(endpoints: Endpoints, prefix: str, database: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIPUMA_")}
    env.update(endpoints.as_env())
    env.update(
        {
            "SIPUMA_TOPIC_PREFIX": prefix,
            "SIPUMA_MONGO_DATABASE": database,
            "SIPUMA_TOPIC_PARTITIONS": "6",
            "SIPUMA_LOG_FORMAT": "json",
            "SIPUMA_LOG_LEVEL": "WARNING",
            "SIPUMA_OUTBOX_INTERVAL_SECONDS": "0.5",
            "SIPUMA_CONSUMER_RETRY_INITIAL_SECONDS": "0.2",
            "SIPUMA_CONSUMER_RETRY_MAX_SECONDS": "2",
            "SIPUMA_SHUTDOWN_GRACE_SECONDS": "10",
        }
    )
    env.update(extra)
    return env


class RegistryProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.env = {**env, "SIPUMA_HTTP_PORT": str(self.port)}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RegistryProcess:
        out = self.log.open("ab")
        script = shutil.which("sipuma-registry") or str(
            Path(sys.executable).with_name("sipuma-registry")
        )
        self.proc = subprocess.Popen([script], env=self.env, stdout=out, stderr=out)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            # A process that died fails at once (not retried); its log is added below.
            assert self.proc is not None and self.proc.poll() is None, "registry exited"
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200

        try:
            eventually_sync("registry ready", ready, timeout, retry_on=(httpx.HTTPError,))
        except AssertionError as refused:
            raise AssertionError(f"{refused}\nlog:\n{self.log.read_text()[-3000:]}") from None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
