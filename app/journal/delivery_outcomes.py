"""What an attempt's answer means for each entry: its final state, or a retry after a backoff, or dead.

Part of ``Delivery`` (it provides ``settings`` and the random source of the jitter).
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from app.sfmc.models import UnsubOutcome

from .delivery_values import OUTCOME_STATES, DeliverySettings, short_error
from .models import JournalEntry, State
from .values import AttemptResult, utcnow

logger = logging.getLogger("app.journal.delivery")


class OutcomesMixin:
    """Outcome mapping, retries with backoff, and giving up (``dead``)."""

    settings: DeliverySettings
    _rng: random.Random

    def _result(self, entry: JournalEntry, outcome: UnsubOutcome, request_id: str | None) -> AttemptResult:
        state = OUTCOME_STATES.get(outcome.kind)
        if state is None:  # TRANSIENT: an error code we do not know; worth another try
            return self._retry_or_bury(
                entry,
                short_error(outcome.summary),
                outcome.error_code,
                maybe_sent=False,
                request_id=request_id,
            )
        return AttemptResult(
            entry_id=entry.id,
            state=state,
            # Marketing Cloud's own words first: they name what failed (the list, the job, the unit).
            last_error=short_error(outcome.summary) if state is State.REJECTED else None,
            error_code=outcome.error_code,
            sfmc_request_id=request_id,
            sfmc_status_message=outcome.status_message,
        )

    def _retry_or_bury(
        self,
        entry: JournalEntry,
        error: str,
        error_code: int | None,
        *,
        maybe_sent: bool,
        request_id: str | None = None,
    ) -> AttemptResult:
        """Back off exponentially with jitter; past the attempt or age limit the entry is dead."""
        now = utcnow()
        age_hours = (now - entry.created_at).total_seconds() / 3600
        if entry.attempts >= self.settings.max_attempts or age_hours >= self.settings.max_age_hours:
            logger.error(
                "journal entry is dead: delivery kept failing",
                extra={"entry_id": entry.id, "attempts": entry.attempts, "age_hours": round(age_hours, 2)},
            )
            return AttemptResult(
                entry_id=entry.id,
                state=State.DEAD,
                last_error=short_error(
                    f"gave up after {entry.attempts} attempts over {age_hours:.1f} h: {error}"
                ),
                error_code=error_code,
                sfmc_request_id=request_id,
                possible_duplicate=maybe_sent,
            )
        return AttemptResult(
            entry_id=entry.id,
            state=State.PENDING,
            next_attempt_at=now + timedelta(seconds=self.backoff(entry.attempts)),
            last_error=error,
            error_code=error_code,
            sfmc_request_id=request_id,
            possible_duplicate=maybe_sent,
        )

    def backoff(self, attempts: int) -> float:
        """Seconds before the next attempt: base·2^(n-1), capped, then "equal jitter" (half fixed, half
        random) so a crowd of entries that failed together does not return together."""
        ceiling = min(
            self.settings.backoff_max_seconds,
            self.settings.backoff_base_seconds * 2 ** min(max(attempts - 1, 0), 30),
        )
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)
