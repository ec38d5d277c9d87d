"""Local HTTP SMS-gateway sink for development and tests (not service code; standard library only).

  POST   /sms              {"to": "+628…", "message": "…"} -> 202 {"id": …}; records the message
  GET    /messages         every recorded message, oldest first
  DELETE /messages         forget them all
  POST   /control/fail     {"count": n, "status": 503} -> the next n POST /sms answer that status
  GET    /livez            health

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

    def append(self, record: dict[str, Any]) -> None:
        with self.lock, self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")

    def all(self) -> list[dict[str, Any]]:
        with self.lock:
            if not self.path.exists():
                return []
            return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def clear(self) -> None:
        with self.lock:
            self.path.unlink(missing_ok=True)

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
            store.append(record)
            self._send(202, {"id": record["id"], "status": "queued"})

        def do_GET(self) -> None:
            if self.path == "/messages":
                self._send(200, {"messages": store.all()})
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
