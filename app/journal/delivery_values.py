"""The delivery's values: its settings (read from the app's config), the report of one drain, outcome states.

No Flask here except reading settings in ``DeliverySettings.from_config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.sfmc.models import MAX_REQUESTS_PER_CALL, OutcomeKind
from app.sfmc.transport import DEADLINE_FACTOR

from .events import AllSubscribersLists
from .models import State

#: Longest ``last_error`` kept: enough for Marketing Cloud's message and our meaning, not a whole HTML page.
MAX_ERROR_CHARS = 500

#: The journal state of each final outcome (TRANSIENT has none: the entry stays pending and is retried).
OUTCOME_STATES = {
    OutcomeKind.DELIVERED: State.DELIVERED,
    OutcomeKind.ALREADY: State.ALREADY,
    OutcomeKind.REJECTED: State.REJECTED,
}

#: HTTP calls one delivery attempt may make: token, Execute, token refresh, Execute again.
CALLS_PER_ATTEMPT = 4


@dataclass(frozen=True)
class DeliverySettings:
    """The delivery knobs, every one read from the app's settings (``config.SETTINGS`` holds the defaults;
    see docs/journal.md, "Tuning"), so a default is written in one place only."""

    batch_size: int
    max_attempts: int
    max_age_hours: float
    lease_seconds: float
    backoff_base_seconds: float
    backoff_max_seconds: float
    inline_budget_seconds: float
    sfmc_timeout_seconds: float
    poll_seconds: float
    #: The All Subscribers list of each business unit ("all marketing email"), see ``events.py``.
    all_subscribers: AllSubscribersLists

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliverySettings:
        """The settings of an app's config (``load_config`` has parsed and defaulted every one)."""
        return cls(
            # Marketing Cloud takes at most 50 requests per call, whatever the setting says.
            batch_size=max(1, min(int(config["DELIVERY_BATCH_SIZE"]), MAX_REQUESTS_PER_CALL)),
            max_attempts=int(config["DELIVERY_MAX_ATTEMPTS"]),
            max_age_hours=float(config["DELIVERY_MAX_AGE_HOURS"]),
            lease_seconds=float(config["DELIVERY_LEASE_SECONDS"]),
            backoff_base_seconds=float(config["DELIVERY_BACKOFF_BASE_SECONDS"]),
            backoff_max_seconds=float(config["DELIVERY_BACKOFF_MAX_SECONDS"]),
            inline_budget_seconds=float(config["INLINE_DELIVERY_BUDGET"]),
            sfmc_timeout_seconds=float(config["SFMC_TIMEOUT"]),
            poll_seconds=float(config["WORKER_POLL_SECONDS"]),
            all_subscribers=AllSubscribersLists.from_config(config),
        )

    @property
    def inline_lease_seconds(self) -> float:
        """An inline attempt may outlive the page's budget: a token fetch, the call, a token refresh and one
        retry, each bounded by the client's total deadline of 2 x SFMC_TIMEOUT. The worker leaves it alone
        meanwhile."""
        return max(self.lease_seconds, CALLS_PER_ATTEMPT * DEADLINE_FACTOR * self.sfmc_timeout_seconds + 5)


@dataclass
class DrainReport:
    """What one drain did: Execute calls, entries sent, and where they ended."""

    calls: int = 0
    sent: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    failed_calls: int = 0
    buried: int = 0

    def count(self, state: State, n: int = 1) -> None:
        """Count ``n`` entries that ended in ``state`` (pending ones as ``retry``)."""
        key = "retry" if state is State.PENDING else str(state)
        self.outcomes[key] = self.outcomes.get(key, 0) + n

    def merge(self, other: DrainReport) -> None:
        """Add another report's figures (batches into a drain, drains into the worker's totals)."""
        self.calls += other.calls
        self.sent += other.sent
        self.failed_calls += other.failed_calls
        self.buried += other.buried
        for key, n in other.outcomes.items():
            self.outcomes[key] = self.outcomes.get(key, 0) + n


def short_error(text: object) -> str:
    """An error as one line of at most ``MAX_ERROR_CHARS`` for ``last_error`` and logs."""
    line = " ".join(str(text).split())
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"
