"""Builds and runs `composecheck`, the Compose-file validator in tests/compose/composecheck/.

composecheck is a small Go program on the Compose Specification's reference loader
(github.com/compose-spec/compose-go/v2, the library inside `docker compose`) and BuildKit's
Dockerfile parser, so the project's docker-compose.yml is checked exactly as Docker would load it,
on machines without a Docker engine. Versions are pinned in composecheck/go.mod and go.sum.

The compiled binary is cached in ``$SIPUMA_CACHE_DIR/bin`` (default ``~/.cache/sipuma/bin``) under a
name keyed by the compose-go version and a hash of the Go sources, go.mod, go.sum and the Go
toolchain version, so it is built once per change. Needs Go (``go`` on PATH or /usr/local/go/bin).

Also usable by hand:  ``uv run python -m tests.compose.validator [FILE ...]``
(default: the repository's docker-compose.yml; prints the loaded project as JSON).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIR = Path(__file__).resolve().parent / "composecheck"
COMPOSE_FILE = ROOT / "docker-compose.yml"
BUILD_TIMEOUT_S = 900
RUN_TIMEOUT_S = 120


class ValidatorUnavailable(RuntimeError):
    """The validator could not be built (no Go toolchain, or the build failed)."""


def go_command() -> str:
    found = shutil.which("go")
    if found:
        return found
    fallback = Path("/usr/local/go/bin/go")
    if fallback.is_file():
        return str(fallback)
    raise ValidatorUnavailable(
        "Go is needed to build the docker-compose.yml validator (tests/compose/composecheck): "
        "install Go 1.24+ and put `go` on PATH"
    )


def cache_dir() -> Path:
    base = os.environ.get("SIPUMA_CACHE_DIR") or str(Path.home() / ".cache" / "sipuma")
    return Path(base) / "bin"


def compose_go_version() -> str:
    match = re.search(
        r"github\.com/compose-spec/compose-go/v2\s+(v\S+)", (SOURCE_DIR / "go.mod").read_text()
    )
    if not match:
        raise ValidatorUnavailable("composecheck/go.mod does not pin compose-spec/compose-go/v2")
    return match.group(1)


def _sources() -> list[Path]:
    return sorted([SOURCE_DIR / "go.mod", SOURCE_DIR / "go.sum", *SOURCE_DIR.glob("*.go")])


def binary_path(go: str) -> Path:
    toolchain = subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    digest = hashlib.sha256(toolchain.encode())
    for path in _sources():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return cache_dir() / f"composecheck-{compose_go_version()}-{digest.hexdigest()[:12]}"


def build() -> Path:
    """The path of the compiled validator, building it first if this version is not cached."""
    go = go_command()
    target = binary_path(go)
    if target.is_file() and os.access(target, os.X_OK):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOWORK": "off", "CGO_ENABLED": "0"}
    fd, tmp_name = tempfile.mkstemp(prefix=".composecheck-", dir=target.parent)
    os.close(fd)
    try:
        result = subprocess.run(
            [go, "build", "-mod=readonly", "-trimpath", "-buildvcs=false", "-o", tmp_name, "."],
            cwd=SOURCE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
        )
        if result.returncode != 0:
            raise ValidatorUnavailable(
                f"building composecheck failed ({result.returncode}):\n{result.stderr}"
            )
        os.chmod(tmp_name, 0o755)
        os.replace(tmp_name, target)  # atomic: a concurrent run sees the old or the new file
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    for stale in target.parent.glob("composecheck-*"):
        if stale != target:
            stale.unlink(missing_ok=True)
    return target


def run(
    files: list[Path],
    *,
    workdir: Path | None = None,
    env: dict[str, str] | None = None,
    binary: Path | None = None,
    extra_args: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Validate `files`; exit code 0 and the loaded project as JSON on stdout when valid."""
    exe = binary or build()
    args = [str(exe), *(extra_args or [])]
    if workdir is not None:
        args += ["-workdir", str(workdir)]
    args += [str(f) for f in files]
    return subprocess.run(
        args, capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT_S, check=False
    )


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or [COMPOSE_FILE]
    try:
        result = run(files)
    except ValidatorUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
