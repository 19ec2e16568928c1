"""How often a client may do something: token buckets per key.

The server keeps two sets, built once with the services (``services.build_services``):
pushes per second per device (``push_rate``, ``push_burst``) and new devices per hour per
client address (``new_devices_per_hour``; ``server.admission`` applies it).
"""

from __future__ import annotations

import time
from collections.abc import Callable

HOUR_SECONDS = 3600.0


class RateLimiter:
    """Token buckets per key: ``rate`` per second, up to ``burst`` at once."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, key: str) -> float | None:
        """``None`` when allowed; else the seconds to wait before trying again."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return None
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate


class NewDeviceLimiter:
    """New-device registrations per client address: ``per_hour``, as a burst or spread."""

    def __init__(self, per_hour: int) -> None:
        self.per_hour = per_hour
        self._buckets = RateLimiter(per_hour / HOUR_SECONDS, per_hour) if per_hour else None

    def allow(self, client: str) -> float | None:
        """``None`` when ``client`` may register one more device; else seconds to wait."""
        return None if self._buckets is None else self._buckets.allow(client)
