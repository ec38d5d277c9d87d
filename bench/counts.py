"""In-process counters the `*_counts` benches share: a service's store commands on its private
database (by name and collection) and libmongocrypt encryptions. Counts, unlike rates, do not
move with the machine's load."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pymongo import monitoring
from pymongo.asynchronous.encryption import AsyncClientEncryption


class StoreCommands(monitoring.CommandListener):
    """Commands sent to `database` ("insert deliveries", "find listing", ...); with
    `transactions`, also the commits and aborts (sent to `admin`). Register it before the
    service's clients are made: they report to the listeners registered then."""

    def __init__(self, database: str, *, transactions: bool = False) -> None:
        self.database = database
        self.transactions = transactions
        self.seen: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.transactions and event.command_name in ("commitTransaction", "abortTransaction"):
            self.seen[event.command_name] += 1
        elif event.database_name == self.database:
            target = event.command.get(event.command_name)
            where = f" {target}" if isinstance(target, str) else ""
            self.seen[event.command_name + where] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@dataclass
class Encryptions:
    count: int = 0


@contextmanager
def counted_encryptions() -> Iterator[Encryptions]:
    """Every `AsyncClientEncryption.encrypt` while the block runs (explicit encryption is how
    the identity vault seals)."""
    found = Encryptions()
    original = AsyncClientEncryption.encrypt

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        found.count += 1
        return await original(self, *args, **kwargs)

    setattr(AsyncClientEncryption, "encrypt", counted)  # noqa: B010
    try:
        yield found
    finally:
        setattr(AsyncClientEncryption, "encrypt", original)  # noqa: B010
