"""The journal's storage: one table of unsubscribe requests, in SQLite (default) or PostgreSQL.

Everything that changes an entry is one short transaction committed before the method returns. Delivery
state changes are conditional on the claim that sent the entry (``claimed_by``), so a late answer from an
expired claim can never overwrite the work of the claim that replaced it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .models import JournalEntry, Scope, Source, State, UnsubscribeRequest

logger = logging.getLogger(__name__)

#: The columns that hold personal data; ``purge`` empties them.
PERSONAL_COLUMNS = ("subscriber_key", "subscriber_id", "email", "reason_text", "dedupe_key")

#: The columns that hold an ``UnsubscribeRequest``'s fields (same names), in table order.
REQUEST_COLUMNS = (
    "subscriber_key",
    "subscriber_id",
    "email",
    "job_id",
    "list_id",
    "batch_id",
    "mid",
    "scope",
    "reason_code",
    "reason_text",
    "language",
    "source",
)

_CLAIMABLE = "state = 'pending' AND (claimed_until IS NULL OR claimed_until < ?)"


class JournalError(Exception):
    """The journal's storage cannot be opened or used."""


class JournalUnavailableError(JournalError):
    """The journal database cannot be reached right now (connection refused or lost)."""


@dataclass(frozen=True)
class AttemptResult:
    """What one delivery attempt decided for one entry; applied only while the attempt's claim holds.

    ``state`` PENDING means "try again at ``next_attempt_at``". ``possible_duplicate`` is True when the
    attempt may have reached Marketing Cloud without us learning the answer.
    """

    entry_id: int
    state: State
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    error_code: int | None = None
    sfmc_request_id: str | None = None
    sfmc_status_message: str | None = None
    possible_duplicate: bool = False


@dataclass(frozen=True)
class Claim:
    """Entries one attempt holds until ``until``; ``token`` identifies the attempt in conditional updates."""

    token: str
    until: datetime
    entries: list[JournalEntry]


def utcnow() -> datetime:
    return datetime.now(UTC)


def dedupe_key(request: UnsubscribeRequest) -> str:
    """One key per "same person + job/list + scope", so a double submit while pending is one entry."""
    identity = [
        (request.subscriber_key or "").strip(),
        (request.subscriber_id or "").strip(),
        (request.email or "").strip().lower(),
        (request.mid or "").strip(),
        (request.job_id or "").strip(),
        (request.list_id or "").strip(),
        str(request.scope),
    ]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


def _migrations(dialect: str) -> list[list[str]]:
    """Schema versions in order; each is a list of statements applied in one transaction."""
    if dialect == "sqlite":
        id_column, time_type = "id INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT"
    else:
        id_column, time_type = "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "TIMESTAMPTZ"
    version_1 = [
        f"""CREATE TABLE journal_entries (
            {id_column},
            dedupe_key TEXT,
            subscriber_key TEXT,
            subscriber_id TEXT,
            email TEXT,
            job_id TEXT,
            list_id TEXT,
            batch_id TEXT,
            mid TEXT,
            scope TEXT NOT NULL CHECK (scope IN ('list', 'all')),
            reason_code TEXT,
            reason_text TEXT,
            language TEXT,
            source TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'delivered', 'already', 'rejected', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0,
            created_at {time_type} NOT NULL,
            updated_at {time_type} NOT NULL,
            next_attempt_at {time_type},
            claimed_by TEXT,
            claimed_until {time_type},
            last_error TEXT,
            error_code INTEGER,
            sfmc_request_id TEXT,
            sfmc_status_message TEXT,
            finished_at {time_type},
            purged_at {time_type}
        )""",
        # Idempotency: at most one pending entry per person + job/list + scope.
        "CREATE UNIQUE INDEX journal_entries_pending_dedupe ON journal_entries (dedupe_key) "
        "WHERE state = 'pending'",
        # Claims: due pending entries of one business unit, oldest first.
        "CREATE INDEX journal_entries_due ON journal_entries (mid, next_attempt_at) WHERE state = 'pending'",
        "CREATE INDEX journal_entries_state ON journal_entries (state, finished_at)",
    ]
    return [version_1]


class Journal:
    """The journal: record requests, claim due ones for delivery, apply outcomes, report and maintain.

    Connections are lent per transaction from a small pool of this process (opened lazily, never shared
    across a fork), so one ``Journal`` serves gunicorn's threads, the inline-delivery pool and the worker
    alike, with a few connections per process instead of one per thread that ever wrote (each SQLite
    connection holds ~340 KiB; each PostgreSQL one a server process).
    """

    dialect = "base"
    _null_safe_eq = "IS"
    _lock_clause = ""
    #: Idle connections kept for reuse. A transaction that finds none opens one more; a connection that
    #: comes back to a full pool is closed.
    idle_connections = 4

    def __init__(self, target: str) -> None:
        self.target = target
        self._idle: list[Any] = []
        self._idle_pid = os.getpid()
        self._connections: list[tuple[int, Any]] = []
        self._inherited: list[Any] = []  # connections of a parent process: never used, never closed here
        self._lock = threading.Lock()
        self.migrate()

    # -- connections and transactions ------------------------------------------------------------------

    def _connect(self) -> Any:
        raise NotImplementedError

    @contextmanager
    def _borrowed(self) -> Iterator[Any]:
        """A connection of this process for one transaction; back to the pool afterwards, or closed if the
        transaction failed (it may be left half-done or broken) or the pool is full."""
        conn = self._checkout()
        try:
            yield conn
        except BaseException:
            if self._reusable(conn):  # rolled back cleanly (a duplicate found by a unique index, say)
                self._checkin(conn)
            else:
                self._discard(conn)
            raise
        self._checkin(conn)

    def _checkout(self) -> Any:
        with self._lock:
            if self._idle_pid != os.getpid():  # forked: the parent's connections are not ours to use
                self._inherited.extend(self._idle)  # closing them would close the parent's sessions too
                self._idle, self._idle_pid = [], os.getpid()
            while self._idle:
                conn = self._idle.pop()
                if not self._is_broken(conn):
                    return conn
                self._forget(conn)
        conn = self._connect()
        with self._lock:
            self._connections.append((os.getpid(), conn))
        return conn

    def _checkin(self, conn: Any) -> None:
        with self._lock:
            if self._idle_pid == os.getpid() and len(self._idle) < self.idle_connections:
                self._idle.append(conn)
                return
        self._discard(conn)

    def _discard(self, conn: Any) -> None:
        with self._lock:
            self._forget(conn)
        with suppress(Exception):  # closing a broken connection may fail: it is gone either way
            conn.close()

    def _forget(self, conn: Any) -> None:
        """Drop ``conn`` from the bookkeeping (caller holds ``_lock``)."""
        self._connections = [(pid, c) for pid, c in self._connections if c is not conn]

    def _is_broken(self, conn: Any) -> bool:
        return False

    def _reusable(self, conn: Any) -> bool:
        """True when ``conn`` is healthy and outside any transaction (fit to lend again)."""
        return not self._is_broken(conn)

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[_Cursor]:
        raise NotImplementedError
        yield  # pragma: no cover

    def close(self) -> None:
        """Close every connection this process opened (tests, shutdown)."""
        with self._lock:
            connections, self._connections = self._connections, []
            self._idle = []
        for pid, conn in connections:
            if pid == os.getpid():
                with suppress(Exception):  # closing is best effort at shutdown
                    conn.close()

    def _to_db(self, value: datetime | None) -> Any:
        return value

    def _from_db(self, value: Any) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC)

    # -- schema ----------------------------------------------------------------------------------------

    def migrate(self) -> int:
        """Create or upgrade the schema; safe to run from several processes at once. Returns the version."""
        migrations = _migrations(self.dialect)
        with self._transaction() as cur:
            self._lock_schema(cur)
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = cur.execute("SELECT MAX(version) AS version FROM schema_version").fetchone()
            current = row["version"] or 0
            for version, statements in enumerate(migrations, start=1):
                if version <= current:
                    continue
                for statement in statements:
                    cur.execute(statement)
                cur.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
                logger.info("journal schema migrated", extra={"schema_version": version})
        return len(migrations)

    def _lock_schema(self, cur: _Cursor) -> None:
        """Serialise migrations between processes (SQLite: the write transaction already does)."""

    def schema_version(self) -> int:
        with self._transaction(write=False) as cur:
            return cur.execute("SELECT MAX(version) AS version FROM schema_version").fetchone()["version"]

    # -- recording -------------------------------------------------------------------------------------

    def record(self, request: UnsubscribeRequest, *, now: datetime | None = None) -> JournalEntry:
        """Journal ``request`` durably (committed when this returns); the pending twin if one exists."""
        entry, _ = self._insert_pending(request, now or utcnow(), claim=None)
        return entry

    def record_claimed(
        self,
        request: UnsubscribeRequest,
        *,
        owner: str,
        lease_seconds: float,
        now: datetime | None = None,
    ) -> tuple[JournalEntry, Claim | None]:
        """``record`` and ``claim_entry`` in one transaction (one commit): the entry is durable and held by
        the caller's attempt when this returns. The claim is None when the pending twin is held elsewhere
        (a worker or another inline attempt is delivering it right now)."""
        now = now or utcnow()
        return self._insert_pending(request, now, claim=_lease(owner, lease_seconds, now))

    def _insert_pending(
        self, request: UnsubscribeRequest, now: datetime, *, claim: tuple[str, datetime] | None
    ) -> tuple[JournalEntry, Claim | None]:
        """Insert ``request`` as a pending entry, or find its pending twin (idempotency); with ``claim``
        (token, lease end) the entry is also held for that claim, all in one transaction."""
        key = dedupe_key(request)
        values = [getattr(request, column) for column in REQUEST_COLUMNS]
        values = [str(value) if isinstance(value, Scope | Source) else value for value in values]
        stamps = (self._to_db(now), self._to_db(now), self._to_db(now))
        claim_columns: tuple[str, ...] = ()
        claim_values: tuple[Any, ...] = ()
        if claim is not None:
            claim_columns = ("claimed_by", "claimed_until", "attempts")
            claim_values = (claim[0], self._to_db(claim[1]), 1)
        columns = ", ".join(
            (*REQUEST_COLUMNS, "dedupe_key", "created_at", "updated_at", "next_attempt_at", *claim_columns)
        )
        marks = ", ".join("?" * (len(REQUEST_COLUMNS) + 4 + len(claim_columns)))

        def held(row: Any) -> tuple[JournalEntry, Claim | None]:
            entry = self._entry(row)
            if claim is None:
                return entry, None
            return entry, Claim(token=claim[0], until=claim[1], entries=[entry])

        reconnected = False
        for _ in range(3):
            try:
                with self._transaction() as cur:
                    row = cur.execute(
                        f"INSERT INTO journal_entries ({columns}) VALUES ({marks}) "  # noqa: S608 - our columns
                        "ON CONFLICT (dedupe_key) WHERE state = 'pending' DO NOTHING RETURNING *",
                        (*values, key, *stamps, *claim_values),
                    ).fetchone()
                    if row is not None:
                        return held(row)
                    twin = cur.execute(
                        "SELECT * FROM journal_entries WHERE dedupe_key = ? AND state = 'pending'", (key,)
                    ).fetchone()
                    if twin is not None and claim is None:
                        return self._entry(twin), None
                    if twin is not None:
                        row = cur.execute(
                            "UPDATE journal_entries SET claimed_by = ?, claimed_until = ?, "  # noqa: S608
                            "attempts = attempts + 1, updated_at = ? "
                            f"WHERE id = ? AND {_CLAIMABLE} RETURNING *",
                            (claim[0], self._to_db(claim[1]), stamps[0], twin["id"], stamps[0]),
                        ).fetchone()
                        # Held by another attempt right now: the twin, unclaimed by us.
                        return (self._entry(twin), None) if row is None else held(row)
                # The pending twin finished between our insert and our read: insert again.
            except JournalUnavailableError:
                # The connection died while idle (the database restarted): one more try on a new one. Safe
                # even if the commit did happen: the retry finds that entry as the pending twin (and, with a
                # claim, claims it again: a held claim of ours ends with its lease).
                if reconnected:
                    raise
                reconnected = True
        raise JournalError("could not record the request: its pending twin kept changing")

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

    # -- reading ---------------------------------------------------------------------------------------

    def get(self, entry_id: int) -> JournalEntry | None:
        with self._transaction(write=False) as cur:
            row = cur.execute("SELECT * FROM journal_entries WHERE id = ?", (entry_id,)).fetchone()
        return self._entry(row) if row else None

    def entries(
        self, *, state: State | None = None, after_id: int = 0, limit: int = 1000
    ) -> list[JournalEntry]:
        """Entries in id order (keyset pagination with ``after_id``), optionally of one state."""
        sql = "SELECT * FROM journal_entries WHERE id > ?"
        params: list[Any] = [after_id]
        if state is not None:
            sql += " AND state = ?"
            params.append(str(state))
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
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
            for row in cur.execute("SELECT state, COUNT(*) AS n FROM journal_entries GROUP BY state"):
                counts[row["state"]] = int(row["n"])
        return counts

    def oldest_pending_age(self, *, now: datetime | None = None) -> float | None:
        """Seconds since the oldest pending entry was recorded; None when nothing is pending."""
        with self._transaction(write=False) as cur:
            row = cur.execute(
                "SELECT MIN(created_at) AS oldest FROM journal_entries WHERE state = 'pending'"
            ).fetchone()
        oldest = self._from_db(row["oldest"])
        if oldest is None:
            return None
        return max(0.0, ((now or utcnow()) - oldest).total_seconds())

    def possible_duplicates(self) -> int:
        """Attempts that may have reached Marketing Cloud unanswered (a retry may have repeated them)."""
        with self._transaction(write=False) as cur:
            row = cur.execute("SELECT COALESCE(SUM(duplicates), 0) AS n FROM journal_entries").fetchone()
        return int(row["n"])

    def stats(self, *, now: datetime | None = None) -> dict[str, Any]:
        """Everything ops looks at, in one dict (`journal status --json`)."""
        return {
            "counts": self.counts_by_state(),
            "oldest_pending_age_seconds": self.oldest_pending_age(now=now),
            "possible_duplicates": self.possible_duplicates(),
            "schema_version": self.schema_version(),
            "database": self.dialect,
        }

    # -- claiming and delivery outcomes ----------------------------------------------------------------

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
        token, until = _lease(owner, lease_seconds, now)
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
        token, until = _lease(owner, lease_seconds, now)
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

    # -- maintenance -----------------------------------------------------------------------------------

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
            sql = "SELECT id FROM journal_entries WHERE state = 'dead'"
            rows = cur.execute(sql + " ORDER BY id").fetchall()
            wanted = {row["id"] for row in rows}
            if entry_ids is not None:
                wanted &= set(entry_ids)
            for entry_id in sorted(wanted):
                changed = cur.execute(
                    "UPDATE journal_entries SET state = 'pending', attempts = 0, next_attempt_at = ?, "
                    "claimed_by = NULL, claimed_until = NULL, finished_at = NULL, updated_at = ? "
                    "WHERE id = ? AND state = 'dead' AND purged_at IS NULL AND NOT EXISTS ("
                    "SELECT 1 FROM journal_entries AS twin WHERE twin.state = 'pending' "
                    "AND twin.dedupe_key = journal_entries.dedupe_key)",
                    (self._to_db(now), self._to_db(now), entry_id),
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
        states = ["delivered", "already", "rejected", *(["dead"] if include_dead else [])]
        cleared = ", ".join(f"{column} = NULL" for column in PERSONAL_COLUMNS)
        marks = ", ".join("?" * len(states))
        with self._transaction() as cur:
            return cur.execute(
                f"UPDATE journal_entries SET {cleared}, purged_at = ?, updated_at = ? "  # noqa: S608
                f"WHERE state IN ({marks}) AND purged_at IS NULL AND finished_at < ?",
                (
                    self._to_db(now),
                    self._to_db(now),
                    *states,
                    self._to_db(now - timedelta(days=older_than_days)),
                ),
            ).rowcount

    # -- rows ------------------------------------------------------------------------------------------

    def _entry(self, row: Any) -> JournalEntry:
        request = UnsubscribeRequest(
            subscriber_key=row["subscriber_key"],
            subscriber_id=row["subscriber_id"],
            email=row["email"],
            job_id=row["job_id"],
            list_id=row["list_id"],
            batch_id=row["batch_id"],
            mid=row["mid"],
            scope=Scope(row["scope"]),
            reason_code=row["reason_code"],
            reason_text=row["reason_text"],
            language=row["language"],
            source=Source(row["source"]),
        )
        return JournalEntry(
            id=int(row["id"]),
            request=request,
            state=State(row["state"]),
            attempts=int(row["attempts"]),
            created_at=self._from_db(row["created_at"]),
            updated_at=self._from_db(row["updated_at"]),
            next_attempt_at=self._from_db(row["next_attempt_at"]),
            last_error=row["last_error"],
            error_code=row["error_code"],
            sfmc_request_id=row["sfmc_request_id"],
            sfmc_status_message=row["sfmc_status_message"],
            duplicates=int(row["duplicates"]),
            claimed_by=row["claimed_by"],
            claimed_until=self._from_db(row["claimed_until"]),
            finished_at=self._from_db(row["finished_at"]),
            purged_at=self._from_db(row["purged_at"]),
        )


class _Cursor:
    """The small DB-API surface the journal uses, with ``?`` placeholders on every database."""

    def __init__(self, execute: Callable[[str, Any], Any]) -> None:
        self._execute = execute

    def execute(self, sql: str, params: Any = ()) -> Any:
        return self._execute(sql, params)


class SqliteJournal(Journal):
    """The journal in one SQLite file: WAL (readers never block the writer), synchronous=FULL (a commit
    survives power loss), a busy timeout so gunicorn workers and the worker process take turns."""

    dialect = "sqlite"
    _null_safe_eq = "IS"
    _lock_clause = ""
    busy_timeout_ms = 15000
    cache_kib = 256  # page cache per connection

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer_lock_path = self.path.with_name(self.path.name + "-writer.lock")
        self._writer: tuple[int, threading.Lock, int] | None = None  # (pid, thread lock, lock file fd)
        self._writer_guard = threading.Lock()
        self._turn_held = threading.local()
        super().__init__(str(self.path))

    def _writer_state(self) -> tuple[threading.Lock, int]:
        """This process's thread lock and lock file (made anew after a fork: never a parent's)."""
        with self._writer_guard:
            if self._writer is None or self._writer[0] != os.getpid():
                fd = os.open(self._writer_lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                self._writer = (os.getpid(), threading.Lock(), fd)
            return self._writer[1], self._writer[2]

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """Take turns at writing in arrival order instead of SQLite's busy handler.

        SQLite's handler sleeps 1, 2, 5 … 100 ms between tries and lets whoever happens to try at the right
        moment barge in: under load a few writers wait hundreds of milliseconds (p99 ~300 ms in a 4-process
        x 8-thread test, against ~60 ms here). Threads of one process queue on a lock, processes on a
        blocking ``flock`` of ``<journal>-writer.lock``; both wake the next waiter as soon as the holder is
        done, and the kernel drops a holder's ``flock`` when it dies (even by SIGKILL). A turn lasts one
        short write transaction on a local file. ``BEGIN IMMEDIATE`` with its busy timeout still guards
        every write (other tools, a thread lock not obtained within ``busy_timeout_ms``).
        """
        if getattr(self._turn_held, "value", False):  # this thread's turn already (a connection opened in it)
            yield
            return
        thread_lock, fd = self._writer_state()
        have_thread = thread_lock.acquire(timeout=self.busy_timeout_ms / 1000)
        try:
            if have_thread:
                fcntl.flock(fd, fcntl.LOCK_EX)  # waits without the GIL
            self._turn_held.value = True
            try:
                yield
            finally:
                self._turn_held.value = False
                if have_thread:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            if have_thread:
                thread_lock.release()

    def close(self) -> None:
        super().close()
        with self._writer_guard:
            writer, self._writer = self._writer, None
        if writer is not None and writer[0] == os.getpid():
            with suppress(OSError):
                os.close(writer[2])

    def _connect(self) -> sqlite3.Connection:
        # Lent to one thread at a time by the pool, but not always the same thread.
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=self.busy_timeout_ms / 1000, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            # Switching needs the database to itself and SQLite answers "database is locked" at once (no
            # busy handler) when several processes open a new file together, as gunicorn's workers do.
            with self._writer_turn():
                conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        # A small page cache per connection, not SQLite's default 2 MiB: the journal's statements touch a
        # handful of index and table pages.
        conn.execute(f"PRAGMA cache_size = -{self.cache_kib}")
        return conn

    def _reusable(self, conn: sqlite3.Connection) -> bool:
        try:
            return not conn.in_transaction
        except sqlite3.ProgrammingError:  # closed
            return False

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[_Cursor]:
        if not write:  # WAL: readers never wait for the writer
            with self._borrowed() as conn:
                conn.execute("BEGIN")
                try:
                    yield _Cursor(conn.execute)
                finally:
                    conn.execute("COMMIT")
            return
        # The turn first, then a connection: a thread waiting for its turn holds none.
        with self._writer_turn(), self._borrowed() as conn:
            # IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading a read lock.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _Cursor(conn.execute)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _to_db(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def _from_db(self, value: Any) -> datetime | None:
        if value is None:
            return None
        return datetime.fromisoformat(value).replace(tzinfo=UTC)


class PostgresJournal(Journal):
    """The journal in PostgreSQL (psycopg 3): several app machines and workers share it; claims skip rows
    another worker holds (``FOR UPDATE SKIP LOCKED``)."""

    dialect = "postgresql"
    _null_safe_eq = "IS NOT DISTINCT FROM"
    _lock_clause = " FOR UPDATE SKIP LOCKED"
    _migration_lock_id = 5_303_870_001  # pg_advisory_xact_lock key: one migrating process at a time

    def __init__(self, url: str) -> None:
        super().__init__(url)

    def _connect(self) -> Any:
        import psycopg
        from psycopg.rows import dict_row

        try:
            return psycopg.connect(self.target, autocommit=True, row_factory=dict_row, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise JournalUnavailableError(
                f"cannot connect to the journal database: {_first_line(exc)}"
            ) from exc

    def _is_broken(self, conn: Any) -> bool:
        return bool(conn.closed or conn.broken)

    def _reusable(self, conn: Any) -> bool:
        from psycopg.pq import TransactionStatus

        return not self._is_broken(conn) and conn.info.transaction_status == TransactionStatus.IDLE

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[_Cursor]:
        import psycopg

        try:
            with self._borrowed() as conn:

                def execute(sql: str, params: Any = ()) -> Any:
                    return conn.execute(sql.replace("?", "%s"), params)

                with conn.transaction():
                    yield _Cursor(execute)
        except psycopg.OperationalError as exc:
            raise JournalUnavailableError(f"the journal database failed: {_first_line(exc)}") from exc

    def _lock_schema(self, cur: _Cursor) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(?)", (self._migration_lock_id,))


def _lease(owner: str, lease_seconds: float, now: datetime) -> tuple[str, datetime]:
    """A new claim's token (the owner, made unique) and the end of its lease."""
    return f"{owner}:{uuid.uuid4().hex[:12]}", now + timedelta(seconds=lease_seconds)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def open_journal(database_url: str | None, instance_path: str | Path) -> Journal:
    """The journal named by ``DATABASE_URL``: unset => ``<instance>/journal.sqlite3``; ``sqlite:///PATH``
    (relative paths are under the instance folder); ``postgresql://…``. The schema is migrated on open."""
    if not database_url:
        return SqliteJournal(Path(instance_path) / "journal.sqlite3")
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        return SqliteJournal(path if path.is_absolute() else Path(instance_path) / path)
    if database_url.startswith(("postgresql://", "postgres://")):
        return PostgresJournal(database_url)
    raise JournalError("DATABASE_URL must start with sqlite:/// or postgresql://")
