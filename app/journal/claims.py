"""Claiming due entries for delivery and applying an attempt's outcomes (part of ``Journal``).

Every state change is conditional on the claim that sent the entry (``claimed_by``), so a late answer from an
expired claim can never overwrite the work of the claim that replaced it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .models import JournalEntry, State
from .values import CLAIMABLE as _CLAIMABLE
from .values import AttemptResult, Claim, new_lease, utcnow

logger = logging.getLogger("app.journal.store")


class ClaimsMixin:
    """Claims and outcomes; ``Journal`` provides the transactions, conversions and row mapping."""

    _null_safe_eq: str
    _lock_clause: str
    _transaction: Callable[..., Any]
    _to_db: Callable[[datetime | None], Any]
    _entry: Callable[[Any], JournalEntry]

    def release(self, claim: Claim, *, now: datetime | None = None) -> int:
        """Give up a claim whose attempt never started (the entries become claimable at once)."""
        now = now or utcnow()
        ids = [entry.id for entry in claim.entries]
        if not ids:
            return 0
        marks = ", ".join("?" * len(ids))
        with self._transaction() as cur:
            return cur.execute(
                "UPDATE journal_entries SET claimed_by = NULL, claimed_until = NULL, "  # noqa: S608
                f"attempts = attempts - 1, updated_at = ? WHERE claimed_by = ? AND state = 'pending' "
                f"AND id IN ({marks})",
                (self._to_db(now), claim.token, *ids),
            ).rowcount

    def due_mids(self, *, now: datetime | None = None) -> list[str | None]:
        """Business units with due, unclaimed entries, the one waiting longest first."""
        now = now or utcnow()
        with self._transaction(write=False) as cur:
            rows = cur.execute(
                "SELECT mid, MIN(next_attempt_at) AS first_due FROM journal_entries "  # noqa: S608
                f"WHERE {_CLAIMABLE} AND next_attempt_at <= ? GROUP BY mid ORDER BY first_due",
                (self._to_db(now), self._to_db(now)),
            ).fetchall()
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
        with self._transaction() as cur:
            rows = cur.execute(
                "UPDATE journal_entries SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1, "  # noqa: S608
                "updated_at = ? WHERE id IN (SELECT id FROM journal_entries "
                f"WHERE {_CLAIMABLE} AND next_attempt_at <= ? AND mid {self._null_safe_eq} ? "
                f"ORDER BY next_attempt_at, id LIMIT ?{self._lock_clause}) RETURNING *",
                (token, self._to_db(until), self._to_db(now), self._to_db(now), self._to_db(now), mid, limit),
            ).fetchall()
        entries = sorted((self._entry(row) for row in rows), key=lambda e: (e.next_attempt_at, e.id))
        return Claim(token=token, until=until, entries=entries)

    def claim_entry(
        self, entry_id: int, *, lease_seconds: float, owner: str, now: datetime | None = None
    ) -> Claim | None:
        """Claim one pending entry (inline delivery) whether due or not; None if finished or claimed."""
        now = now or utcnow()
        token, until = new_lease(owner, lease_seconds, now)
        with self._transaction() as cur:
            row = cur.execute(
                "UPDATE journal_entries SET claimed_by = ?, claimed_until = ?, attempts = attempts + 1, "  # noqa: S608
                f"updated_at = ? WHERE id = ? AND {_CLAIMABLE} RETURNING *",
                (token, self._to_db(until), self._to_db(now), entry_id, self._to_db(now)),
            ).fetchone()
        if row is None:
            return None
        return Claim(token=token, until=until, entries=[self._entry(row)])

    def apply_results(
        self, token: str, results: list[AttemptResult], *, now: datetime | None = None
    ) -> list[int]:
        """Apply an attempt's results where its claim still holds; returns the ids it changed.

        A result whose claim was lost (the lease ran out and another attempt took the entry) is dropped;
        if our attempt may have reached Marketing Cloud, the entry's duplicate counter goes up instead.
        """
        now = now or utcnow()
        applied: list[int] = []
        with self._transaction() as cur:
            for result in results:
                finished = result.state is not State.PENDING
                changed = cur.execute(
                    "UPDATE journal_entries SET state = ?, next_attempt_at = ?, last_error = ?, "
                    "error_code = ?, sfmc_request_id = COALESCE(?, sfmc_request_id), "
                    "sfmc_status_message = COALESCE(?, sfmc_status_message), "
                    "duplicates = duplicates + ?, claimed_by = NULL, claimed_until = NULL, updated_at = ?, "
                    "finished_at = ? WHERE id = ? AND claimed_by = ? AND state = 'pending'",
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
                reached = result.possible_duplicate or result.state in (State.DELIVERED, State.ALREADY)
                logger.warning(
                    "journal claim lost before its result arrived",
                    extra={"entry_id": result.entry_id, "result": str(result.state), "counted": reached},
                )
                if reached:
                    cur.execute(
                        "UPDATE journal_entries SET duplicates = duplicates + 1, updated_at = ? WHERE id = ?",
                        (self._to_db(now), result.entry_id),
                    )
        return applied

    def bury_abandoned(self, *, max_attempts: int, now: datetime | None = None) -> int:
        """Entries whose last allowed attempt never reported back (worker killed each time) become dead."""
        now = now or utcnow()
        with self._transaction() as cur:
            return cur.execute(
                "UPDATE journal_entries SET state = 'dead', claimed_by = NULL, claimed_until = NULL, "
                "next_attempt_at = NULL, updated_at = ?, finished_at = ?, last_error = "
                "'gave up: the last allowed attempt never reported back (worker stopped or killed)' "
                "WHERE state = 'pending' AND claimed_until IS NOT NULL AND claimed_until < ? "
                "AND attempts >= ?",
                (self._to_db(now), self._to_db(now), self._to_db(now), max_attempts),
            ).rowcount
