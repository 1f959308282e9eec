"""Claiming due entries for delivery and applying an attempt's outcomes (part of ``Journal``).

Every state change is conditional on the claim that sent the entry (``claimed_by``), so a late answer from an
expired claim can never overwrite the work of the claim that replaced it. Claiming an entry whose lease ran
out counts a possible duplicate: the attempt that held it may have reached Marketing Cloud.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import queries
from .models import JournalEntry, State
from .values import AttemptResult, Claim, new_lease, utcnow

logger = logging.getLogger("app.journal.store")


class ClaimsMixin:
    """Claims and outcomes; ``Journal`` provides the transactions, conversions and row mapping."""

    _claim_due_sql: str
    _transaction: Callable[..., Any]
    _to_db: Callable[[datetime | None], Any]
    _entry: Callable[[Any], JournalEntry]

    def release(self, claim: Claim, *, now: datetime | None = None) -> int:
        """Give up a claim whose attempt never started (the entries become claimable at once, the attempt
        uncounted), so the worker need not wait for the lease."""
        with self._transaction() as cur:
            return cur.execute(queries.RELEASE, (self._to_db(now or utcnow()), claim.token)).rowcount

    def release_entries(self, claim: Claim, entry_ids: list[int], *, now: datetime | None = None) -> int:
        """Give back entries of ``claim`` that were not sent (uncounted, due as before); how many."""
        with self._transaction() as cur:
            return sum(
                cur.execute(
                    queries.RELEASE_ENTRY, (self._to_db(now or utcnow()), entry_id, claim.token)
                ).rowcount
                for entry_id in entry_ids
            )

    def due_mids(self, *, now: datetime | None = None) -> list[str | None]:
        """Business units with due, unclaimed entries, the one waiting longest first (one call per unit)."""
        now = now or utcnow()
        with self._transaction(write=False) as cur:
            rows = cur.execute(queries.DUE_MIDS, (self._to_db(now), self._to_db(now))).fetchall()
        return [row["mid"] for row in rows]

    def claim_due(
        self,
        *,
        mid: str | None,
        limit: int,
        lease_seconds: float,
        owner: str,
        now: datetime | None = None,
    ) -> Claim:
        """Claim up to ``limit`` due entries of one business unit, oldest first, counting an attempt each.

        PostgreSQL skips rows other workers are claiming (``FOR UPDATE SKIP LOCKED``); SQLite serialises
        writers. Entries of a claim that is not settled before ``until`` become due again.
        """
        now = now or utcnow()
        token, until = new_lease(owner, lease_seconds, now)
        stamp = self._to_db(now)
        with self._transaction() as cur:
            rows = cur.execute(
                self._claim_due_sql, (token, self._to_db(until), stamp, stamp, stamp, mid, limit)
            ).fetchall()
        entries = sorted((self._entry(row) for row in rows), key=lambda e: (e.next_attempt_at, e.id))
        return Claim(token=token, until=until, entries=entries)

    def apply_results(
        self, token: str, results: list[AttemptResult], *, now: datetime | None = None
    ) -> list[int]:
        """Apply an attempt's results where its claim still holds; returns the ids it changed.

        A result whose claim was lost (the lease ran out and another attempt took the entry) is dropped: the
        claim that took the entry counted this attempt as a possible duplicate already.
        """
        now = now or utcnow()
        applied: list[int] = []
        with self._transaction() as cur:
            for result in results:
                finished = result.state is not State.PENDING
                changed = cur.execute(
                    queries.APPLY_RESULT,
                    (
                        str(result.state),
                        None if finished else self._to_db(result.next_attempt_at),
                        result.last_error,
                        result.error_code,
                        result.sfmc_request_id,
                        result.sfmc_status_message,
                        1 if result.possible_duplicate else 0,
                        self._to_db(now),
                        self._to_db(now) if finished else None,
                        result.entry_id,
                        token,
                    ),
                ).rowcount
                if changed:
                    applied.append(result.entry_id)
                    continue
                # Lost: the lease ran out and another claim took the entry (and counted this attempt as
                # a possible duplicate then), or it was buried. Nothing of this answer is applied.
                logger.warning(
                    "journal claim lost before its result arrived",
                    extra={"entry_id": result.entry_id, "result": str(result.state)},
                )
        return applied

    def bury_abandoned(self, *, max_attempts: int, now: datetime | None = None) -> int:
        """Entries whose last allowed attempt never reported back (worker killed each time) become dead, so
        they stop waiting for an attempt that will never come; that attempt counts as a possible duplicate
        (a `retry-dead` sends it again)."""
        now = now or utcnow()
        with self._transaction() as cur:
            return cur.execute(
                queries.BURY_ABANDONED, (self._to_db(now), self._to_db(now), self._to_db(now), max_attempts)
            ).rowcount
