"""Readiness check of a store instance: one real PyMongo ping, authenticated (SCRAM) over TLS
with the certificate verified against the instance's CA, exactly as the services connect.

    python ping.py URI_FILE TIMEOUT_S [GATEWAY_PID]

Retries until TIMEOUT_S; gives up early when GATEWAY_PID exits. Prints the ping's round trip."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError


def main() -> int:
    uri = Path(sys.argv[1]).read_text().strip()
    deadline = time.monotonic() + float(sys.argv[2])
    pid = int(sys.argv[3]) if len(sys.argv) > 3 else None
    last: Exception | None = None
    while time.monotonic() < deadline:
        if pid is not None:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                print(f"gateway (pid {pid}) exited; last error: {last}")
                return 3
        try:
            client: MongoClient[dict[str, Any]] = MongoClient(
                uri, serverSelectionTimeoutMS=2000, connectTimeoutMS=2000
            )
            with client:
                client.admin.command("ping")  # connects, TLS handshake, SCRAM
                started = time.perf_counter()
                client.admin.command("ping")
                took = (time.perf_counter() - started) * 1000
            print(f"authenticated TLS ping {took:.2f} ms")
            return 0
        except PyMongoError as error:
            last = error
            time.sleep(0.3)
    print(f"no answer: {last}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
