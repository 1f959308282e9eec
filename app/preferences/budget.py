"""The per-process read budget of the manage page: a token bucket in front of Marketing Cloud.

Why: the manage page reads the person's lists from Marketing Cloud on a GET, and a mail scanner (or a
crawl) may open thousands of links in a minute. Each process may start at most ``MANAGE_READ_BURST`` reads
at once and ``MANAGE_READ_RATE`` per second after that; a page beyond the budget shows the plain
unsubscribe form, which needs no read. A few lines of our own rather than a rate-limit library: it must
never block, never start a thread (the processes fork from gunicorn's master) and never touch a network
store — a missing token just means "show the plain form".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ReadBudget:
    """A token bucket: ``burst`` tokens, refilled at ``rate`` per second; ``take`` never waits."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Spend one token if there is one; False when the budget is used up for now."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True
