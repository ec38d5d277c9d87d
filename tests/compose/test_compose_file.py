"""docker-compose.yml and deploy/docker/Dockerfile, checked without a Docker engine.

The file is loaded by the Compose Specification's reference loader (compose-go, the library inside
`docker compose`: schema, interpolation, consistency) and every Dockerfile it builds is parsed by
BuildKit's frontend, through tests/compose/composecheck. The assertions below then read the *loaded*
project (anchors merged, variables interpolated, paths resolved), as Docker would see it. The
negative cases prove that a broken copy is rejected, and for the right reason.
"""

from __future__ import annotations

import copy
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.compose import validator

pytestmark = pytest.mark.unit

ROOT = validator.ROOT
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
INFRA = ("kafka", "mongo", "minio", "mailpit")
PORTS = {
    "intake": 8001,
    "registry": 8002,
    "evidence": 8003,
    "notifier": 8004,
    "registry-reports": 8005,
}
SERVICES = tuple(PORTS)
# The registry's read side is the registry's image in another role (registry README "Roles").
PROGRAM = {"registry-reports": "registry"}
# What each service needs healthy before it starts (at least).
NEEDS = {
    "intake": {"kafka"},
    "registry": {"kafka", "mongo"},
    "evidence": {"kafka", "minio"},
    "notifier": {"kafka", "mongo", "mailpit", "smssink"},
    "registry-reports": {"mongo", "registry"},  # the registry makes the indexes
}
SERVICE_ENV = {
    "SIPUMA_KAFKA_BOOTSTRAP": "kafka:9092",
    "SIPUMA_MONGO_URI": "mongodb://mongo:27017/?replicaSet=rs0",
    "SIPUMA_S3_ENDPOINT": "minio:9000",
    "SIPUMA_SMTP_HOST": "mailpit",
    "SIPUMA_SMTP_PORT": "1025",
    "SIPUMA_SMS_GATEWAY_URL": "http://smssink:8026/sms",
    "SIPUMA_ENVIRONMENT": "development",
}


def _clean_env() -> dict[str, str]:
    """No SIPUMA_* from the caller's shell: interpolation must work from the file's defaults."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SIPUMA_")}


@pytest.fixture(scope="module")
def composecheck() -> Path:
    started = time.monotonic()
    try:
        exe = validator.build()
    except validator.ValidatorUnavailable as exc:
        pytest.fail(str(exc))
    print(f"composecheck ready in {time.monotonic() - started:.1f}s: {exe}")
    return exe


@pytest.fixture(scope="module")
def project(composecheck: Path) -> dict[str, Any]:
    result = validator.run(
        [validator.COMPOSE_FILE], workdir=ROOT, env=_clean_env(), binary=composecheck
    )
    assert result.returncode == 0, f"docker-compose.yml is invalid:\n{result.stderr}"
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


@pytest.fixture(scope="module")
def compose_yaml() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(validator.COMPOSE_FILE.read_text())
    return loaded


# --- the file as Docker loads it --------------------------------------------------------------


def test_reference_loader_accepts_compose_file(project: dict[str, Any]) -> None:
    assert project["name"] == "sipuma"
    assert project["services"]


def test_infrastructure_and_services_are_all_there(project: dict[str, Any]) -> None:
    assert set(INFRA) | set(SERVICES) | {"smssink"} <= set(project["services"])


def test_infrastructure_images(project: dict[str, Any]) -> None:
    services = project["services"]
    assert services["kafka"]["image"] == "apache/kafka:4.1.1"
    assert re.fullmatch(r"mongo:[78](\.\d+)*", services["mongo"]["image"])
    assert services["minio"]["image"].startswith("minio/minio:")
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    for name in (*INFRA, "smssink"):
        assert not services[name]["image"].endswith(":latest"), f"{name}: pin the image tag"


def test_kafka_is_a_single_kraft_node(project: dict[str, Any]) -> None:
    env = project["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    test = " ".join(project["services"]["kafka"]["healthcheck"]["test"])
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in test


def test_mongo_is_a_one_node_replica_set(project: dict[str, Any]) -> None:
    """Transactions need a replica set: MongoDB 8 runs as rs0 with one member, `mongo:27017`
    (the name the services reach it by), initiated by its healthcheck."""
    mongo = project["services"]["mongo"]
    command = mongo["command"]
    assert command[command.index("--replSet") + 1] == "rs0"
    assert "--bind_ip_all" in command
    check = " ".join(mongo["healthcheck"]["test"])
    assert re.search(r"_id:\s*'rs0'", check) and "host: 'mongo:27017'" in check
    assert "NotYetInitialized" in check  # initiates once, never on an initiated set
    for name in ("registry", "notifier", "evidence"):
        uri = project["services"][name]["environment"]["SIPUMA_MONGO_URI"]
        assert uri.startswith("mongodb://mongo:27017/") and "replicaSet=rs0" in uri, name


@pytest.mark.parametrize("name", [*INFRA, "smssink", *SERVICES])
def test_every_component_has_a_healthcheck(project: dict[str, Any], name: str) -> None:
    check = project["services"][name].get("healthcheck")
    assert check, f"{name} has no healthcheck"
    assert not check.get("disable")
    assert check["test"] and check["test"][0] in {"CMD", "CMD-SHELL"}


def test_infrastructure_healthchecks_probe_the_server(project: dict[str, Any]) -> None:
    def test_of(name: str) -> str:
        return " ".join(project["services"][name]["healthcheck"]["test"])

    assert "mongosh" in test_of("mongo") and "ping" in test_of("mongo")
    assert "rs.initiate" in test_of("mongo") and "isWritablePrimary" in test_of("mongo")
    assert "mc ready local" in test_of("minio") or "/minio/health/live" in test_of("minio")
    assert "readyz" in test_of("mailpit")
    assert "/livez" in test_of("smssink")


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_built_from_the_repo_with_its_service_arg(
    project: dict[str, Any], name: str
) -> None:
    build = project["services"][name]["build"]
    assert Path(build["context"]) == ROOT
    assert build["dockerfile"] == "deploy/docker/Dockerfile"
    assert build["args"] == {"SERVICE": PROGRAM.get(name, name)}


def test_the_console_reads_lists_exports_and_statistics_from_the_reports_role(
    project: dict[str, Any],
) -> None:
    reports = project["services"]["registry-reports"]
    assert reports["environment"]["SIPUMA_REGISTRY_ROLE"] == "reports"
    assert "SIPUMA_REGISTRY_ROLE" not in project["services"]["registry"]["environment"]
    console = project["services"]["intake"]["environment"]
    assert console["SIPUMA_CONSOLE_REPORTS_URL"] == f"http://127.0.0.1:{PORTS['registry-reports']}"


@pytest.mark.parametrize("name", SERVICES)
def test_service_environment(project: dict[str, Any], name: str) -> None:
    env = project["services"][name]["environment"]
    for key, value in SERVICE_ENV.items():
        assert env.get(key) == value, key
    assert env.get("SIPUMA_S3_ACCESS_KEY") and env.get("SIPUMA_S3_SECRET_KEY")
    minio = project["services"]["minio"]["environment"]
    assert env["SIPUMA_S3_ACCESS_KEY"] == minio["MINIO_ROOT_USER"]
    assert env["SIPUMA_S3_SECRET_KEY"] == minio["MINIO_ROOT_PASSWORD"]


@pytest.mark.parametrize("name", SERVICES)
def test_service_port_and_readiness_probe(project: dict[str, Any], name: str) -> None:
    service, port = project["services"][name], PORTS[name]
    assert service["environment"]["SIPUMA_HTTP_PORT"] == str(port)
    assert {(p["target"], p["published"]) for p in service["ports"]} == {(port, str(port))}
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert "urllib" in test[3] and f"127.0.0.1:{port}/readyz" in test[3]


@pytest.mark.parametrize("name", SERVICES)
def test_service_waits_for_healthy_infrastructure(project: dict[str, Any], name: str) -> None:
    depends_on = project["services"][name].get("depends_on", {})
    assert NEEDS[name] <= set(depends_on), f"{name} must wait for {NEEDS[name] - set(depends_on)}"
    for dependency, spec in depends_on.items():
        assert spec["condition"] == "service_healthy", f"{name} -> {dependency}"
        # service_healthy on a dependency without a healthcheck fails `docker compose up`.
        assert project["services"][dependency].get("healthcheck"), dependency


def test_service_shutdown_is_graceful(project: dict[str, Any]) -> None:
    for name in SERVICES:
        assert project["services"][name].get("stop_grace_period"), name


def test_data_lives_in_named_volumes(project: dict[str, Any]) -> None:
    declared = set(project.get("volumes", {}))
    for name in (*INFRA, "smssink", "intake"):
        mounts = project["services"][name].get("volumes", [])
        named = {m["source"] for m in mounts if m["type"] == "volume"}
        assert named, f"{name} keeps its data in no named volume"
        assert named <= declared
    intake_targets = {m["target"] for m in project["services"]["intake"]["volumes"]}
    assert "/var/lib/sipuma" in intake_targets  # the store-and-forward spool


def test_sms_sink_runs_the_repository_script(project: dict[str, Any]) -> None:
    sink = project["services"]["smssink"]
    assert sink["image"].startswith("python:3.11")
    binds = {m["source"]: m for m in sink["volumes"] if m["type"] == "bind"}
    script = ROOT / "deploy" / "local" / "smssink.py"
    assert str(script) in binds and binds[str(script)].get("read_only")
    assert script.is_file()
    command = sink["command"]
    assert command[command.index("--port") + 1] == "8026"
    assert command[command.index("--host") + 1] == "0.0.0.0"


def test_host_ports_are_loopback_only(project: dict[str, Any]) -> None:
    for name, service in project["services"].items():
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond loopback"


# --- the Dockerfile ---------------------------------------------------------------------------


def _instructions(text: str) -> list[str]:
    """Dockerfile instructions with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    return [
        " ".join(line.split())
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_dockerfile_follows_the_uv_workspace_pattern() -> None:
    lines = _instructions(DOCKERFILE.read_text())
    froms = [line for line in lines if line.startswith("FROM ")]
    assert len(froms) >= 2, "multi-stage build"
    assert any("python:3.11-slim" in line for line in lines)
    assert "ARG SERVICE" in lines
    assert any("pip install" in line and "uv==${UV_VERSION}" in line for line in lines)
    assert "ARG UV_VERSION=0.13.8" in lines
    syncs = [line for line in lines if "uv sync" in line]
    deps_only = [s for s in syncs if "--no-install-workspace" in s]
    full = [s for s in syncs if "--no-install-workspace" not in s]
    assert deps_only and full, "a dependencies-only layer, then the workspace packages"
    for sync in syncs:
        assert "--frozen" in sync and '--package "sipuma-${SERVICE}"' in sync
    assert lines.index(deps_only[0]) < lines.index(full[0])
    # The dependency layer sees only manifests and the lock; sources come after it.
    copy_sources = [i for i, line in enumerate(lines) if line.startswith("COPY shared/ ")]
    assert copy_sources and lines.index(deps_only[0]) < copy_sources[0]


def test_dockerfile_runs_the_service_as_an_unprivileged_user() -> None:
    lines = _instructions(DOCKERFILE.read_text())
    final_stage = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    users = [line for line in final_stage if line.startswith("USER ")]
    assert users and not re.match(r"USER (root|0)\b", users[-1])
    entrypoint = next(line for line in final_stage if line.startswith(("ENTRYPOINT", "CMD")))
    assert "sipuma-${SIPUMA_SERVICE}" in entrypoint and "exec" in entrypoint
    envs = " ".join(line for line in final_stage if line.startswith("ENV "))
    assert 'SIPUMA_SERVICE="${SERVICE}"' in envs


# --- broken copies are rejected ---------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _unknown_key(d: dict[str, Any]) -> None:
    d["services"]["intake"]["helthcheck"] = d["services"]["intake"].pop("healthcheck")


def _bad_condition(d: dict[str, Any]) -> None:
    d["services"]["registry"]["depends_on"]["mongo"]["condition"] = "service_healty"


def _undefined_dependency(d: dict[str, Any]) -> None:
    d["services"]["notifier"]["depends_on"]["mailhog"] = {"condition": "service_healthy"}


def _undeclared_volume(d: dict[str, Any]) -> None:
    del d["volumes"]["kafka-data"]


def _obsolete_version(d: dict[str, Any]) -> None:
    d["version"] = "3.9"


def _missing_required_variable(d: dict[str, Any]) -> None:
    d["services"]["minio"]["environment"]["MINIO_ROOT_PASSWORD"] = "${SIPUMA_NO_SUCH_VAR:?set it}"


def _bad_duration(d: dict[str, Any]) -> None:
    d["services"]["mongo"]["healthcheck"]["interval"] = "5 seconds"


def _bad_port(d: dict[str, Any]) -> None:
    d["services"]["intake"]["ports"] = ["127.0.0.1:80001:8001"]


def _undeclared_build_arg(d: dict[str, Any]) -> None:
    d["services"]["evidence"]["build"]["args"] = {"SERVIC": "evidence"}


def _missing_dockerfile(d: dict[str, Any]) -> None:
    d["services"]["evidence"]["build"]["dockerfile"] = "deploy/docker/Dockerfile.missing"


def _missing_target_stage(d: dict[str, Any]) -> None:
    d["services"]["intake"]["build"]["target"] = "production"


BROKEN: dict[str, tuple[Mutation, str]] = {
    "unknown service key": (_unknown_key, "services.intake.helthcheck"),
    "bad depends_on condition": (_bad_condition, "condition value must be one of"),
    "depends_on an undefined service": (_undefined_dependency, 'undefined service "mailhog"'),
    "undeclared named volume": (_undeclared_volume, "undefined volume kafka-data"),
    "obsolete version attribute": (_obsolete_version, "`version` is obsolete"),
    "required variable unset": (_missing_required_variable, "SIPUMA_NO_SUCH_VAR"),
    "bad healthcheck duration": (_bad_duration, "healthcheck.interval"),
    "bad published port": (_bad_port, "80001"),
    "build arg no ARG declares": (_undeclared_build_arg, "build arg SERVIC is passed"),
    "missing Dockerfile": (_missing_dockerfile, "Dockerfile.missing"),
    "missing target stage": (_missing_target_stage, 'no stage named "production"'),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_compose_copy_is_rejected(
    composecheck: Path, compose_yaml: dict[str, Any], tmp_path: Path, case: str
) -> None:
    mutate, expected = BROKEN[case]
    broken = copy.deepcopy(compose_yaml)
    mutate(broken)
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken, sort_keys=False))
    # The unmodified copy, written the same way, is valid: the mutation alone breaks it.
    result = validator.run([path], workdir=ROOT, env=_clean_env(), binary=composecheck)
    assert result.returncode != 0, f"{case}: accepted"
    assert expected in result.stderr, result.stderr


def test_unmodified_copy_is_accepted(
    composecheck: Path, compose_yaml: dict[str, Any], tmp_path: Path
) -> None:
    """Control for the negative cases: the YAML round trip itself breaks nothing."""
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(compose_yaml, sort_keys=False))
    result = validator.run([path], workdir=ROOT, env=_clean_env(), binary=composecheck)
    assert result.returncode == 0, result.stderr


def test_yaml_syntax_error_is_rejected(composecheck: Path, tmp_path: Path) -> None:
    text = validator.COMPOSE_FILE.read_text().replace("  kafka:\n", "  kafka:\n   bad: [\n", 1)
    path = tmp_path / "docker-compose.yml"
    path.write_text(text)
    result = validator.run([path], workdir=ROOT, env=_clean_env(), binary=composecheck)
    assert result.returncode != 0
    assert "yaml" in result.stderr.lower()


DOCKERFILE_BREAKS: dict[str, tuple[str, str, str]] = {
    # case: (text to find, its replacement everywhere, expected message)
    "unknown instruction": ("USER sipuma:sipuma", "USR sipuma:sipuma", "unknown instruction"),
    "source not in context": (
        "COPY shared/ shared/",
        "COPY shared/ shared/\nCOPY deploy/local/smssink.py /app/",
        "excluded from the build context by .dockerignore",
    ),
    "missing source": ("COPY services/ services/", "COPY servics/ services/", '"servics/"'),
    "build arg not declared": ("\nARG SERVICE\n", "\n", "build arg SERVICE is passed"),
}


@pytest.mark.parametrize("case", list(DOCKERFILE_BREAKS))
def test_broken_dockerfile_is_rejected(
    composecheck: Path, compose_yaml: dict[str, Any], tmp_path: Path, case: str
) -> None:
    find, replace, expected = DOCKERFILE_BREAKS[case]
    text = DOCKERFILE.read_text()
    assert find in text, f"{case}: the Dockerfile changed; update this case"
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(text.replace(find, replace))
    compose = copy.deepcopy(compose_yaml)
    for name in SERVICES:
        compose["services"][name]["build"]["dockerfile"] = str(dockerfile)
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(compose, sort_keys=False))
    result = validator.run([path], workdir=ROOT, env=_clean_env(), binary=composecheck)
    assert result.returncode != 0, f"{case}: accepted"
    assert expected in result.stderr, result.stderr
