"""Render the chaos results as `docs/reliability.md` (rewritten after every run, so an
interrupted long pass still leaves its numbers). Regenerate from a saved pass with
`python -m tests.chaos.report <world>/results.json docs/reliability.md [total_s] [startup_s]`."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.chaos.infra import World

METHOD = """\
## How a run goes

`tests/chaos` starts a **private** stack on free ports, never the shared servers on 127.0.0.1:
its own single-node Kafka 4.1.1 (KRaft, from the jars `deploy/local/infra.sh` caches, own data
folder), its own store (PostgreSQL 15 + DocumentDB + DocumentDB's gateway, TLS + SCRAM, own
cluster and ports, through `deploy/local/documentdb/store.sh`), MinIO, the aiosmtpd SMTP sink
(`deploy/local/mailsink.py`) and the SMS-gateway sink (`deploy/local/smssink.py`), then
`sipuma-intake`, `sipuma-registry`, `sipuma-evidence` and `sipuma-notifier` as separate
processes (`SIPUMA_TOPIC_PREFIX=sipuma.chaos.`, own databases and bucket, 2 partitions per
topic). Each piece can be SIGKILLed or stopped and started again on the same port and data
folder.

Every run of every scenario:
1. **Load**: three offices (KPUBC-TPK-TJPRIOK in WIB, KPPBC-TMP-NGURAHRAI and KPPBC-TMP-MAKASSAR in
   WITA) post complaints through intake's HTTP API in parallel, spread over the load window.
   Every other complaint carries a tracking contact (unique e-mail + Indonesian mobile), every
   third is followed by an evidence upload (text file, streamed to `sipuma-evidence`). Like a
   careful browser, the client sends an `Idempotency-Key` and retries with the same key and body
   until it gets a 2xx (connection refused, 5xx, 409 "still running"); uploads are retried until
   201 (503 while MinIO is down, 404 until evidence has seen the complaint).
2. **Fault**, a quarter into the load window (table below), then recovery (restart).
3. **Reconciliation, exact and cumulative** over everything the pass has done so far:
   - every complaint answered 2xx has exactly one register number and one complaint document;
     no complaint nobody was told about;
   - per office and register year the numbers are exactly 1..N: no gap, no duplicate;
   - every tracking contact has exactly one ticket, exactly one e-mail in the SMTP sink and exactly
     one SMS in the gateway sink. E-mails are counted by Message-ID: after a crash inside the
     provider call the notifier resends with the same Message-ID (SMTP cannot make a resend
     idempotent; the identity of an e-mail is its Message-ID and mailbox stores that suppress
     duplicates show it once), so a second copy of the *same* message is reported as a
     retransmission, while a second, different message fails the run. SMS resends carry the
     same `Idempotency-Key`, which the gateway sink (like real gateways that accept the header)
     answers from its record without sending again: a second SMS fails the run;
   - every upload answered 201 has its `EvidenceStored` on Kafka, and every `EvidenceStored` on
     Kafka has its object in MinIO (`stat_object`).
   The pass waits until everything the clients were told about has arrived ("recovery s" below:
   from the end of the load to that moment), waits 2 s more so a late duplicate would be seen,
   then checks. A run fails on any new problem; nothing is tolerated.

Short CI pass (`make test`, `pytest tests/chaos`): 1 run per scenario, store down 8 s, MinIO and
SMTP down 5 s, 4 complaints per office per run (about 3 minutes on a 2-core box).
Long pass: `make chaos` (`CHAOS_RUNS=20` by default, store down 30 s as the issue asks).
Knobs: `SIPUMA_CHAOS_RUNS`, `SIPUMA_CHAOS_PER_OFFICE`, `SIPUMA_CHAOS_SPREAD_S`,
`SIPUMA_CHAOS_STORE_DOWN_S`, `SIPUMA_CHAOS_OUTAGE_S`, `SIPUMA_CHAOS_CONVERGE_S`,
`SIPUMA_CHAOS_REPORT`.
"""


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    total: float = sum(r[key] for r in rows)
    return total / len(rows)


def render(results: list[dict[str, Any]], total_s: float, startup_s: float) -> str:
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        by[r["scenario"]].append(r)
    runs = {len(v) for v in by.values()}
    last = results[-1] if results else {}
    lines = [
        "# Reliability: fault injection under load",
        "",
        f"Last pass: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"{platform.system()} ({os.cpu_count()} CPUs); {len(by)} scenarios, "
        f"{'/'.join(str(n) for n in sorted(runs))} run(s) each, {len(results)} runs in all; "
        f"whole pass {total_s:.0f} s (private stack started in {startup_s:.0f} s). "
        f"In all: {last.get('complaints', 0)} complaints accepted "
        f"({last.get('queued_202', 0)} answered 202), {last.get('contacts', 0)} tracking contacts "
        f"→ {last.get('emails', 0)} e-mails / {last.get('sms', 0)} SMS "
        f"({last.get('email_retransmissions', 0)} e-mail retransmissions with the same "
        f"Message-ID, {last.get('sms_resends_folded', 0)} SMS resends folded by the gateway), "
        f"{last.get('evidence', 0)} uploads → {last.get('evidence_events', 0)} EvidenceStored, "
        f"{last.get('retries', 0)} client retries.",
        "",
        "| scenario | fault | runs | complaints | fault s (mean) | load s (mean) "
        "| recovery s (mean / max) | new problems |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for scenario, rs in by.items():
        problems = sum(len(r["new_problems"]) for r in rs) + sum(r["recovery_s"] < 0 for r in rs)
        lines.append(
            f"| {scenario} | {rs[0]['fault']} | {len(rs)} "
            f"| {sum(r['run_complaints'] for r in rs)} "
            f"| {_mean(rs, 'fault_s'):.1f} | {_mean(rs, 'load_s'):.1f} "
            f"| {_mean(rs, 'recovery_s'):.1f} / {max(r['recovery_s'] for r in rs):.1f} "
            f"| {problems or 'none'} |"
        )
    lines += ["", "## Problems found", ""]
    found = [(r["scenario"], r["run"], p) for r in results for p in r["new_problems"]]
    found += [(r["scenario"], r["run"], "did not converge") for r in results if r["recovery_s"] < 0]
    lines += [f"- {s} run {n}: {p}" for s, n, p in found] or [
        "None: every check held in every run."
    ]
    lines += ["", METHOD]
    return "\n".join(lines)


# The 3-broker section (tests/cluster writes its numbers there) is kept when this pass rewrites
# the file: everything from its heading on.
CLUSTER_SECTION = "## On three brokers"


def write_report(target: Path, results: list[dict[str, Any]], total_s: float, world: World) -> None:
    old = target.read_text() if target.exists() else ""
    kept = old[old.index(CLUSTER_SECTION) :] if CLUSTER_SECTION in old else ""
    target.write_text(render(results, total_s, world.startup_s) + ("\n" + kept if kept else ""))


if __name__ == "__main__":
    saved = json.loads(Path(sys.argv[1]).read_text())
    total = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    Path(sys.argv[2]).write_text(
        render(saved, total, float(sys.argv[4]) if len(sys.argv) > 4 else 0)
    )
