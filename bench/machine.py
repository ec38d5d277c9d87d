"""Where the machine's CPU went while a measurement ran: every core's busy time (/proc/stat)
and the share of the processes that matter (the service under test, the store, Kafka, the bench
process itself; the rest is "other"). A rate on 2 shared cores says little alone; the CPU it
took of the machine, per unit of work, says whether the machine or a wait bounds it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _busy_seconds() -> float:
    """All cores' non-idle time since boot (user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


def _process_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _group_of(pid: int, named: dict[int, str]) -> str | None:
    if pid in named:
        return named[pid]
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return None
    if command.startswith(b"postgres") or b"/postgres " in command or b"documentdb_gw" in command:
        return "store"
    if b"kafka" in command and b"java" in command:
        return "kafka"
    return None


def _snapshot(named: dict[int, str]) -> dict[int, tuple[str, float]]:
    found: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        group = _group_of(pid, named)
        if group is None:
            continue
        seconds = _process_seconds(pid)
        if seconds is not None:
            found[pid] = (group, seconds)
    return found


@contextlib.contextmanager
def machine_cpu(named: dict[int, str], into: dict[str, float]) -> Iterator[None]:
    """Fill `into` with the CPU seconds the machine spent while the block ran: `machine` (every
    core), and per group: `named` pids (e.g. {registry pid: "registry"}), `store` (PostgreSQL's
    processes and the DocumentDB gateway), `kafka`, `bench` (this process), `other` (the rest:
    other services of the stack, the kernel's own work). A store backend that ended during the
    block loses its share to `other`, one that started counts from zero."""
    named = {**named, os.getpid(): "bench"}
    busy, before = _busy_seconds(), _snapshot(named)
    try:
        yield
    finally:
        after = _snapshot(named)
        spent = _busy_seconds() - busy
        groups: dict[str, float] = {name: 0.0 for name in (*named.values(), "store", "kafka")}
        for pid, (group, seconds) in after.items():
            groups[group] += seconds - before.get(pid, (group, 0.0))[1]
        into.clear()
        into["machine"] = round(spent, 3)
        into.update({name: round(value, 3) for name, value in groups.items()})
        into["other"] = round(max(spent - sum(groups.values()), 0.0), 3)


def per_unit_ms(spent: dict[str, float], units: int) -> dict[str, float]:
    """`machine_cpu`'s seconds as CPU milliseconds per unit of work."""
    return {name: round(value * 1000 / max(units, 1), 3) for name, value in spent.items()}
