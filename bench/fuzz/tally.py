"""What the fuzzers of every target count: cases tried, failures, outcomes, the slowest case."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Tally:
    """Cases tried and what went wrong, by kind."""

    cases: int = 0
    crashes: list[str] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    slowest: float = 0.0
    logged_errors: Counter = field(default_factory=Counter)

    def crash(self, text: str) -> None:
        """Record one failure, cut short: a failing 5 MB body must not flood the report."""
        self.crashes.append(text[:300])
