"""How often one client may ask the public tracking API (in memory, per replica)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class TrackingRateLimiter:
    """Public tracking requests per client address: a sliding one-minute window each, in memory
    (each replica limits on its own).

    At most `max_clients` addresses are remembered, least recently seen first out: addresses
    whose window is empty are forgotten as they age out, and only when more than `max_clients`
    addresses asked within one minute is the least recently seen one dropped — never the
    others, so rotating addresses cannot reset a client that keeps asking."""

    def __init__(
        self,
        per_minute: int,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.max_clients = max_clients
        self.clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def retry_after(self, key: str) -> int:
        """0 when allowed (and counted), else seconds until the next request may pass."""
        now = self.clock()
        start = now - 60
        window = self._seen.get(key)
        if window is None:
            window = self._seen[key] = deque()
        else:
            self._seen.move_to_end(key)
        while window and window[0] <= start:
            window.popleft()
        self._forget(start, keep=key)
        if len(window) >= self.per_minute:
            return max(1, int(60 - (now - window[0])) + 1)
        window.append(now)
        return 0

    def _forget(self, start: float, keep: str) -> None:
        """Drop idle addresses from the least recently seen end, then any beyond the bound;
        `keep` (the one asking now, the most recent) stays."""
        while len(self._seen) > 1:
            oldest, window = next(iter(self._seen.items()))
            if oldest == keep:
                return
            idle = not window or window[-1] <= start
            if not idle and len(self._seen) <= self.max_clients:
                return
            del self._seen[oldest]
