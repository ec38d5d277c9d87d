"""The running system for end-to-end tests (the console's browser tests, the pipeline test, the
fuzzing): intake (with the console), registry, evidence and notifier as real processes on free
ports, against the harness's real Kafka, MongoDB-compatible store, MinIO and SMTP. Each stack gets
its own topics (prefix), databases, bucket and consumer groups, so it shares no state with other
tests; each service writes its log to `<workdir>/<service>.log`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from sipuma.shared import topics
from sipuma.shared.auth import Role, mint_token
from tests.harness.cleanup import sweep
from tests.harness.endpoints import ROOT, RUN_DIR, Endpoints, local_store_uri
from tests.harness.ports import free_port
from tests.harness.state import eventually as harness_eventually

SECRET = "e2e-console-token-secret-0123456789abcdef"
OFFICE = "KPUBC-TPK-TJPRIOK"
OFFICER = "198001012005011001"
T = TypeVar("T")


def _die_with_parent() -> None:
    """Linux: the service gets SIGTERM when the test process dies, even if killed outright."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class Service:
    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=out,
            stderr=out,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # a test process: no threads yet
        )

    def wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; log:\n{self.log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise TimeoutError(f"{self.name} not ready; log:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@dataclass
class Stack:
    services: dict[str, Service] = field(default_factory=dict)
    sms: Service | None = None  # this stack's own SMS-gateway sink
    missing: dict[str, str] = field(default_factory=dict)  # service → why it is not running
    prefix: str = ""  # topic prefix
    databases: dict[str, str] = field(default_factory=dict)  # service → MongoDB database
    bucket: str = ""
    workdir: Path | None = None
    endpoints: Endpoints | None = None
    unique: str = ""  # the stack's scratch name: its databases, topics and bucket carry it

    def url(self, name: str) -> str:
        return self.services[name].url

    @property
    def console(self) -> str:
        return f"{self.url('intake')}/konsol"

    def token(
        self,
        roles: tuple[Role, ...] = (Role.RECEIVER,),
        office: str = OFFICE,
        officer: str = OFFICER,
    ) -> str:
        return mint_token(SECRET, officer, office, roles)

    def topic(self, spec: topics.TopicSpec) -> str:
        """The stack's own (prefixed) name of a topic."""
        return self.prefix + spec.name

    def need(self, name: str) -> None:
        import pytest

        if name not in self.services:
            pytest.fail(f"service {name} did not start: {self.missing.get(name, '?')}")

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()
        if self.sms is not None:
            self.sms.stop()
        if self.endpoints is not None and self.unique:
            # Its databases, topics and bucket go with it (see tests/harness/cleanup.py).
            sweep(self.endpoints, {self.unique.rsplit("-", 1)[-1]})


def _script(name: str) -> str | None:
    return shutil.which(name) or (
        str(Path(sys.executable).with_name(name))
        if Path(sys.executable).with_name(name).exists()
        else None
    )


def _command(name: str) -> list[str] | None:
    script = _script(name)
    return [script] if script else None


def _settings_fields(service: str) -> set[str]:
    if service == "intake":
        from sipuma.intake.settings import IntakeSettings as Settings
    else:
        from sipuma.evidence.settings import EvidenceSettings as Settings  # type: ignore[assignment]
    return set(Settings.model_fields)


def _topic_env(service: str, prefix: str, wanted: dict[str, topics.TopicSpec]) -> dict[str, str]:
    """Isolated topic names in whichever form the service's settings take: one prefix
    (SIPUMA_TOPIC_PREFIX, as the registry and notifier) or one variable per topic."""
    fields = _settings_fields(service)
    if "topic_prefix" in fields:
        return {"SIPUMA_TOPIC_PREFIX": prefix}
    return {
        f"SIPUMA_TOPIC_{key}": prefix + spec.name
        for key, spec in wanted.items()
        if f"topic_{key.lower()}" in fields
    }


def start_stack(
    endpoints: Endpoints,
    unique: str,
    workdir: Path,
    env: dict[str, str] | None = None,
    *,
    reports: bool = False,
) -> Stack:
    """Start what exists of the four services; what does not is named in `Stack.missing`.
    `env` overrides any SIPUMA_* setting of every service (e.g. SIPUMA_LOG_LEVEL). `reports`:
    also the registry's read side (`registry-reports`, SIPUMA_REGISTRY_ROLE=reports), which the
    console then reads lists, exports and statistics from, as deployed."""
    overrides = dict(env or {})
    prefix = f"sipuma.{unique}."  # still a versioned sipuma.*.vN name once prefixed
    names = ["intake", "registry", "evidence", "notifier"]
    if reports:
        names.append("registry-reports")
    ports = {name: free_port() for name in names}
    console_origin = f"http://127.0.0.1:{ports['intake']}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("SIPUMA_")}
    base.update(endpoints.as_env())
    base.update(
        {
            "SIPUMA_ENVIRONMENT": "development",
            "SIPUMA_TOKEN_SECRET": SECRET,
            "SIPUMA_LOG_FORMAT": "json",
            "SIPUMA_LOG_LEVEL": "WARNING",
            "SIPUMA_TOPIC_PARTITIONS": "2",
            "SIPUMA_CONSUMER_RETRY_INITIAL_SECONDS": "0.2",
            "SIPUMA_CONSUMER_RETRY_MAX_SECONDS": "2",
            "SIPUMA_SHUTDOWN_GRACE_SECONDS": "5",
            "SIPUMA_CORS_ORIGINS": json.dumps([console_origin]),
            "SIPUMA_CONSOLE_REGISTRY_URL": f"http://127.0.0.1:{ports['registry']}",
            "SIPUMA_CONSOLE_EVIDENCE_URL": f"http://127.0.0.1:{ports['evidence']}",
            # Intake and evidence resolve register numbers through the registry's API.
            "SIPUMA_REGISTRY_URL": f"http://127.0.0.1:{ports['registry']}",
            "PYTHONPATH": str(ROOT),
        }
    )
    db = unique.replace("-", "_")
    python = sys.executable
    specs: dict[str, tuple[list[str] | None, dict[str, str]]] = {
        "registry": (
            _command("sipuma-registry"),
            {
                "SIPUMA_TOPIC_PREFIX": prefix,
                "SIPUMA_MONGO_DATABASE": f"{db}_registry",
                "SIPUMA_CONSUMER_GROUP": f"{unique}-registry",
                "SIPUMA_OUTBOX_INTERVAL_SECONDS": "0.5",
                "SIPUMA_TRACK_REQUESTS_PER_MINUTE": "200",
            },
        ),
        "evidence": (
            _command("sipuma-evidence"),
            {
                "SIPUMA_MONGO_DATABASE": f"{db}_evidence",
                "SIPUMA_BUCKET": unique,
                "SIPUMA_CONSUMER_GROUP": f"{unique}-evidence",
                **_topic_env(
                    "evidence",
                    prefix,
                    {
                        "EVIDENCE_STORED": topics.EVIDENCE_STORED,
                        "COMPLAINT_RECEIVED": topics.COMPLAINT_RECEIVED,
                        "COMPLAINT_REGISTERED": topics.COMPLAINT_REGISTERED,
                    },
                ),
                "SIPUMA_OUTBOX_INTERVAL_S": "0.5",
                "SIPUMA_COMPLAINT_WAIT_S": "10",
            },
        ),
        "notifier": (
            _command("sipuma-notifier"),
            {
                "SIPUMA_TOPIC_PREFIX": prefix,
                "SIPUMA_MONGO_DATABASE": f"{db}_notifier",
                "SIPUMA_CONSUMER_GROUP": f"{unique}-notifier",
                "SIPUMA_TRACKING_URL": f"{console_origin}/lacak",
                "SIPUMA_DISPATCH_INTERVAL_SECONDS": "0.5",
            },
        ),
        "intake": (
            _command("sipuma-intake"),
            {
                "SIPUMA_STATE_DIR": str(workdir / "intake-state"),
                "SIPUMA_REGISTER_WAIT_S": "5",
                **_topic_env(
                    "intake",
                    prefix,
                    {
                        "COMPLAINT_RECEIVED": topics.COMPLAINT_RECEIVED,
                        "COMPLAINT_REGISTERED": topics.COMPLAINT_REGISTERED,
                        "COMPLAINT_SUPPLEMENTED": topics.COMPLAINT_SUPPLEMENTED,
                        "CONTACT_PROVIDED": topics.CONTACT_PROVIDED,
                        "REGISTER_NUMBER_COMMUNICATED": topics.REGISTER_NUMBER_COMMUNICATED,
                    },
                ),
            },
        ),
    }
    if reports:
        base["SIPUMA_CONSOLE_REPORTS_URL"] = f"http://127.0.0.1:{ports['registry-reports']}"
        read_side = {"SIPUMA_MONGO_DATABASE": f"{db}_registry", "SIPUMA_REGISTRY_ROLE": "reports"}
        if endpoints.origin == "local" and (RUN_DIR / "store" / "uri" / "readonly").exists():
            # As deployed: the read side connects as the store's read-only user.
            read_side["SIPUMA_MONGO_URI"] = local_store_uri("readonly")
        specs["registry-reports"] = (_command("sipuma-registry"), read_side)
    stack = Stack(
        prefix=prefix,
        databases={name: f"{db}_{name}" for name in ("registry", "evidence", "notifier")},
        bucket=unique,
        workdir=workdir,
        endpoints=endpoints,
        unique=unique,
    )
    # Its own SMS gateway sink, so injected failures never reach another test's messages.
    sms_port = free_port()
    sms = Service(
        "smssink",
        [
            python,
            str(ROOT / "deploy/local/smssink.py"),
            "--port",
            str(sms_port),
            "--store",
            str(workdir / "sms.jsonl"),
        ],
        dict(base),
        sms_port,
        workdir / "smssink.log",
    )
    sms.start()
    stack.sms = sms
    specs["notifier"][1]["SIPUMA_SMS_GATEWAY_URL"] = f"{sms.url}/sms"
    for name, (command, extra) in specs.items():
        if command is None:
            stack.missing[name] = f"no sipuma-{name} console script in this environment"
            continue
        env = {**base, **extra, **overrides, "SIPUMA_HTTP_PORT": str(ports[name])}
        service = Service(name, command, env, ports[name], workdir / f"{name}.log")
        service.start()
        stack.services[name] = service
    deadline = time.monotonic() + 120
    try:
        for service in stack.services.values():
            service.wait_ready(deadline)
    except Exception:
        stack.stop()
        raise
    return stack


@contextmanager
def running_stack(
    endpoints: Endpoints,
    workdir: Path,
    label: str,
    needed: Iterable[str],
    env: dict[str, str] | None = None,
) -> Iterator[Stack]:
    """A test module's own stack (the body of its module fixture): unique names from `label`,
    the `needed` services started and answering (else the test fails naming the missing one),
    everything stopped and swept afterwards."""
    started = start_stack(endpoints, f"e2e-{label}-{uuid.uuid4().hex[:10]}", workdir, env)
    try:
        for name in needed:
            started.need(name)
        yield started
    finally:
        started.stop()


async def eventually(
    what: str, probe: Callable[[], Awaitable[T | None]], timeout: float = 90.0
) -> T:
    """The harness's `eventually`, where a service busy or restarting (an HTTP error) means
    "not yet"."""
    return await harness_eventually(what, probe, timeout, interval=0.5, retry_on=(httpx.HTTPError,))
