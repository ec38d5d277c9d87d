"""A throwaway single-node Kafka (KRaft) from the jars `deploy/local/infra.sh` caches, on free
ports and its own data folder, that a test may stop and start again. The shared broker on
127.0.0.1:9092 serves other tests and is never stopped."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.harness.ports import free_port
from tests.harness.state import eventually_sync

ROOT = Path(__file__).resolve().parents[3]
LIBS = Path(os.environ.get("SIPUMA_CACHE_DIR", Path.home() / ".cache/sipuma")) / "kafka-4.1.1/libs"


def available() -> bool:
    return (LIBS / ".complete").exists() and bool(
        subprocess.run(["which", "java"], capture_output=True).stdout
    )


class ThrowawayKafka:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port, self.controller_port = free_port(), free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log = folder / "kafka.log"
        self.conf = folder / "server.properties"
        self._proc: subprocess.Popen[bytes] | None = None
        template = (ROOT / "deploy/local/kafka/server.properties.in").read_text()
        self.conf.write_text(
            template.replace("@DATA@", str(folder / "data"))
            .replace("@PORT@", str(self.port))
            .replace("@CPORT@", str(self.controller_port))
        )
        self._java = [
            "java",
            "-Xms128m",
            "-Xmx512m",
            f"-Dlog4j2.configurationFile={ROOT / 'deploy/local/kafka/log4j2.properties'}",
            f"-Dkafka.logs.dir={folder}",
            "-cp",
            f"{LIBS}/*",
        ]
        cluster = subprocess.run(
            [*self._java, "kafka.tools.StorageTool", "random-uuid"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        subprocess.run(
            [
                *self._java,
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster,
                "-c",
                str(self.conf),
            ],
            capture_output=True,
            check=True,
        )

    def start(self, timeout_s: float = 90) -> None:
        started = self.log.read_text().count("Kafka Server started") if self.log.exists() else 0
        self._proc = subprocess.Popen(
            [*self._java, "kafka.Kafka", str(self.conf)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc = self._proc

        def started_again() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(self.log.read_text()[-3000:])
            return self.log.read_text().count("Kafka Server started") > started

        try:
            eventually_sync("the throwaway Kafka started", started_again, timeout_s)
        except AssertionError as late:
            raise RuntimeError(
                "throwaway Kafka did not start: " + self.log.read_text()[-3000:]
            ) from late

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(60)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)
        self._proc = None
