"""Regenerate the JSON schemas kubeconform validates deploy/k8s against (offline, no GitHub).

kubeconform normally downloads its schemas from GitHub, which CI cannot reach. The same schemas
are derived here from sources the Go module proxy serves, and only for the kinds SIPUMA uses:

- Kubernetes kinds: the OpenAPI v3 documents in the `k8s.io/kubernetes` module
  (api/openapi-spec/v3/*.json), every `$ref` kept as a local definition.
- KEDA `ScaledObject`: config/crd/bases in `github.com/kedacore/keda/v2`.
- prometheus-operator `PrometheusRule`: example/prometheus-operator-crd in its module.
- Strimzi `KafkaTopic`: Strimzi is not a Go module; its CRD YAML (packaging/install/
  cluster-operator/043-Crd-kafkatopic.yaml of the release tag below) is read from a checkout of
  github.com/strimzi/strimzi-kafka-operator given with --strimzi.

"Strict" like kubeconform's own `-strict` schemas: an object that lists its properties refuses
others (a misspelt field fails), except where the API says it keeps unknown fields.
File names follow kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json` template.

    uv run python deploy/k8s/schemas/generate.py --strimzi <strimzi-checkout-at-tag>
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
KUBERNETES = "k8s.io/kubernetes@v1.34.2"
KEDA = "github.com/kedacore/keda/v2@v2.18.1"
PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
GATEWAY_API = "sigs.k8s.io/gateway-api@v1.4.1"
STRIMZI = "1.2.0"

# (OpenAPI document, definition name) per Kubernetes kind SIPUMA's manifests use.
KUBERNETES_KINDS = {
    "deployment-apps-v1": ("apis__apps__v1_openapi.json", "io.k8s.api.apps.v1.Deployment"),
    "statefulset-apps-v1": ("apis__apps__v1_openapi.json", "io.k8s.api.apps.v1.StatefulSet"),
    "service-v1": ("api__v1_openapi.json", "io.k8s.api.core.v1.Service"),
    "serviceaccount-v1": ("api__v1_openapi.json", "io.k8s.api.core.v1.ServiceAccount"),
    "configmap-v1": ("api__v1_openapi.json", "io.k8s.api.core.v1.ConfigMap"),
    "namespace-v1": ("api__v1_openapi.json", "io.k8s.api.core.v1.Namespace"),
    "poddisruptionbudget-policy-v1": (
        "apis__policy__v1_openapi.json",
        "io.k8s.api.policy.v1.PodDisruptionBudget",
    ),
    "networkpolicy-networking-v1": (
        "apis__networking.k8s.io__v1_openapi.json",
        "io.k8s.api.networking.v1.NetworkPolicy",
    ),
    "horizontalpodautoscaler-autoscaling-v2": (
        "apis__autoscaling__v2_openapi.json",
        "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
    ),
}
CRDS = {
    # file name: (module, path in module, version)
    "scaledobject-keda-v1alpha1": (KEDA, "config/crd/bases/keda.sh_scaledobjects.yaml", "v1alpha1"),
    "prometheusrule-monitoring-v1": (
        PROMETHEUS_OPERATOR,
        "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
        "v1",
    ),
    "podmonitor-monitoring-v1": (
        PROMETHEUS_OPERATOR,
        "example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml",
        "v1",
    ),
    "httproute-gateway-v1": (
        GATEWAY_API,
        "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
        "v1",
    ),
}
STRIMZI_CRD = ("kafkatopic-kafka-v1", "packaging/install/cluster-operator/043-Crd-kafkatopic.yaml")


def module_dir(module: str) -> Path:
    out = subprocess.run(
        ["go", "mod", "download", "-json", module],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GOFLAGS": "-mod=mod"},
    ).stdout
    return Path(json.loads(out)["Dir"])


def strict(node: Any) -> Any:
    """Objects with listed properties refuse unknown ones (unless the API keeps them). Prose
    (`description`) is left out: it is most of the bytes and validates nothing."""
    if isinstance(node, dict):
        out = {
            k: ({p: strict(s) for p, s in v.items()} if k == "properties" else strict(v))
            for k, v in node.items()
            if not (k == "description" and isinstance(v, str))
        }
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [strict(v) for v in node]
    return node


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _relink(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (v.replace("#/components/schemas/", "#/definitions/") if k == "$ref" else _relink(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_relink(v) for v in node]
    return node


def kubernetes_schema(spec_dir: Path, document: str, name: str) -> dict[str, Any]:
    schemas = json.loads((spec_dir / document).read_text())["components"]["schemas"]
    wanted, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in wanted:
            continue
        wanted.add(current)
        todo.extend(_refs(schemas[current]) - wanted)
    root: dict[str, Any] = strict(_relink(schemas[name]))
    root["definitions"] = {n: strict(_relink(schemas[n])) for n in sorted(wanted)}
    return root


def crd_schema(path: Path, version: str) -> dict[str, Any]:
    crd = yaml.safe_load(path.read_text())
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            schema: dict[str, Any] = strict(entry["schema"]["openAPIV3Schema"])
            # The CRD leaves metadata open; kubeconform checks it like any object's.
            schema["properties"]["metadata"] = {"type": "object"}
            return schema
    raise LookupError(f"{path.name} has no version {version}")


def write(name: str, schema: dict[str, Any]) -> None:
    (HERE / f"{name}.json").write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--strimzi", type=Path, required=True, help=f"checkout at tag {STRIMZI}")
    args = parser.parse_args()
    spec_dir = module_dir(KUBERNETES) / "api/openapi-spec/v3"
    for name, (document, definition) in KUBERNETES_KINDS.items():
        write(name, kubernetes_schema(spec_dir, document, definition))
    for name, (module, path, version) in CRDS.items():
        write(name, crd_schema(module_dir(module) / path, version))
    write(STRIMZI_CRD[0], crd_schema(args.strimzi / STRIMZI_CRD[1], "v1"))


if __name__ == "__main__":
    main()
