"""Local HTTP SMS-gateway sink for development and tests (not service code; standard library only).

  POST   /sms              {"to": "+628…", "message": "…"} -> 202 {"id": …}; records the message
  GET    /messages         every recorded message, oldest first (and how many requests were replays)
  DELETE /messages         forget them all
  POST   /control/fail     {"count": n, "status": 503} -> the next n POST /sms answer that status
  GET    /livez            health

Idempotency, as gateways that accept an `Idempotency-Key` header do (and as the IETF draft
"The Idempotency-Key HTTP Header Field" describes): a second POST /sms with a key already seen
sends nothing and answers 200 with the *first* request's id (`"replayed": true`); the same key
with a different `to` or `message` is refused with 422. Keys survive a restart of the sink (they
are read back from the store file). Requests without the header are never deduplicated.

Failure injection lets notifier tests prove retries with backoff against a real HTTP peer.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.fail_count = 0
        self.fail_status = 503
        self.replays = 0
        self.by_key: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> the recorded message
        for record in self.all():
            if record.get("idempotency_key"):
                self.by_key[record["idempotency_key"]] = record

    def record_once(self, record: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Record `record` unless its idempotency key was seen: (202, it), (200, the first one),
        or (422, an error) when the key was used for a different message."""
        key = record.get("idempotency_key")
        with self.lock:
            first = self.by_key.get(key) if key else None
            if first is not None:
                if (first["to"], first["message"]) != (record["to"], record["message"]):
                    return 422, {"error": "Idempotency-Key reused for a different message"}
                self.replays += 1
                return 200, first
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")
            if key:
                self.by_key[key] = record
            return 202, record

    def all(self) -> list[dict[str, Any]]:
        with self.lock:
            if not self.path.exists():
                return []
            return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def clear(self) -> None:
        with self.lock:
            self.path.unlink(missing_ok=True)
            self.by_key.clear()
            self.replays = 0

    def take_failure(self) -> int | None:
        with self.lock:
            if self.fail_count <= 0:
                return None
            self.fail_count -= 1
            return self.fail_status


def make_handler(store: Store) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def do_POST(self) -> None:
            try:
                payload = self._json()
            except ValueError:
                self._send(400, {"error": "body is not JSON"})
                return
            if self.path == "/control/fail":
                with store.lock:
                    store.fail_count = int(payload.get("count", 1))
                    store.fail_status = int(payload.get("status", 503))
                self._send(200, {"failing_next": store.fail_count})
                return
            if self.path != "/sms":
                self._send(404, {"error": "not found"})
                return
            if not isinstance(payload.get("to"), str) or not isinstance(
                payload.get("message"), str
            ):
                self._send(400, {"error": "'to' and 'message' are required strings"})
                return
            failure = store.take_failure()
            if failure is not None:
                self._send(failure, {"error": "injected failure"})
                return
            record = {
                "id": uuid.uuid4().hex,
                "to": payload["to"],
                "message": payload["message"],
                "reference": payload.get("reference"),
                "received_at": time.time(),
                "idempotency_key": self.headers.get("Idempotency-Key"),
            }
            status, answer = store.record_once(record)
            if status == 422:
                self._send(422, answer)
            else:
                self._send(
                    status, {"id": answer["id"], "status": "queued", "replayed": status == 200}
                )

        def do_GET(self) -> None:
            if self.path == "/messages":
                self._send(200, {"messages": store.all(), "replays": store.replays})
            elif self.path == "/livez":
                self._send(200, {"status": "ok"})
            else:
                self._send(404, {"error": "not found"})

        def do_DELETE(self) -> None:
            if self.path == "/messages":
                store.clear()
                self._send(200, {"deleted": True})
            else:
                self._send(404, {"error": "not found"})

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: phone numbers must not end up in logs

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--store", type=Path, default=Path("sms-messages.jsonl"))
    args = parser.parse_args()
    args.store.parent.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(Store(args.store)))
    print(f"sms sink on {args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
