"""deploy/k8s: every overlay rendered by kustomize and validated by kubeconform, offline.

kubeconform reads the schemas committed in deploy/k8s/schemas (Kubernetes 1.34, KEDA, Strimzi,
prometheus-operator, Gateway API; strict: an unknown field fails), never GitHub. The rendered
objects are then read for what a schema cannot say: probes, security context, limits, a Secret
reference for every secret setting, the topic list of shared/topics.py, the partition count used
consistently, the public route.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from sipuma.evidence.settings import EvidenceSettings
from sipuma.intake.console.settings import ConsoleSettings
from sipuma.intake.settings import IntakeSettings
from sipuma.notifier.settings import NotifierSettings
from sipuma.registry.settings import RegistrySettings
from sipuma.shared import topics
from sipuma.shared.settings import ServiceSettings
from sipuma.shared.topic_admin import ANALYTICS_RETENTION_MS
from sipuma.shared.topics import DEFAULT_RETENTION_MS
from tests.deploy import tools

pytestmark = [pytest.mark.unit, pytest.mark.timeout(tools.BUILD_TIMEOUT_S)]

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = K8S / "schemas"
OVERLAYS = ("dev", "prod")
SERVICES: dict[str, tuple[type[BaseSettings], ...]] = {
    "intake": (IntakeSettings, ConsoleSettings),
    "registry": (RegistrySettings,),
    "evidence": (EvidenceSettings,),
    "notifier": (NotifierSettings,),
    # The registry's read side: the registry's image, settings and Secret in another role.
    "registry-reports": (RegistrySettings,),
}
PROGRAM = {"registry-reports": "registry"}  # image, Secret, config of the program it runs
HTTP_SCALED = {"intake", "evidence", "registry-reports"}  # HPA on CPU
# The HS256 "Masuk lokal" secret: a development shortcut that production refuses (issue 16).
DEVELOPMENT_ONLY = {"SIPUMA_TOKEN_SECRET"}
LAG_SCALED = {"registry", "notifier"}  # KEDA on consumer lag
# Settings that carry a credential although not typed SecretStr (a URI with a password, a user).
ALSO_SECRET = {
    "SIPUMA_MONGO_URI",
    "SIPUMA_S3_ACCESS_KEY",
    "SIPUMA_SMTP_USERNAME",
    "SIPUMA_SMS_USER_KEY",
}
Doc = dict[str, Any]


def _group(service: str) -> str:
    """The service's consumer group, as its settings name it ('' when it joins none)."""
    settings = SERVICES[service][0]
    assert issubclass(settings, ServiceSettings)
    return settings().consumer_group


def _groups(service: str) -> set[str]:
    """Every consumer group the service joins (each has its dead-letter topic)."""
    settings = SERVICES[service][0]()
    return {
        str(getattr(settings, name))
        for name in type(settings).model_fields
        if name.endswith("consumer_group") and getattr(settings, name)
    }


def _env_name(cls: type[BaseSettings], field: str) -> str:
    return (str(cls.model_config.get("env_prefix") or "") + field).upper()


def _is_secret(cls: type[BaseSettings], field: str) -> bool:
    annotation = str(cls.model_fields[field].annotation)
    return "SecretStr" in annotation or _env_name(cls, field) in ALSO_SECRET


@pytest.fixture(scope="module")
def kustomize() -> Path:
    return tools.ensure(tools.KUSTOMIZE)


@pytest.fixture(scope="module")
def kubeconform() -> Path:
    return tools.ensure(tools.KUBECONFORM)


def _render(kustomize: Path, overlay: str) -> str:
    result = subprocess.run(
        [str(kustomize), "build", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kustomize build {overlay} failed:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def rendered(kustomize: Path) -> dict[str, str]:
    return {overlay: _render(kustomize, overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="module")
def objects(rendered: dict[str, str]) -> dict[str, list[Doc]]:
    return {o: [d for d in yaml.safe_load_all(text) if d] for o, text in rendered.items()}


def validate(kubeconform: Path, text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(text)
    return subprocess.run(
        [
            str(kubeconform),
            "-strict",
            "-summary",
            "-n",
            "1",
            "-schema-location",
            str(SCHEMAS) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json",
            str(manifest),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _of(docs: list[Doc], kind: str) -> dict[str, Doc]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _workloads(docs: list[Doc]) -> dict[str, Doc]:
    return {**_of(docs, "Deployment"), **_of(docs, "StatefulSet")}


# --- the schemas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_is_valid_against_kubernetes_keda_and_strimzi_schemas(
    kubeconform: Path, rendered: dict[str, str], overlay: str, tmp_path: Path
) -> None:
    result = validate(kubeconform, rendered[overlay], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Invalid: 0, Errors: 0, Skipped: 0" in result.stdout


def _break(docs: list[Doc], kind: str, change: Any) -> str:
    broken = copy.deepcopy(docs)
    target = next(d for d in broken if d["kind"] == kind)
    change(target)
    return str(yaml.safe_dump_all(broken))


BROKEN = {
    # a misspelt field (strict schemas refuse what they do not list)
    "Deployment": lambda d: d["spec"].update(replica=2),
    # a number written as a word
    "KafkaTopic": lambda d: d["spec"].update(partitions="six"),
    "ScaledObject": lambda d: d["spec"].update(maxReplicaCount="all"),
    # a probe with no handler type known to Kubernetes
    "StatefulSet": lambda d: d["spec"]["template"]["spec"]["containers"][0]["livenessProbe"].update(
        httpGet={"path": "/healthz", "port": "http", "verb": "GET"}
    ),
    "NetworkPolicy": lambda d: d["spec"].update(policyTypes="Ingress"),
    "PrometheusRule": lambda d: d["spec"]["groups"][0].update(rules="none"),
    "HTTPRoute": lambda d: d["spec"]["rules"][0]["matches"][0]["path"].update(type="Glob"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_manifest_fails_validation(
    kubeconform: Path, objects: dict[str, list[Doc]], kind: str, tmp_path: Path
) -> None:
    result = validate(kubeconform, _break(objects["dev"], kind, BROKEN[kind]), tmp_path)
    assert result.returncode != 0
    assert re.search(rf"{kind} \S+ is invalid", result.stdout), result.stdout


def test_a_kind_without_a_schema_fails_instead_of_being_skipped(
    kubeconform: Path, objects: dict[str, list[Doc]], tmp_path: Path
) -> None:
    unknown = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "x"}}
    result = validate(kubeconform, yaml.safe_dump_all([*objects["dev"], unknown]), tmp_path)
    assert result.returncode != 0
    assert "Gadget" in result.stdout


# --- what the schemas cannot say -----------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_has_its_own_workload_service_account_pdb_and_policy(
    objects: dict[str, list[Doc]], overlay: str
) -> None:
    docs = objects[overlay]
    for kind in ("Service", "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy"):
        assert set(SERVICES) <= set(_of(docs, kind)), kind
    workloads = _workloads(docs)
    assert set(workloads) == set(SERVICES)
    for name, workload in workloads.items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == name
        assert pod["automountServiceAccountToken"] is False
    assert not _of(docs, "Secret"), "no Secret (and no secret value) in a manifest"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_security_context_and_resources(objects: dict[str, list[Doc]], overlay: str) -> None:
    for name, workload in _workloads(objects[overlay]).items():
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), (name, bound)


def test_the_services_really_serve_the_probed_paths() -> None:
    """The probes point at routes the shared plumbing mounts in every service."""
    from sipuma.shared.health import health_router

    paths = {route.path for route in health_router().routes}  # type: ignore[attr-defined]
    assert {"/healthz", "/readyz", "/metrics"} <= paths


def _env_files(service: str) -> list[Path]:
    program = PROGRAM.get(service, service)
    return [K8S / "base" / name / "config.env" for name in dict.fromkeys((program, service))] + [
        K8S / "base" / "common.env"
    ]


def _commented_keys(service: str) -> set[str]:
    keys = set()
    for path in _env_files(service):
        keys |= set(re.findall(r"^# (SIPUMA_[A-Z0-9_]+)=", path.read_text(), re.MULTILINE))
    return keys


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_setting_comes_from_a_config_map_or_a_secret(
    objects: dict[str, list[Doc]], overlay: str, service: str
) -> None:
    docs = objects[overlay]
    config_maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    (container,) = _workloads(docs)[service]["spec"]["template"]["spec"]["containers"]
    from_config: set[str] = set()
    for source in container["envFrom"]:
        from_config |= set(config_maps[source["configMapRef"]["name"]]["data"])
    from_secret = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    optional = _commented_keys(service)
    for cls in SERVICES[service]:
        for field in cls.model_fields:
            env = _env_name(cls, field)
            if env in DEVELOPMENT_ONLY:  # production refuses it (issue 16): nowhere in k8s
                assert env not in from_secret and env not in from_config, env
            elif _is_secret(cls, field):
                secret = f"sipuma-{PROGRAM.get(service, service)}"
                assert from_secret.get(env) == secret, f"{env}: not from the Secret"
                assert env not in from_config, f"{env}: a secret in a ConfigMap"
            else:
                assert env in from_config or env in optional, f"{service}: {env} not configured"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_values_are_accepted_by_the_services_settings(
    objects: dict[str, list[Doc]], overlay: str
) -> None:
    """Each service's settings load from its ConfigMaps alone (development mode: the Secrets
    are not in the manifests, and production refuses the built-in secrets)."""
    config_maps = _of(objects[overlay], "ConfigMap")
    workloads = _workloads(objects[overlay])
    for service, classes in SERVICES.items():
        env: dict[str, str] = {}
        # As the pod gets them: the workload's ConfigMaps in order, a later key wins.
        (container,) = workloads[service]["spec"]["template"]["spec"]["containers"]
        for source in container["envFrom"]:
            env |= config_maps[source["configMapRef"]["name"]]["data"]
        env["SIPUMA_ENVIRONMENT"] = "development"
        with pytest.MonkeyPatch.context() as patch:
            for key in [k for k in os.environ if k.startswith("SIPUMA_")]:
                patch.delenv(key)
            for key, value in env.items():
                patch.setenv(key, value)
            for cls in classes:
                assert cls(), (service, cls)


def _partitions(docs: list[Doc]) -> int:
    common = next(
        cm["data"] for n, cm in _of(docs, "ConfigMap").items() if n.startswith("sipuma-common-")
    )
    return int(common["SIPUMA_TOPIC_PARTITIONS"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_topics_are_the_declared_ones_with_replication_3_and_min_isr_2(
    objects: dict[str, list[Doc]], overlay: str
) -> None:
    docs = objects[overlay]
    groups = {group for service in SERVICES for group in _groups(service)}
    expected = {spec.name for spec in topics.ALL_TOPICS} | {
        topics.dead_letter_topic(group) for group in groups
    }
    kafka_topics = _of(docs, "KafkaTopic")
    assert set(kafka_topics) == expected
    partitions = _partitions(docs)
    for name, topic in kafka_topics.items():
        spec = topic["spec"]
        assert spec["replicas"] == 3, name
        assert spec["partitions"] == partitions, name
        assert spec["config"]["min.insync.replicas"] == "2", name
        # The same retention the services' own bootstrap (ensure_topics) gives a topic.
        declared = topics.declared_spec(name)
        analytics = declared is not None and not declared.restricted
        expected_retention = ANALYTICS_RETENTION_MS if analytics else DEFAULT_RETENTION_MS
        assert int(spec["config"]["retention.ms"]) == expected_retention, name
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "sipuma-kafka"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscaling_http_on_cpu_consumers_on_lag_capped_by_partitions(
    objects: dict[str, list[Doc]], overlay: str
) -> None:
    docs = objects[overlay]
    hpas, scaled = _of(docs, "HorizontalPodAutoscaler"), _of(docs, "ScaledObject")
    assert set(hpas) == HTTP_SCALED
    assert set(scaled) == LAG_SCALED
    partitions = _partitions(docs)
    for name, obj in scaled.items():
        assert obj["spec"]["maxReplicaCount"] == partitions, name
        kafka = next(t for t in obj["spec"]["triggers"] if t["type"] == "kafka")
        assert kafka["metadata"]["consumerGroup"] == _group(name)
    workloads = _workloads(docs)
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == workloads[name]["kind"]
    for name, workload in workloads.items():
        assert "replicas" not in workload["spec"], f"{name}: the autoscaler owns the count"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_only_the_diagrams_arrows(
    objects: dict[str, list[Doc]], overlay: str
) -> None:
    policies = _of(objects[overlay], "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    for name in SERVICES:
        spec = policies[name]["spec"]
        callers = set()
        for rule in spec.get("ingress", []):
            for peer in rule["from"]:
                # Services meet in Kafka; the one call between them: intake and evidence ask
                # the registry which complaint a register number is.
                if "podSelector" in peer:
                    callers.add(peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"])
                else:
                    assert "namespaceSelector" in peer, (name, peer)
        assert callers == ({"intake", "evidence"} if name == "registry" else set()), name
        called = {
            peer["podSelector"]["matchLabels"].get("app.kubernetes.io/name")
            for rule in spec["egress"]
            for peer in rule.get("to", [])
            if "podSelector" in peer
        }
        assert ("registry" in called) == (name in {"intake", "evidence"}), name
        ingress_from = {
            label
            for rule in spec.get("ingress", [])
            for peer in rule["from"]
            for label in peer.get("namespaceSelector", {}).get("matchLabels", {})
        }
        public = "sipuma.beacukai.go.id/ingress" in ingress_from
        assert public == (name != "notifier"), name
        ports = {p["port"] for rule in spec["egress"] for p in rule.get("ports", [])}
        assert (9092 in ports) == (name != "registry-reports"), name  # the read side: no Kafka
        assert (27017 in ports) == (name != "intake"), name
        assert (9000 in ports) == (name == "evidence"), name


def test_images_are_the_dockerfiles_services(objects: dict[str, list[Doc]]) -> None:
    dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    assert "sipuma-${SERVICE}" in dockerfile
    for overlay in OVERLAYS:
        for name, workload in _workloads(objects[overlay]).items():
            image = workload["spec"]["template"]["spec"]["containers"][0]["image"]
            program = PROGRAM.get(name, name)
            assert re.fullmatch(rf"(\S+/)?sipuma/{program}:[\w.-]+", image), image
            assert not image.endswith(":latest")


def test_no_secret_value_in_any_source_file() -> None:
    for path in K8S.rglob("*"):
        if path.suffix in {".yaml", ".env"}:
            text = path.read_text()
            assert "kind: Secret\n" not in text, path
            assert not re.search(r"(?i)(password|secret_key|token_secret)=\S", text), path


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_registry_read_side_runs_the_reports_role(
    objects: dict[str, list[Doc]], overlay: str
) -> None:
    """registry-reports is the registry's program in its `reports` role (its ConfigMap last, so
    its keys win); the registry itself keeps the `all` role."""
    config_maps = _of(objects[overlay], "ConfigMap")
    workloads = _workloads(objects[overlay])
    roles = {}
    for name in ("registry", "registry-reports"):
        (container,) = workloads[name]["spec"]["template"]["spec"]["containers"]
        env: dict[str, str] = {}
        for source in container["envFrom"]:
            env |= config_maps[source["configMapRef"]["name"]]["data"]
        roles[name] = env["SIPUMA_REGISTRY_ROLE"]
    assert roles == {"registry": "all", "registry-reports": "reports"}


def _routed(route: Doc, path: str) -> tuple[str, str] | None:
    """(backend Service, path it receives) for a request path, as the Gateway API matches: the
    longest matching prefix wins, a prefix matches whole path segments; a redirect or no match
    is None."""
    best: tuple[int, Doc, str] | None = None
    for rule in route["spec"]["rules"]:
        for match in rule["matches"]:
            kind, value = match["path"]["type"], match["path"]["value"]
            hit = path == value if kind == "Exact" else (path + "/").startswith(value + "/")
            if hit and (best is None or len(value) > best[0]):
                best = (len(value), rule, value)
    if best is None or "backendRefs" not in best[1]:
        return None
    _, rule, prefix = best
    for step in rule.get("filters", []):
        if step["type"] == "URLRewrite":
            path = step["urlRewrite"]["path"]["replacePrefixMatch"] + path[len(prefix) :]
    (backend,) = rule["backendRefs"]
    return backend["name"], path


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_public_route_serves_the_console_and_each_api_and_nothing_else(
    objects: dict[str, list[Doc]], overlay: str
) -> None:
    """One HTTPRoute: the console's same-origin paths (intake/config.env's SIPUMA_CONSOLE_*_URL)
    reach each service's `/v1` with the prefix removed; /metrics, the probes and the OpenAPI pages
    of no service are public; every backend is a Service of the manifests."""
    (route,) = _of(objects[overlay], "HTTPRoute").values()
    services = _of(objects[overlay], "Service")
    config = _of(objects[overlay], "ConfigMap")
    console = next(c["data"] for n, c in config.items() if n.startswith("sipuma-intake"))
    expected = {
        "SIPUMA_CONSOLE_REGISTRY_URL": "registry",
        "SIPUMA_CONSOLE_REPORTS_URL": "registry-reports",
        "SIPUMA_CONSOLE_EVIDENCE_URL": "evidence",
    }
    for key, service in expected.items():
        base = console[key]
        assert _routed(route, f"{base}/v1/complaints/x?y") == (service, "/v1/complaints/x?y")
    assert _routed(route, "/registry/v1/track") == ("registry", "/v1/track")
    for path in ("/v1/complaints", "/konsol/daftar", "/konsol/static/console.js", "/lacak"):
        assert _routed(route, path) == ("intake", path)
    private = ("/metrics", "/healthz", "/readyz", "/docs", "/openapi.json")
    for prefix in ("", "/registry", "/registry-reports", "/evidence"):
        for path in private:
            assert _routed(route, prefix + path) is None, prefix + path
    assert _routed(route, "/registry-reportsx/v1/complaints") is None
    for rule in route["spec"]["rules"]:
        for backend in rule.get("backendRefs", []):
            ports = [p["port"] for p in services[backend["name"]]["spec"]["ports"]]
            assert backend["port"] in ports, backend
