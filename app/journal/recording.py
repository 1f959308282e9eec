"""Recording requests (part of ``Journal``): one transaction writes them, finds their pending twins and,
for a POST, claims them for the inline attempt.

The keys each entry is stored under (its person, its target, its idempotency key) are in ``keys.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from . import queries
from .keys import dedupe_base, dedupe_key, person_key, target_key
from .models import JournalEntry, UnsubscribeRequest
from .text import storable_request
from .values import Claim, JournalConnectionLost, JournalError, new_lease, request_values, utcnow

#: How often ``record`` tries again after the connection broke under it (each time on a new connection).
RECORD_RETRIES = 2
#: The most entries of one person an inline claim takes (oldest first): a person's save rarely has more.
INLINE_CLAIM_PER_PERSON = 50


class _TwinChanged(Exception):
    """A pending twin finished between our insert and our read: the transaction is tried again."""


def _person(entry: JournalEntry) -> str | None:
    """The entry's person (its head-of-line key), from its request."""
    return person_key(entry.request)


class RecordingMixin:
    """``record`` and friends; ``Journal`` provides the transactions, conversions and row mapping."""

    #: A person's pending entries for an inline claim (locked on PostgreSQL).
    _person_pending_sql: str
    _transaction: Callable[..., Any]
    _to_db: Callable[[datetime | None], Any]
    _from_db: Callable[[Any], datetime | None]
    _entry: Callable[[Any], JournalEntry]

    def record(self, request: UnsubscribeRequest, *, now: datetime | None = None) -> JournalEntry:
        """Journal ``request`` durably (committed when this returns); the pending twin if one exists."""
        return self.record_many([request], now=now)[0]

    def record_many(
        self, requests: Sequence[UnsubscribeRequest], *, now: datetime | None = None
    ) -> list[JournalEntry]:
        """Journal every request in one transaction (one commit): all of them or, on error, none."""
        entries, _ = self._insert_pending(requests, now or utcnow(), claim=None)
        return entries

    def record_claimed(
        self,
        request: UnsubscribeRequest,
        *,
        owner: str,
        lease_seconds: float,
        now: datetime | None = None,
    ) -> tuple[JournalEntry, Claim | None]:
        """``record`` and a claim for the caller's attempt, in one transaction (one commit: a POST writes
        once before its inline attempt): the entry is durable and held when this returns.

        The claim holds the entry and the person's older pending entries (they go first: head of line).
        It is None when one of them is held elsewhere (a worker or another inline attempt is delivering it
        right now): the entry then waits its turn with the worker."""
        entries, claim = self.record_claimed_many(
            [request], owner=owner, lease_seconds=lease_seconds, now=now
        )
        return entries[0], claim

    def record_claimed_many(
        self,
        requests: Sequence[UnsubscribeRequest],
        *,
        owner: str,
        lease_seconds: float,
        now: datetime | None = None,
    ) -> tuple[list[JournalEntry], Claim | None]:
        """``record_many`` and one claim of the new entries (with their people's older pending entries,
        as ``record_claimed``), in one commit."""
        now = now or utcnow()
        return self._insert_pending(requests, now, claim=new_lease(owner, lease_seconds, now))

    def _insert_pending(
        self,
        requests: Sequence[UnsubscribeRequest],
        now: datetime,
        *,
        claim: tuple[str, datetime] | None,
    ) -> tuple[list[JournalEntry], Claim | None]:
        """Insert each request as a pending entry, or find its pending twin (idempotency); with ``claim``
        (token, lease end) also hold the entries for that claim, all in one transaction."""
        if not requests:
            raise ValueError("nothing to record")
        # Text no database or XML can hold is dropped here, where the form, links and imports all pass
        # (docs/journal.md); the keys are computed from what is stored.
        stored = [storable_request(request) for request in requests]
        people = sorted({key for key in map(person_key, stored) if key is not None})
        lost = 0
        for _ in range(3 + RECORD_RETRIES):
            try:
                with self._transaction() as cur:
                    if claim is not None:
                        for person in people:  # sorted: two transactions never wait for each other
                            self._lock_person(cur, person)
                    entries = [self._insert_one(cur, request, now) for request in stored]
                    if any(entry is None for entry in entries):
                        raise _TwinChanged
                    found = [entry for entry in entries if entry is not None]
                    if claim is None:
                        return found, None
                    held = self._claim_inline(cur, found, claim, now)
                if not held:
                    return found, None
                by_id = {entry.id: entry for entry in held}
                return [by_id.get(entry.id, entry) for entry in found], Claim(claim[0], claim[1], held)
            except _TwinChanged:
                continue  # the pending twin finished between our insert and our read: insert again
            except JournalConnectionLost:
                # The connection broke under us (the server ended the session, restarted, failed over): again
                # on a new one. Safe even if the commit did happen: the retry finds those entries as their
                # pending twins (keys.py), and, with a claim, leaves them held by ours until its lease ends.
                lost += 1
                if lost > RECORD_RETRIES:
                    raise
        raise JournalError("could not record the request: its pending twin kept changing")

    def _insert_one(self, cur: Any, request: UnsubscribeRequest, now: datetime) -> JournalEntry | None:
        """Insert one (storable) request, or read its pending twin; None when the twin vanished meanwhile."""
        person, target, base = person_key(request), target_key(request), dedupe_base(request)
        previous = None
        if person is not None:
            previous = cur.execute(queries.LATEST_OTHER_OF_TARGET, (person, target, base)).fetchone()["id"]
        key = dedupe_key(base, None if previous is None else int(previous))
        stamp = self._to_db(now)
        row = cur.execute(
            queries.INSERT_PENDING,
            (*request_values(request), key, base, person, target, stamp, stamp, stamp, None, None, 0),
        ).fetchone()
        if row is None:
            row = cur.execute(queries.PENDING_TWIN, (key,)).fetchone()
        return None if row is None else self._entry(row)

    def _lock_person(self, cur: Any, person: str) -> None:
        """Serialise inline recordings of one person between processes (SQLite: the write lock does)."""

    def _claim_inline(
        self, cur: Any, entries: list[JournalEntry], claim: tuple[str, datetime], now: datetime
    ) -> list[JournalEntry]:
        """Inside the recording transaction: hold ``entries`` for an inline attempt, with every older
        pending entry of their people (head of line: those go first), oldest first.

        A person one of whose pending entries is held by a live claim elsewhere gets nothing claimed: that
        attempt is sending an older change right now, and ours must wait for it (the worker sends them
        after). The backoff of the older entries is ignored, as for a double submit: a person is waiting.
        """
        token, until = claim
        stamp = self._to_db(now)
        wanted: dict[int, Any] = {}
        for person in sorted({_person(entry) for entry in entries} - {None}):
            rows = cur.execute(self._person_pending_sql, (person, INLINE_CLAIM_PER_PERSON)).fetchall()
            if any(
                row["claimed_until"] is not None and self._from_db(row["claimed_until"]) >= now
                for row in rows
            ):
                continue
            wanted.update((int(row["id"]), row) for row in rows)
        wanted.update((entry.id, None) for entry in entries if _person(entry) is None)
        held: list[JournalEntry] = []
        for entry_id in sorted(wanted):
            row = cur.execute(
                queries.CLAIM_ENTRY, (token, self._to_db(until), stamp, entry_id, stamp)
            ).fetchone()
            if row is not None:
                held.append(self._entry(row))
        return held
