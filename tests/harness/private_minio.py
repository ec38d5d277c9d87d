"""A private MinIO with a KMS key (MINIO_KMS_SECRET_KEY, MinIO's single-host KMS), for tests
that need server-side encryption before the shared MinIO runs with one. Same binary as
deploy/local/infra.sh builds; its own port, data folder and credentials; stopped by the stack."""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio
from minio.error import S3Error

from tests.harness.endpoints import ROOT
from tests.harness.ports import free_port
from tests.harness.state import eventually_sync

KMS_KEY_NAME = "sipuma-test-kms"


@dataclass(frozen=True)
class PrivateMinio:
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    data_dir: Path


def _minio_binary() -> Path | None:
    cache = Path(os.environ.get("SIPUMA_CACHE_DIR", Path.home() / ".cache/sipuma"))
    infra = (ROOT / "deploy/local/infra.sh").read_text()
    tag = infra.split('MINIO_TAG="', 1)[1].split('"', 1)[0]
    found = cache / "bin" / f"minio-{tag}"
    return found if found.exists() else None


def start_private_minio(stack: ExitStack) -> PrivateMinio | None:
    """None when the MinIO binary is not built (a Docker-only machine)."""
    binary = _minio_binary()
    if binary is None:
        return None
    port = free_port()
    data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sipuma-minio-kms-")))
    access, secret = "kms-test-" + os.urandom(4).hex(), os.urandom(16).hex()
    kms = f"{KMS_KEY_NAME}:{base64.b64encode(os.urandom(32)).decode()}"
    env = {
        **os.environ,
        "MINIO_ROOT_USER": access,
        "MINIO_ROOT_PASSWORD": secret,
        "MINIO_KMS_SECRET_KEY": kms,
        "MINIO_BROWSER": "off",
    }
    proc = subprocess.Popen(
        [str(binary), "server", "--quiet", "--address", f"127.0.0.1:{port}", str(data / "d")],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def stop() -> None:
        proc.terminate()
        proc.wait(timeout=30)

    stack.callback(stop)

    def ready() -> bool:
        url = f"http://127.0.0.1:{port}/minio/health/ready"
        with urllib.request.urlopen(url, timeout=2):
            pass
        # Health answers before S3 calls do (IAM and KMS still starting): ask S3 itself.
        client = Minio(f"127.0.0.1:{port}", access_key=access, secret_key=secret, secure=False)
        client.list_buckets()
        return True

    eventually_sync(
        "the private MinIO answers S3 calls",
        ready,
        timeout=120,
        retry_on=(OSError, S3Error, urllib3.exceptions.HTTPError),
    )
    return PrivateMinio(f"127.0.0.1:{port}", access, secret, data / "d")
