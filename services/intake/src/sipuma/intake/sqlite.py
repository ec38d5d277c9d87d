"""One durable SQLite file: WAL journal, synchronous=FULL (every commit reaches the disk before
intake answers), a lock because the connection is shared by worker threads."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class Durable:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA busy_timeout=30000")

    def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` inside one transaction (BEGIN IMMEDIATE … COMMIT)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return result

    async def arun(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self.run, work)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
