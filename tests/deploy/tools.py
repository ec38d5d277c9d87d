"""The pinned Go tools the deployment checks run: kustomize, kubeconform, promtool.

Each is built once with `go install <module>@<version>` (the Go module proxy, no other download)
into ``$SIPUMA_CACHE_DIR/tools/<name>-<version>/`` (default ``~/.cache/sipuma``), outside the
repository, and reused while the version stays. Needs Go (``go`` on PATH or /usr/local/go/bin);
promtool's first build takes several minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

BUILD_TIMEOUT_S = 1800


@dataclass(frozen=True)
class GoTool:
    name: str
    package: str
    version: str
    tags: str = ""  # Go build tags

    @property
    def path(self) -> Path:
        return cache_dir() / f"{self.name}-{self.version}" / self.name


KUSTOMIZE = GoTool("kustomize", "sigs.k8s.io/kustomize/kustomize/v5", "v5.8.2")
KUBECONFORM = GoTool("kubeconform", "github.com/yannh/kubeconform/cmd/kubeconform", "v0.8.0")
# github.com/prometheus/prometheus v0.316.0 is Prometheus 3.16. `remove_all_sd` leaves out the
# service-discovery plugins (cloud SDKs), which rule checks never use: a third of the build.
PROMTOOL = GoTool(
    "promtool", "github.com/prometheus/prometheus/cmd/promtool", "v0.316.0", "remove_all_sd"
)


class ToolUnavailable(RuntimeError):
    """No Go toolchain, or the build failed."""


def cache_dir() -> Path:
    base = os.environ.get("SIPUMA_CACHE_DIR") or str(Path.home() / ".cache" / "sipuma")
    return Path(base) / "tools"


def go_command() -> str:
    found = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").is_file() else None
    )
    if not found:
        raise ToolUnavailable("Go 1.26+ is needed to build the deployment checks: put go on PATH")
    return found


def ensure(tool: GoTool) -> Path:
    """The tool's binary, built first when this version is not in the cache."""
    if tool.path.is_file():
        return tool.path
    tool.path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GOBIN": str(tool.path.parent),
        "GOFLAGS": "-mod=mod",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }
    tags = [f"-tags={tool.tags}"] if tool.tags else []
    result = subprocess.run(
        [go_command(), "install", *tags, f"{tool.package}@{tool.version}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tool.path.parent,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0 or not tool.path.is_file():
        raise ToolUnavailable(f"go install {tool.package}@{tool.version} failed:\n{result.stderr}")
    return tool.path
