"""Read what reached the SMTP server and the SMS gateway. Tests filter by their own unique
recipients instead of clearing the shared inbox, so tests never disturb each other."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.harness.state import eventually_sync


def _wait(fetch: Callable[[], list[dict[str, Any]]], count: int, timeout: float) -> list[Any]:
    """What has arrived once `count` items are there; after `timeout`, whatever there is (the
    caller's assertion names what is missing)."""
    try:
        return eventually_sync(
            f"{count} messages",
            lambda: found if len(found := fetch()) >= count else None,
            timeout,
            interval=0.2,
        )
    except AssertionError:
        return fetch()


class MailInbox:
    def __init__(self, api: str) -> None:
        self.api = api.rstrip("/")

    def messages_to(self, address: str) -> list[dict[str, Any]]:
        # A long timeout: the shared sink's listing takes seconds when the machine is loaded.
        listing = httpx.get(f"{self.api}/api/v1/messages", params={"limit": 500}, timeout=60).json()
        wanted = address.lower()
        return [
            httpx.get(f"{self.api}/api/v1/message/{m['ID']}", timeout=60).json()
            for m in listing["messages"]
            if any(t["Address"].lower() == wanted for t in m["To"])
        ]

    def wait_for(self, address: str, count: int = 1, timeout: float = 15.0) -> list[Any]:
        return _wait(lambda: self.messages_to(address), count, timeout)


class SmsInbox:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def messages_to(self, number: str) -> list[dict[str, Any]]:
        listing = httpx.get(f"{self.base_url}/messages").json()
        return [m for m in listing["messages"] if m["to"] == number]

    def wait_for(self, number: str, count: int = 1, timeout: float = 15.0) -> list[Any]:
        return _wait(lambda: self.messages_to(number), count, timeout)

    def fail_next(self, count: int, status: int = 503) -> None:
        httpx.post(f"{self.base_url}/control/fail", json={"count": count, "status": status})
