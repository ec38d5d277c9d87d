"""Stored answers for `Idempotency-Key` in SQLite (the semantics: `sipuma.shared.idempotency`).

- same officer + same route + same key + same body → the stored answer again, nothing published;
- same key with a different body → 409; the same key while the first request is still running → 409;
- answers are kept in SQLite beside the spool, so they survive a restart.

The store is per replica. Across replicas the complaint id (and every amendment id) is derived
from officer + route + key (`domain.deterministic_id`), so a retry that lands on another replica
publishes the *same* ids and the registry de-duplicates it: still one complaint.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from sipuma.intake.sqlite import Durable
from sipuma.shared.idempotency import Outcome, StoredAnswer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    headers TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (scope, key)
)
"""


class SqliteIdempotencyStore:
    """`ports.IdempotencyStore` in SQLite (`sipuma.shared.idempotency` holds the semantics)."""

    def __init__(self, path: Path, ttl_s: float = 48 * 3600) -> None:
        self._db = Durable(path)
        self._db.run(lambda c: c.execute(_SCHEMA))
        self._ttl_s = ttl_s
        self._running: dict[tuple[str, str], str] = {}
        self.purge()

    def purge(self) -> int:
        cutoff = time.time() - self._ttl_s
        return self._db.run(
            lambda c: c.execute("DELETE FROM answers WHERE created_at < ?", (cutoff,)).rowcount
        )

    async def begin(self, scope: str, key: str, print_: str) -> tuple[Outcome, StoredAnswer | None]:
        running = self._running.get((scope, key))
        if running is not None:
            return (Outcome.IN_PROGRESS if running == print_ else Outcome.MISMATCH), None

        def find(c: sqlite3.Connection) -> tuple[str, int, str, str] | None:
            row = c.execute(  # an expired answer is gone even before the next purge
                "SELECT fingerprint, status, body, headers FROM answers"
                " WHERE scope=? AND key=? AND created_at >= ?",
                (scope, key, time.time() - self._ttl_s),
            ).fetchone()
            return None if row is None else (row[0], row[1], row[2], row[3])

        row = await self._db.arun(find)
        if row is None:
            if (scope, key) in self._running:  # another request started while we looked
                return Outcome.IN_PROGRESS, None
            self._running[(scope, key)] = print_
            return Outcome.NEW, None
        if row[0] != print_:
            return Outcome.MISMATCH, None
        return Outcome.REPLAY, StoredAnswer(row[1], json.loads(row[2]), json.loads(row[3]))

    async def finish(self, scope: str, key: str, print_: str, answer: StoredAnswer) -> None:
        def save(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT OR REPLACE INTO answers VALUES (?,?,?,?,?,?,?)",
                (
                    scope,
                    key,
                    print_,
                    answer.status,
                    json.dumps(answer.body),
                    json.dumps(answer.headers),
                    time.time(),
                ),
            )

        try:
            await self._db.arun(save)
        finally:
            self._running.pop((scope, key), None)

    @property
    def renew_every_s(self) -> None:
        return None  # held in this process: no lease (a restart forgets running requests)

    async def renew(self, scope: str, key: str) -> None:
        return None

    async def abandon(self, scope: str, key: str) -> None:
        """The request failed (4xx, 5xx): nothing was published, a retry may run again."""
        self._running.pop((scope, key), None)

    def close(self) -> None:
        self._db.close()
