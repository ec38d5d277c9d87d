"""One run on the cluster world: load that keeps coming for as long as the action (a fault, a
scale step) lasts, then the exact, cumulative reconciliation of tests/chaos."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from tests.chaos.infra import OFFICES, World
from tests.chaos.load import Ledger, reconcile, run_load, settle, wait_converged

RUNS = int(os.environ.get("SIPUMA_CHAOS_RUNS", "1"))
PER_OFFICE = int(os.environ.get("SIPUMA_CHAOS_PER_OFFICE", "4"))  # per office per load round
SPREAD_S = float(os.environ.get("SIPUMA_CHAOS_SPREAD_S", "6"))  # one load round lasts this long
CONVERGE_S = float(os.environ.get("SIPUMA_CHAOS_CONVERGE_S", "180"))
# Scale-out: five offices submit (issue 17): the chaos offices and two more.
FIVE_OFFICES = (*OFFICES, "KPPBC-TMP-BATAM", "KPPBC-TMP-JAYAPURA")


def run_under_load(
    world: World,
    ledger: Ledger,
    action: Callable[[], dict[str, Any]],
    seed: int,
    offices: tuple[str, ...] = OFFICES,
) -> dict[str, Any]:
    """Load rounds back to back until `action` returned (so the whole action is under load),
    then wait for everything the clients were told about, settle, reconcile. Answers the
    action's own numbers, the timings and the reconciliation (problems new in this run)."""
    before = len(ledger.complaints)
    done = threading.Event()

    def load() -> None:
        round_ = 0
        while True:
            run_load(world, ledger, PER_OFFICE, SPREAD_S, seed * 100 + round_, offices)
            round_ += 1
            if done.is_set():
                return

    loader = threading.Thread(target=load, daemon=True)
    started = time.monotonic()
    loader.start()
    time.sleep(SPREAD_S * 0.25)  # the fault comes a quarter into the first round
    action_started = time.monotonic()
    try:
        measured = action()
    finally:
        done.set()
    action_s = time.monotonic() - action_started
    loader.join()
    load_s = time.monotonic() - started
    recovery_s = wait_converged(world, ledger, CONVERGE_S)
    settle(world)  # every redelivery handled: a late duplicate would be in the sinks now
    outcome = reconcile(world, ledger)
    new = [p for p in outcome["problems"] if p not in ledger.known_problems]
    ledger.known_problems.update(outcome["problems"])
    if recovery_s < 0:
        new.append(f"not converged within {CONVERGE_S:g} s")
    return {
        **measured,
        "fault_s": round(action_s, 1),
        "load_s": round(load_s, 1),
        "recovery_s": round(recovery_s, 1),
        "run_complaints": len(ledger.complaints) - before,
        **{k: v for k, v in outcome.items() if k != "problems"},
        "new_problems": new,
    }
