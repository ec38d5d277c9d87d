"""Where the real components for a test run live.

Resolution order, first match wins:
1. environment variables (`SIPUMA_TEST_KAFKA_BOOTSTRAP`, `SIPUMA_TEST_MONGO_URI`, ...), for a
   stack someone already runs (compose, a staging cluster);
2. testcontainers, when a Docker engine answers;
3. the local servers of `deploy/local/infra.sh`, started on demand (idempotent); the store's
   ready-made URI for the test user (TLS + SCRAM) is read from `$SIPUMA_RUN_DIR/store/uri/test`,
   which `infra.sh up` writes (docs/store.md).
No in-memory fake is ever returned from here.
"""

from __future__ import annotations

import os
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = Path(os.environ.get("SIPUMA_RUN_DIR", Path.home() / ".local/state/sipuma"))


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    mongo_uri: str
    s3_endpoint: str  # host:port, as the minio client wants it
    s3_access_key: str
    s3_secret_key: str
    smtp_host: str
    smtp_port: int
    mail_api: str  # Mailpit-shaped HTTP API base URL
    sms_url: str  # base URL of the SMS-gateway sink (POST {sms_url}/sms)
    origin: str  # "env", "docker" or "local"

    def as_env(self) -> dict[str, str]:
        """The same endpoints as the services' SIPUMA_* settings variables."""
        return {
            "SIPUMA_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "SIPUMA_MONGO_URI": self.mongo_uri,
            "SIPUMA_S3_ENDPOINT": self.s3_endpoint,
            "SIPUMA_S3_ACCESS_KEY": self.s3_access_key,
            "SIPUMA_S3_SECRET_KEY": self.s3_secret_key,
            "SIPUMA_SMTP_HOST": self.smtp_host,
            "SIPUMA_SMTP_PORT": str(self.smtp_port),
            "SIPUMA_SMS_GATEWAY_URL": f"{self.sms_url}/sms",
        }


def _port(name: str, default: int) -> int:
    # Same variables as deploy/local/infra.sh, so a second checkout can run on other ports.
    return int(os.environ.get(name, default))


def _store_port() -> int:
    # SIPUMA_FERRETDB_PORT: the variable's old name, still honoured (as by infra.sh).
    return _port("SIPUMA_STORE_PORT", _port("SIPUMA_FERRETDB_PORT", 27017))


def local_store_uri(user: str = "test") -> str:
    """The local store's URI for one of its users (`test` creates and drops its own databases),
    as `deploy/local/infra.sh up` wrote it: user, password, TLS CA file, auth options. Before the
    first `up` there is no file yet; the bare address stands in (and fails auth loudly)."""
    found = RUN_DIR / "store" / "uri" / user
    if found.exists():
        return found.read_text().strip()
    return f"mongodb://127.0.0.1:{_store_port()}/"


LOCAL = Endpoints(
    kafka_bootstrap=f"127.0.0.1:{_port('SIPUMA_KAFKA_PORT', 9092)}",
    mongo_uri=local_store_uri(),
    s3_endpoint=f"127.0.0.1:{_port('SIPUMA_MINIO_PORT', 9000)}",
    s3_access_key="sipuma-dev",
    s3_secret_key="sipuma-dev-secret",
    smtp_host="127.0.0.1",
    smtp_port=_port("SIPUMA_SMTP_PORT", 1025),
    mail_api=f"http://127.0.0.1:{_port('SIPUMA_MAIL_API_PORT', 8025)}",
    sms_url=f"http://127.0.0.1:{_port('SIPUMA_SMS_PORT', 8026)}",
    origin="local",
)


def from_env() -> Endpoints | None:
    if not os.environ.get("SIPUMA_TEST_KAFKA_BOOTSTRAP"):
        return None
    env = os.environ.get
    return Endpoints(
        kafka_bootstrap=env("SIPUMA_TEST_KAFKA_BOOTSTRAP", LOCAL.kafka_bootstrap),
        mongo_uri=env("SIPUMA_TEST_MONGO_URI", LOCAL.mongo_uri),
        s3_endpoint=env("SIPUMA_TEST_S3_ENDPOINT", LOCAL.s3_endpoint),
        s3_access_key=env("SIPUMA_TEST_S3_ACCESS_KEY", LOCAL.s3_access_key),
        s3_secret_key=env("SIPUMA_TEST_S3_SECRET_KEY", LOCAL.s3_secret_key),
        smtp_host=env("SIPUMA_TEST_SMTP_HOST", LOCAL.smtp_host),
        smtp_port=int(env("SIPUMA_TEST_SMTP_PORT", str(LOCAL.smtp_port))),
        mail_api=env("SIPUMA_TEST_MAIL_API", LOCAL.mail_api),
        sms_url=env("SIPUMA_TEST_SMS_URL", LOCAL.sms_url),
        origin="env",
    )


def docker_engine_answers() -> bool:
    if os.environ.get("SIPUMA_TEST_NO_DOCKER"):
        return False
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


def from_docker(stack: ExitStack) -> Endpoints:
    """Official images through testcontainers; containers stop when the stack closes."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs
    from testcontainers.kafka import KafkaContainer
    from testcontainers.minio import MinioContainer

    kafka = stack.enter_context(KafkaContainer("apache/kafka:4.1.1").with_kraft())
    mongo_uri = start_mongo_replica_set(stack)
    minio = stack.enter_context(MinioContainer("minio/minio:RELEASE.2025-09-07T16-13-09Z"))
    mailpit = DockerContainer("axllent/mailpit:v1.29").with_exposed_ports(1025, 8025)
    stack.enter_context(mailpit)
    wait_for_logs(mailpit, "accessible via", timeout=60)
    sms_url = start_local_sms_sink(stack)
    minio_cfg = minio.get_config()
    return Endpoints(
        kafka_bootstrap=kafka.get_bootstrap_server(),
        mongo_uri=mongo_uri,
        s3_endpoint=minio_cfg["endpoint"],
        s3_access_key=minio_cfg["access_key"],
        s3_secret_key=minio_cfg["secret_key"],
        smtp_host=mailpit.get_container_host_ip(),
        smtp_port=int(mailpit.get_exposed_port(1025)),
        mail_api=f"http://{mailpit.get_container_host_ip()}:{mailpit.get_exposed_port(8025)}",
        sms_url=sms_url,
        origin="docker",
    )


def start_mongo_replica_set(stack: ExitStack) -> str:
    """MongoDB 8 as a one-node replica set, so multi-document transactions work as on the local
    store. The member is initiated under the name `127.0.0.1:27017` (inside the container) and
    the client connects with directConnection=true: the host's mapped port differs from the
    member's address, so replica-set discovery would chase an unreachable host."""
    import time

    from pymongo import MongoClient
    from pymongo.errors import OperationFailure, PyMongoError
    from testcontainers.core.container import DockerContainer

    mongo = DockerContainer("mongo:8").with_exposed_ports(27017)
    mongo.with_command("--replSet rs0 --bind_ip_all")
    stack.enter_context(mongo)
    host, port = mongo.get_container_host_ip(), int(mongo.get_exposed_port(27017))
    uri = f"mongodb://{host}:{port}/?directConnection=true"
    deadline = time.monotonic() + 120
    initiated = False
    while True:
        try:
            client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=2000)
            with client:
                if not initiated:
                    try:
                        client.admin.command(
                            "replSetInitiate",
                            {"_id": "rs0", "members": [{"_id": 0, "host": "127.0.0.1:27017"}]},
                        )
                    except OperationFailure as error:
                        if error.code != 23:  # AlreadyInitialized
                            raise
                    initiated = True
                if client.admin.command("hello").get("isWritablePrimary"):
                    return uri
        except PyMongoError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError("MongoDB replica set rs0 did not elect a primary in 120 s")
        time.sleep(0.5)


def start_local_sms_sink(stack: ExitStack) -> str:
    """The SMS sink has no image; it is a standard-library script, so run it beside the tests."""
    import tempfile

    from tests.harness.sinks import sms_sink

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    return stack.enter_context(sms_sink(folder))


def from_local() -> Endpoints:
    subprocess.run(["bash", str(ROOT / "deploy/local/infra.sh"), "up"], check=True)
    return replace(LOCAL, mongo_uri=local_store_uri())  # written (or confirmed) by `up`


def resolve(stack: ExitStack) -> Endpoints:
    found = from_env()
    if found is not None:
        return found
    if docker_engine_answers():
        return from_docker(stack)
    return from_local()
