"""Reading the journal (entries, counts, ages) and its upkeep (retry-dead, purge); part of ``Journal``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from . import queries
from .models import Action, JournalEntry, State
from .values import utcnow


class ReportsMixin:
    """Reads for ops and the CLI, and the two maintenance commands; ``Journal`` provides the rest."""

    dialect: str
    _transaction: Callable[..., Any]
    _to_db: Callable[[datetime | None], Any]
    _from_db: Callable[[Any], datetime | None]
    _entry: Callable[[Any], JournalEntry]
    schema_version: Callable[[], int]

    def get(self, entry_id: int) -> JournalEntry | None:
        """One entry as it stands now (the page re-reads it after the inline attempt), or None."""
        with self._transaction(write=False) as cur:
            row = cur.execute(queries.GET_ENTRY, (entry_id,)).fetchone()
        return self._entry(row) if row else None

    def entries(
        self, *, state: State | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[JournalEntry]:
        """Entries in id order (keyset pagination with ``after_id``), optionally of one state."""
        if state is None:
            sql, params = queries.ENTRIES, (after_id, limit)
        else:
            sql, params = queries.ENTRIES_IN_STATE, (after_id, str(state), limit)
        with self._transaction(write=False) as cur:
            return [self._entry(row) for row in cur.execute(sql, params).fetchall()]

    def iter_entries(self, *, chunk: int = 1000) -> Iterator[JournalEntry]:
        """Every entry in id order, read in chunks so a large journal never sits in memory."""
        after_id = 0
        while True:
            page = self.entries(after_id=after_id, limit=chunk)
            if not page:
                return
            yield from page
            after_id = page[-1].id

    def counts_by_state(self) -> dict[str, int]:
        """Entries per state, every state present (0 when none): for `journal status` and /metrics."""
        counts = {str(state): 0 for state in State}
        with self._transaction(write=False) as cur:
            for row in cur.execute(queries.COUNTS_BY_STATE):
                counts[row["state"]] = int(row["n"])
        return counts

    def counts_by_action(self) -> dict[str, dict[str, int]]:
        """Entries per action and state (unsubscribes and list changes apart), every action present."""
        counts = {str(action): {str(state): 0 for state in State} for action in Action}
        with self._transaction(write=False) as cur:
            for row in cur.execute(queries.COUNTS_BY_ACTION):
                counts[row["action"]][row["state"]] = int(row["n"])
        return counts

    def oldest_pending_age(self, *, now: datetime | None = None) -> float | None:
        """Seconds since the oldest pending entry was recorded; None when nothing is pending."""
        with self._transaction(write=False) as cur:
            row = cur.execute(queries.OLDEST_PENDING).fetchone()
        oldest = self._from_db(row["oldest"])
        if oldest is None:
            return None
        return max(0.0, ((now or utcnow()) - oldest).total_seconds())

    def possible_duplicates(self) -> int:
        """Attempts that may have reached Marketing Cloud unanswered (a retry may have repeated them)."""
        with self._transaction(write=False) as cur:
            row = cur.execute(queries.POSSIBLE_DUPLICATES).fetchone()
        return int(row["n"])

    def stats(self, *, now: datetime | None = None) -> dict[str, Any]:
        """Everything ops looks at, in one dict (`journal status --json`)."""
        return {
            "counts": self.counts_by_state(),
            "actions": self.counts_by_action(),
            "oldest_pending_age_seconds": self.oldest_pending_age(now=now),
            "possible_duplicates": self.possible_duplicates(),
            "schema_version": self.schema_version(),
            "database": self.dialect,
        }

    def retry_dead(
        self, *, entry_ids: list[int] | None = None, now: datetime | None = None
    ) -> tuple[int, int]:
        """Make dead entries pending again with a fresh attempt budget. Returns (retried, skipped).

        A dead entry is skipped when its personal data was purged or a pending entry for the same
        request exists (that one will deliver it).
        """
        now = now or utcnow()
        retried = skipped = 0
        with self._transaction() as cur:
            wanted = {row["id"] for row in cur.execute(queries.DEAD_IDS).fetchall()}
            if entry_ids is not None:
                wanted &= set(entry_ids)
            for entry_id in sorted(wanted):
                changed = cur.execute(
                    queries.RETRY_DEAD, (self._to_db(now), self._to_db(now), entry_id)
                ).rowcount
                if changed:
                    retried += 1
                else:
                    skipped += 1
        return retried, skipped

    def purge(
        self, *, older_than_days: float, include_dead: bool = False, now: datetime | None = None
    ) -> int:
        """Drop personal data of entries finished more than ``older_than_days`` ago; keep state and counts.

        Dead entries are kept whole unless ``include_dead``: they are promises not yet kept.
        """
        now = now or utcnow()
        with self._transaction() as cur:
            return cur.execute(
                queries.PURGE,
                (
                    self._to_db(now),
                    self._to_db(now),
                    1 if include_dead else 0,
                    self._to_db(now - timedelta(days=older_than_days)),
                ),
            ).rowcount
