"""The cluster pass's numbers as generated blocks of `docs/reliability.md` (3-broker chaos) and
`docs/scaling.md` (scale-out, throughput vs replicas), rewritten after every run when
`SIPUMA_CLUSTER_REPORT_DIR` names the docs folder (so an interrupted long pass still leaves its
numbers). Only the text between the markers is replaced; the prose around it is hand-written.
Regenerate from a saved pass: `python -m tests.cluster.report <world>/results.json docs`."""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.chaos.infra import World

BEGIN, END = "<!-- cluster-report:begin -->", "<!-- cluster-report:end -->"


def _stats(values: list[float]) -> str:
    return f"{sum(values) / len(values):.1f} / {max(values):.1f}" if values else "-"


def _problems(rows: list[dict[str, Any]]) -> str:
    return str(sum(len(r["new_problems"]) for r in rows) or "none")


def _header(results: list[dict[str, Any]]) -> str:
    last = results[-1] if results else {}
    return (
        f"Last pass: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"{platform.system()} ({os.cpu_count()} CPUs). Cumulative after its last run: "
        f"{last.get('complaints', 0)} complaints accepted ({last.get('queued_202', 0)} answered "
        f"202), {last.get('numbered', 0)} numbered, {last.get('contacts', 0)} tracking contacts "
        f"→ {last.get('emails', 0)} e-mails / {last.get('sms', 0)} SMS "
        f"({last.get('email_retransmissions', 0)} e-mail retransmissions with the same "
        f"Message-ID, {last.get('sms_resends_folded', 0)} SMS resends folded by the gateway), "
        f"{last.get('evidence', 0)} uploads → {last.get('evidence_events', 0)} EvidenceStored, "
        f"{last.get('retries', 0)} client retries."
    )


def render_chaos(results: list[dict[str, Any]]) -> str:
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by[r["scenario"]].append(r)
    lines = [
        _header(results),
        "",
        "| scenario | fault | runs | complaints | fault s (mean) | new leader s (mean / max) "
        "| replicas in sync s (mean / max) | recovery s (mean / max) | new problems |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario, rs in by.items():
        moved = [r["leader_moved_s"] for r in rs if "leader_moved_s" in r]
        in_sync = [r["in_sync_s"] for r in rs if "in_sync_s" in r]
        if not in_sync:  # the roll: per node, stop + start + in sync
            in_sync = [s for r in rs for s in r.get("node_s", [])]
        fault = sum(r["fault_s"] for r in rs) / len(rs)
        lines.append(
            f"| {scenario} | {rs[0]['fault']} | {len(rs)} | {sum(r['run_complaints'] for r in rs)} "
            f"| {fault:.1f} | {_stats(moved)} | {_stats(in_sync)} "
            f"| {_stats([r['recovery_s'] for r in rs])} | {_problems(rs)} |"
        )
    lines += _problem_list(results)
    return "\n".join(lines)


def _problem_list(results: list[dict[str, Any]]) -> list[str]:
    found = [
        f"- {r.get('scenario', 'scale')} run {r['run']}: {p}"
        for r in results
        for p in r["new_problems"]
    ]
    return ["", *(found or ["No problem in any run: every check held."])]


def render_scale(scale: list[dict[str, Any]], throughput: list[dict[str, Any]]) -> str:
    lines = [
        _header(scale),
        "",
        "| step | runs | complaints | step s (mean) | recovery s (mean / max) | new problems |",
        "|---|---|---|---|---|---|",
    ]
    if scale:
        lines.append(
            f"| registry 1 → 3 → 1, notifier 1 → 2 → 1 (5 offices submitting) | {len(scale)} "
            f"| {sum(r['run_complaints'] for r in scale)} "
            f"| {sum(r['fault_s'] for r in scale) / len(scale):.1f} "
            f"| {_stats([r['recovery_s'] for r in scale])} | {_problems(scale)} |"
        )
    lines += _problem_list(scale)
    by: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in throughput:
        by[r["replicas"]].append(r)
    if by:
        lines += [
            "",
            "| registry replicas | bursts | complaints per burst | numbered/s (mean / min / max) |",
            "|---|---|---|---|",
        ]
        for replicas, rs in sorted(by.items()):
            rates = [r["numbered_per_s"] for r in rs]
            lines.append(
                f"| {replicas} | {len(rs)} | {rs[0]['complaints']} "
                f"| {sum(rates) / len(rates):.1f} / {min(rates):.1f} / {max(rates):.1f} |"
            )
    return "\n".join(lines)


def replace_block(target: Path, block: str) -> None:
    text = target.read_text() if target.exists() else ""
    new = f"{BEGIN}\n{block}\n{END}"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: new, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + new + "\n"
    target.write_text(text)


def write_reports(
    results: dict[str, list[dict[str, Any]]], world: World | None = None, docs: Path | None = None
) -> None:
    folder = docs or (
        Path(os.environ["SIPUMA_CLUSTER_REPORT_DIR"])
        if os.environ.get("SIPUMA_CLUSTER_REPORT_DIR")
        else None
    )
    if folder is None:
        return
    if results["chaos"]:
        replace_block(folder / "reliability.md", render_chaos(results["chaos"]))
    if results["scale"] or results["throughput"]:
        replace_block(folder / "scaling.md", render_scale(results["scale"], results["throughput"]))


if __name__ == "__main__":
    write_reports(json.loads(Path(sys.argv[1]).read_text()), None, Path(sys.argv[2]))
