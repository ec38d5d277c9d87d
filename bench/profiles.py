"""Sampling profiles of the service processes while a phase runs (`--profile`): py-spy attaches
to the running process (no change to the service) and writes a speedscope file per phase and
service into bench/profiles/, where the report links them; open one at https://speedscope.app
or read its summary (`python -m bench.profiles FILE`: the functions with the most samples)."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

PROFILES = Path(__file__).resolve().parent / "profiles"
ROOT = PROFILES.parents[1]


def _short(file: str) -> str:
    """A frame's file without this machine's paths (the files are committed): relative to the
    repository, or from the package / standard-library folder on."""
    for marker in ("/site-packages/", "/lib/python3."):
        if marker in file:
            tail = file.split(marker, 1)[1]
            return tail if marker == "/site-packages/" else "python3." + tail
    path = Path(file)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def scrub(path: Path) -> None:
    """Rewrite a speedscope file with `_short` paths."""
    data = json.loads(path.read_text())
    for frame in data["shared"]["frames"]:
        if "file" in frame:
            frame["file"] = _short(frame["file"])
    path.write_text(json.dumps(data, separators=(",", ":")))


@contextlib.contextmanager
def profiling(enabled: bool, label: str, pids: dict[str, int]) -> Iterator[None]:
    """py-spy on each pid while the block runs (nothing when not `enabled`)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    running: list[subprocess.Popen[bytes]] = []
    written: list[Path] = []
    if enabled:
        PROFILES.mkdir(exist_ok=True)
        for name, pid in pids.items():
            out = PROFILES / f"{label}-{name}.speedscope.json"
            written.append(out)
            command = [spy, "record", "--pid", str(pid), "--rate", "200", "--nonblocking"]
            command += ["--format", "speedscope", "--output", str(out)]
            running.append(
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
    try:
        yield
    finally:
        for proc in running:
            proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for proc in running:
            proc.wait(60)
        for out in written:
            if out.exists():
                scrub(out)


def top(path: Path, n: int = 15, *, own: bool = False) -> list[tuple[str, float]]:
    """(frame, share of samples in which it is on the stack) for the n most present frames;
    with `own`, the share in which it is the innermost frame (its own time)."""
    data = json.loads(path.read_text())
    frames = [
        f"{f['name']} ({Path(f.get('file', '?')).name}:{f.get('line', '?')})"
        for f in data["shared"]["frames"]
    ]
    present: Counter[str] = Counter()
    total = 0
    for profile in data["profiles"]:
        for sample, weight in zip(profile["samples"], profile["weights"], strict=True):
            total += weight
            for frame in {frames[sample[-1]]} if own and sample else {frames[i] for i in sample}:
                present[frame] += weight
    return (
        [(frame, round(count / total, 3)) for frame, count in present.most_common(n)]
        if total
        else []
    )


if __name__ == "__main__":
    if sys.argv[1] == "--scrub":  # python -m bench.profiles --scrub FILE...
        for name in sys.argv[2:]:
            scrub(Path(name))
        sys.exit()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    for own, title in ((True, "own time"), (False, "on the stack")):
        print(f"-- {title}")
        for frame, share in top(Path(sys.argv[1]), n, own=own):
            print(f"{share:6.1%}  {frame}")
