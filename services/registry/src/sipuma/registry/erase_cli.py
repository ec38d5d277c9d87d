"""`sipuma-registry-erase NUMBER... --officer NIP`: erase complainants' identity from the command
line (retention runs, a lawful request handled by an administrator), the same use case as the
supervisors' `DELETE /v1/complaints/{number}/identity`: the data key is deleted, the erasure is
recorded, and `complaint.identity-erased.v1` waits in the outbox, which the running registry's
relay publishes (this command does not talk to Kafka)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sipuma.registry.domain import NotFound
from sipuma.registry.main import build
from sipuma.registry.settings import RegistrySettings
from sipuma.shared.events import Event


async def _deferred(event: Event, topic: str, payload: str | None = None) -> None:
    raise ConnectionError("published by the running registry's outbox relay")


async def erase(settings: RegistrySettings, numbers: list[str], officer: str) -> int:
    built = build(settings, publish=_deferred)
    failures = 0
    try:
        await built.store.ensure_indexes()
        for number in numbers:
            try:
                erased = await built.registry.erase_identity(number, officer)
            except NotFound:
                print(f"{number}: tidak ditemukan · not found", file=sys.stderr)
                failures += 1
                continue
            state = "dihapus · erased" if erased else "sudah dihapus · already erased"
            print(f"{number}: {state}")
    finally:
        await built.store.close()
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sipuma-registry-erase", description=__doc__)
    parser.add_argument("numbers", nargs="+", metavar="REGISTER_NUMBER")
    parser.add_argument("--officer", required=True, help="NIP of the officer who decided it")
    args = parser.parse_args(argv)
    return asyncio.run(erase(RegistrySettings(), args.numbers, args.officer))


def run() -> None:
    raise SystemExit(main())
