"""Evidence upload benchmark (not a test): throughput through the service vs a direct `minio`
put of the same 256 MiB file, and the service process's memory growth while 1 GiB streams in.

    uv run python bench/evidence_bench.py [--size-mib 256] [--big-mib 1024]

Runs against the real local servers (or SIPUMA_TEST_* endpoints, like the test harness): starts
`sipuma-evidence` as its own process on a free port, feeds it a `ComplaintRegistered` on a unique
topic, uploads, samples the process's RSS from /proc every 20 ms, stops it with SIGTERM and
removes what it made. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from minio import Minio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.profiles import profiling  # noqa: E402
from services.evidence.tests.samples import ftyp, video_stream  # noqa: E402
from services.evidence.tests.support import publish_registered  # noqa: E402
from sipuma.shared import topics  # noqa: E402
from sipuma.shared.auth import mint_token  # noqa: E402
from tests.harness.endpoints import Endpoints, resolve  # noqa: E402
from tests.harness.ports import free_port  # noqa: E402

MiB = 1024 * 1024
SECRET = "bench-secret-0123456789abcdef0123456789"
OFFICE = "KPUBC-TPK-TJPRIOK"


def mbps(size: int, seconds: float) -> float:
    return round(size / MiB / seconds, 1)


def _kill_if_running(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (all its threads), from /proc: a cost
    per byte that other processes' load does not change, unlike MiB/s."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    def __init__(self, pid: int, every_s: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s, self.peak, self.stop_flag = pid, every_s, 0, False

    def run(self) -> None:
        while not self.stop_flag:
            self.peak = max(self.peak, rss_bytes(self.pid))
            time.sleep(self.every_s)


def write_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(MiB)
    with path.open("wb") as out:
        head = ftyp(b"isom")
        out.write(head)
        digest.update(head)
        written = len(head)
        while written < size:
            chunk = block[: min(MiB, size - written)]
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
    return digest.hexdigest()


def file_chunks(path: Path, size: int = MiB) -> Any:
    with path.open("rb") as f:
        while chunk := f.read(size):
            yield chunk


def measure(
    ep: Endpoints,
    size_mib: int,
    big_mib: int,
    step: Callable[[str], None] = lambda _: None,
    *,
    profile: bool = False,
) -> dict[str, Any]:
    """Start a `sipuma-evidence` process, run the three uploads, stop it, clean up; `step` is
    told when each part begins (for a progress display). With `profile`, py-spy samples the
    service while the file goes through it (bench/profiles/d-evidence.speedscope.json)."""
    with ExitStack() as stack:
        name = f"bench-{uuid.uuid4().hex[:10]}"
        port = free_port()
        env = {
            **os.environ,
            **ep.as_env(),
            "SIPUMA_HTTP_PORT": str(port),
            "SIPUMA_TOKEN_SECRET": SECRET,
            "SIPUMA_BUCKET": name,
            "SIPUMA_OBJECT_LOCK": "false",  # so the benchmark can clean up after itself
            "SIPUMA_MONGO_DATABASE": name.replace("-", "_"),
            "SIPUMA_TOPIC_PREFIX": f"{name}.",
            "SIPUMA_CONSUMER_GROUP": f"{name}-evidence",
            "SIPUMA_TOPIC_PARTITIONS": "1",
            "SIPUMA_LOG_LEVEL": "INFO",
            "SIPUMA_LOG_FORMAT": "json",
        }
        exe = Path(sys.executable).with_name("sipuma-evidence")
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        service_log = (tmp / "service.log").open("wb")
        proc = subprocess.Popen([str(exe)], env=env, stdout=service_log, stderr=subprocess.STDOUT)
        stack.callback(_kill_if_running, proc)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz").json().get("kafka") == "up":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        cid = asyncio.run(
            publish_registered(ep.kafka_bootstrap, f"{name}.{topics.COMPLAINT_REGISTERED.name}")
        )
        headers = {"Authorization": f"Bearer {mint_token(SECRET, 'bench', OFFICE, ['receiver'])}"}
        url = f"{base}/v1/complaints/{cid}/evidence"
        client = httpx.Client(timeout=600)
        for _ in range(100):
            if client.get(url, headers=headers).status_code == 200:
                break
            time.sleep(0.1)

        minio = Minio(ep.s3_endpoint, ep.s3_access_key, ep.s3_secret_key, secure=False)
        path = tmp / "bench.mp4"
        size = size_mib * MiB
        digest = write_file(path, size)
        rss_start = rss_bytes(proc.pid)

        step("evidence: direct minio put")
        # 1. direct minio put of the file (client defaults: 3 parallel part uploads)
        t, cpu = time.perf_counter(), time.process_time()
        with path.open("rb") as f:
            minio.put_object(name, "bench/direct", f, size, content_type="video/mp4")
        direct_s = time.perf_counter() - t
        direct_cpu = time.process_time() - cpu  # this process: the client's threads
        # 1b. direct, unknown length, sequential 8 MiB parts (how the service uploaded before)
        t = time.perf_counter()
        with path.open("rb") as f:
            minio.put_object(
                name, "bench/direct-seq", f, -1, part_size=8 * MiB, num_parallel_uploads=1
            )
        direct_seq_s = time.perf_counter() - t

        step("evidence: upload through the service")
        # 2. the same file through the service (streamed HTTP body, Content-Length known)
        with profiling(profile, "d", {"evidence": proc.pid}):
            t, cpu = time.perf_counter(), cpu_seconds(proc.pid)
            answer = client.post(
                url,
                params={"kind": "video", "filename": "bench.mp4"},
                content=file_chunks(path),
                headers={**headers, "Content-Type": "video/mp4", "Content-Length": str(size)},
            )
            service_s = time.perf_counter() - t
            service_cpu = cpu_seconds(proc.pid) - cpu
        assert answer.status_code == 201, answer.text
        assert answer.json()["sha256"] == digest

        step(f"evidence: {big_mib} MiB streamed, RSS sampled")
        # 3. memory while 1 GiB streams in (no Content-Length: chunked, the harder case)
        big = big_mib * MiB
        rss_before = rss_bytes(proc.pid)
        sampler = RssSampler(proc.pid)
        sampler.start()
        t = time.perf_counter()
        answer = client.post(
            url,
            params={"kind": "video", "filename": "big.mp4"},
            content=video_stream(big),
            headers={**headers, "Content-Type": "video/mp4"},
        )
        big_s = time.perf_counter() - t
        sampler.stop_flag = True
        sampler.join()
        assert answer.status_code == 201, answer.text
        assert answer.json()["size_bytes"] == big

        proc.send_signal(signal.SIGTERM)
        exit_code = proc.wait(timeout=60)
        service_log.close()
        # uvicorn re-raises SIGTERM after its graceful shutdown, so the code is -15 either way;
        # the lifespan's last log line tells that shutdown really ran.
        graceful = b"evidence_stopped" in (tmp / "service.log").read_bytes()

        for obj in minio.list_objects(name, recursive=True, include_version=True):
            minio.remove_object(name, obj.object_name, version_id=obj.version_id)
        minio.remove_bucket(name)

        return {
            "file_mib": size_mib,
            "direct_minio_put_s": round(direct_s, 2),
            "direct_minio_put_mib_s": mbps(size, direct_s),
            "direct_minio_stream_seq_8mib_s": round(direct_seq_s, 2),
            "direct_minio_stream_seq_mib_s": mbps(size, direct_seq_s),
            "service_upload_s": round(service_s, 2),
            "service_upload_mib_s": mbps(size, service_s),
            "service_vs_direct_ratio": round(direct_s / service_s, 2),
            "service_vs_direct_seq_ratio": round(direct_seq_s / service_s, 2),
            # CPU seconds per GiB: the direct put's client vs the service process (the client
            # that feeds the service is not counted); their ratio does not move with the load.
            "direct_cpu_s_per_gib": round(direct_cpu * 1024 / size_mib, 2),
            "service_cpu_s_per_gib": round(service_cpu * 1024 / size_mib, 2),
            "service_vs_direct_cpu_ratio": round(direct_cpu / service_cpu, 2)
            if service_cpu
            else None,
            "big_upload_mib": big_mib,
            "big_upload_s": round(big_s, 2),
            "big_upload_mib_s": mbps(big, big_s),
            "rss_at_start_mib": round(rss_start / MiB, 1),
            "rss_before_big_mib": round(rss_before / MiB, 1),
            "rss_peak_during_big_mib": round(sampler.peak / MiB, 1),
            "rss_growth_during_big_mib": round((sampler.peak - rss_before) / MiB, 1),
            "rss_growth_since_start_mib": round((sampler.peak - rss_start) / MiB, 1),
            "limit_mib": 64,
            "service_exit_code_after_sigterm": exit_code,
            "service_stopped_gracefully": graceful,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--profile", action="store_true", help="py-spy on the service upload")
    args = parser.parse_args()
    with ExitStack() as stack:
        result = measure(resolve(stack), args.size_mib, args.big_mib, profile=args.profile)
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
