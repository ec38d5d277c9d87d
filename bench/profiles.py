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


@contextlib.contextmanager
def profiling(enabled: bool, label: str, pids: dict[str, int]) -> Iterator[None]:
    """py-spy on each pid while the block runs (nothing when not `enabled`)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    running: list[subprocess.Popen[bytes]] = []
    if enabled:
        PROFILES.mkdir(exist_ok=True)
        for name, pid in pids.items():
            out = PROFILES / f"{label}-{name}.speedscope.json"
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
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    for own, title in ((True, "own time"), (False, "on the stack")):
        print(f"-- {title}")
        for frame, share in top(Path(sys.argv[1]), n, own=own):
            print(f"{share:6.1%}  {frame}")
