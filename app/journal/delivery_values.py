"""The delivery's values: its settings (read from the app's config), the report of one drain, outcome states.

No Flask here except reading settings in ``DeliverySettings.from_config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.sfmc.models import MAX_REQUESTS_PER_CALL, OutcomeKind

from .events import AllSubscribersLists
from .models import State

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
    """The delivery knobs, from the app's settings (see docs/journal.md, "Tuning")."""

    batch_size: int = MAX_REQUESTS_PER_CALL
    max_attempts: int = 30
    max_age_hours: float = 36.0
    lease_seconds: float = 120.0
    backoff_base_seconds: float = 10.0
    backoff_max_seconds: float = 3600.0
    inline_budget_seconds: float = 1.0
    sfmc_timeout_seconds: float = 5.0
    poll_seconds: float = 2.0
    #: The All Subscribers list of each business unit ("all marketing email"), see ``events.py``.
    all_subscribers: AllSubscribersLists = field(default_factory=AllSubscribersLists)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliverySettings:
        return cls(
            batch_size=max(1, min(int(config["DELIVERY_BATCH_SIZE"]), MAX_REQUESTS_PER_CALL)),
            max_attempts=int(config["DELIVERY_MAX_ATTEMPTS"]),
            max_age_hours=float(config["DELIVERY_MAX_AGE_HOURS"]),
            lease_seconds=float(config.get("DELIVERY_LEASE_SECONDS") or 120.0),
            backoff_base_seconds=float(config.get("DELIVERY_BACKOFF_BASE_SECONDS") or 10.0),
            backoff_max_seconds=float(config.get("DELIVERY_BACKOFF_MAX_SECONDS") or 3600.0),
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
        return max(self.lease_seconds, CALLS_PER_ATTEMPT * 2 * self.sfmc_timeout_seconds + 5)


@dataclass
class DrainReport:
    """What one drain did: Execute calls, entries sent, and where they ended."""

    calls: int = 0
    sent: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    failed_calls: int = 0
    buried: int = 0

    def count(self, state: State, n: int = 1) -> None:
        key = "retry" if state is State.PENDING else str(state)
        self.outcomes[key] = self.outcomes.get(key, 0) + n

    def merge(self, other: DrainReport) -> None:
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


def due_report_line(report: DrainReport) -> str:
    """One line for the CLI: what a drain did."""
    outcomes = ", ".join(f"{key} {n}" for key, n in sorted(report.outcomes.items())) or "nothing"
    return f"{report.calls} call(s), {report.sent} entr{'y' if report.sent == 1 else 'ies'} sent: {outcomes}"
