"""Local SMTP sink for development and tests (not service code).

A real SMTP server (aiosmtpd) that keeps every message as an .eml file in a folder, plus a small
HTTP API shaped like Mailpit's (`/api/v1/messages`, `/api/v1/message/{id}`), so tests read mail the
same way whether they run against this sink or against Mailpit in docker-compose.

It keeps the newest `--keep` messages only: every benchmark run of the notifier leaves over a
thousand, and a folder of tens of thousands made listings slow and the disk fill for nothing.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import threading
import time
import uuid
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

PRUNE_EVERY = 200


def prune(folder: Path, keep: int) -> int:
    """Remove all but the newest `keep` messages (ids sort by arrival); how many went."""
    ids = sorted((p.stem for p in folder.glob("*.eml")), reverse=True)
    for message_id in ids[keep:]:
        (folder / f"{message_id}.eml").unlink(missing_ok=True)
        (folder / f"{message_id}.json").unlink(missing_ok=True)
    return max(0, len(ids) - keep)


class MaildirHandler:
    def __init__(self, folder: Path, keep: int) -> None:
        self.folder = folder
        self.keep = keep
        self.lock = threading.Lock()
        self.received = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message_id = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)}
        raw = envelope.original_content or b""
        with self.lock:
            (self.folder / f"{message_id}.json").write_text(json.dumps(meta))
            # Written last: a reader that sees the .eml also sees its envelope.
            (self.folder / f"{message_id}.eml").write_bytes(raw)
            self.received += 1
            if self.received % PRUNE_EVERY == 0:
                prune(self.folder, self.keep)
        return "250 Message accepted for delivery"


def _summary(folder: Path, message_id: str) -> dict[str, Any]:
    msg = email.message_from_bytes(
        (folder / f"{message_id}.eml").read_bytes(), policy=email.policy.default
    )
    meta = json.loads((folder / f"{message_id}.json").read_text())
    return {
        "ID": message_id,
        "From": {"Address": meta["mail_from"]},
        "To": [{"Address": a} for a in meta["rcpt_tos"]],
        "Subject": str(msg.get("Subject", "")),
        "MessageID": str(msg.get("Message-ID", "")),
        "_msg": msg,
    }


def _body(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else ""


def make_http_handler(folder: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.startswith("/api/v1/messages"):
                ids = sorted((p.stem for p in folder.glob("*.eml")), reverse=True)
                # newest first, at most `limit` when asked (as Mailpit): a benchmark leaves tens
                # of thousands of messages, and parsing every one took longer than a test waits
                query = parse_qs(urlsplit(self.path).query)
                limit = int(query["limit"][0]) if query.get("limit", [""])[0].isdigit() else None
                items = []
                for message_id in ids[:limit]:
                    summary = _summary(folder, message_id)
                    summary.pop("_msg")
                    items.append(summary)
                self._send(200, {"total": len(ids), "messages": items})
            elif self.path.startswith("/api/v1/message/"):
                message_id = self.path.rsplit("/", 1)[-1]
                if not (folder / f"{message_id}.eml").exists():
                    self._send(404, {"error": "not found"})
                    return
                summary = _summary(folder, message_id)
                msg = summary.pop("_msg")
                summary["Text"] = _body(msg, "plain")
                summary["HTML"] = _body(msg, "html")
                self._send(200, summary)
            elif self.path == "/livez":
                self._send(200, {"status": "ok"})
            else:
                self._send(404, {"error": "not found"})

        def do_DELETE(self) -> None:
            for path in folder.glob("*"):
                path.unlink(missing_ok=True)
            self._send(200, {"deleted": True})

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: message contents must not end up in logs

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--maildir", type=Path, required=True)
    parser.add_argument("--keep", type=int, default=5000, help="newest messages kept")
    args = parser.parse_args()
    args.maildir.mkdir(parents=True, exist_ok=True)
    prune(args.maildir, args.keep)

    controller = Controller(
        MaildirHandler(args.maildir, args.keep), hostname=args.host, port=args.smtp_port
    )
    controller.start()
    server = ThreadingHTTPServer((args.host, args.http_port), make_http_handler(args.maildir))
    print(f"smtp sink on {args.host}:{args.smtp_port}, api on {args.http_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
