"""One audit line per action that changes something (replay, purge) and per read of a message's
content (show): who, when, what, on which messages, with what result. Never a message's content.

Written twice: as a structured log line (`dlq_audit`, collected with the cluster's logs) and
appended to a JSON-lines file (SIPUMA_AUDIT_FILE) the operator keeps or ships. A Kafka audit
topic was not chosen: it would be one more restricted topic whose retention deletes the trail,
and an audit that needs the broker would fail exactly when Kafka is what is being repaired.
"""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger("sipuma.ops.audit")


class AuditTrail:
    def __init__(self, path: Path, actor: str | None = None) -> None:
        self._path = path
        self.actor = actor or _whoami()

    def record(self, action: str, **details: Any) -> dict[str, Any]:
        line = {
            "at": datetime.now(UTC).isoformat(),
            "actor": self.actor,
            "action": action,
            **details,
        }
        log.info("dlq_audit", **line)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, sort_keys=True, default=str) + "\n")
        return line


def _whoami() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return "unknown"
