"""The journal's storage: one table of unsubscribe requests, in SQLite (default) or PostgreSQL.

Everything that changes an entry is one short transaction committed before the method returns. ``Journal``
holds what both databases share (recording in ``recording.py``, claims in ``claims.py``, reads and
maintenance in ``reports.py``, every statement in ``queries.py``); ``sqlite.py`` and ``pg.py`` hold the
connections and transactions of each.

Opening a journal touches no database: the schema is migrated by the first transaction that needs it (in
each process), so an app whose database is down still starts, serves the pages that need none, and
migrates once the database answers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import queries
from .claims import ClaimsMixin
from .models import JournalEntry, State
from .recording import RecordingMixin
from .reports import ReportsMixin
from .schema import migrations
from .values import JournalError, request_from_row, utcnow

logger = logging.getLogger(__name__)


class Journal(RecordingMixin, ClaimsMixin, ReportsMixin):
    """The journal: record requests, claim due ones for delivery, apply outcomes, report and maintain.

    Subclasses lend a connection per transaction (``_open_transaction``) from a small pool of the process
    (opened lazily, never shared across a fork), so one ``Journal`` serves gunicorn's threads, the
    inline-delivery pool and the worker alike. A database that cannot be reached or written raises
    ``JournalUnavailableError`` (the page then says "try again", 503), within a bounded wait.
    """

    dialect = "base"
    #: The statement that claims due entries (the one that differs between the databases).
    _claim_due_sql = ""
    #: A person's pending entries for an inline claim (locked on PostgreSQL).
    _person_pending_sql = ""

    def __init__(self, target: str) -> None:
        self.target = target
        self._schema_ready = False
        self._schema_lock = threading.RLock()

    # -- connections and transactions ------------------------------------------------------------------

    def _open_transaction(self, *, write: bool, wait: float | None) -> Any:
        """A context manager: one transaction on a lent connection (``wait``: seconds to wait for the
        connection or the write lock, None for the default)."""
        raise NotImplementedError

    @contextmanager
    def _transaction(self, *, write: bool = True, wait: float | None = None) -> Iterator[_Cursor]:
        """One transaction, after making sure (once per process) the schema is current."""
        if not self._schema_ready:
            with self._schema_lock:
                if not self._schema_ready:  # another thread may have migrated while we waited
                    self.migrate(wait=self._default_wait(write) if wait is None else wait)
        with self._open_transaction(write=write, wait=wait) as cur:
            yield cur

    def _default_wait(self, write: bool) -> float | None:
        """Seconds a transaction waits for a connection or lock unless told (None: the database's own)."""
        return None

    def open_connections(self) -> int:
        """Connections this process holds open right now (idle in the pool or lent)."""
        raise NotImplementedError

    def close(self) -> None:
        """Close every connection this process opened (tests, shutdown)."""

    def _to_db(self, value: datetime | None) -> Any:
        """A time as the database stores it (PostgreSQL: as it is; SQLite overrides this with text)."""
        return value

    def _from_db(self, value: Any) -> datetime | None:
        """A stored time back as an aware UTC datetime."""
        if value is None:
            return None
        return value.astimezone(UTC)

    # -- schema ----------------------------------------------------------------------------------------

    def migrate(self, *, wait: float | None = None) -> int:
        """Create or upgrade the schema; safe to run from several processes at once. Returns the version.

        Runs by itself on the first transaction of each process; raises ``JournalUnavailableError`` while
        the database cannot be reached within ``wait`` seconds (the next transaction tries again).
        """
        with self._schema_lock:
            versions = migrations(self.dialect)
            with self._open_transaction(write=True, wait=wait) as cur:
                self._lock_schema(cur)
                cur.execute(queries.CREATE_SCHEMA_VERSION)
                row = cur.execute(queries.SCHEMA_VERSION).fetchone()
                current = row["version"] or 0
                for version, statements in enumerate(versions, start=1):
                    if version <= current:
                        continue
                    for statement in statements:
                        cur.execute(statement)
                    cur.execute(queries.ADD_SCHEMA_VERSION, (version,))
                    logger.info("journal schema migrated", extra={"schema_version": version})
            self._schema_ready = True
        return len(versions)

    def _lock_schema(self, cur: _Cursor) -> None:
        """Serialise migrations between processes (SQLite: the write transaction already does)."""

    def schema_version(self) -> int:
        """The schema version applied (for `journal status`: which migrations this database has)."""
        with self._transaction(write=False) as cur:
            return cur.execute(queries.SCHEMA_VERSION).fetchone()["version"]

    def probe_write(self, *, wait: float, now: datetime | None = None) -> None:
        """Prove the journal can write right now: commit a heartbeat (one row of ``journal_heartbeat``, no
        entry touched) waiting at most ``wait`` seconds for a connection or the write lock. Raises
        ``JournalUnavailableError`` when it cannot (for ``/readyz``)."""
        with self._transaction(write=True, wait=wait) as cur:
            cur.execute(queries.HEARTBEAT, (self._to_db(now or utcnow()), _process_name()))

    # -- rows ------------------------------------------------------------------------------------------

    def _entry(self, row: Any) -> JournalEntry:
        return JournalEntry(
            id=int(row["id"]),
            request=request_from_row(row),
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
        """Run one statement of ``queries`` with its parameters; the database's cursor."""
        return self._execute(sql, params)


def _process_name() -> str:
    """Host and process of the heartbeat's writer (who proved the journal writable)."""
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def open_journal(database_url: str | None, instance_path: str | Path) -> Journal:
    """The journal named by ``DATABASE_URL``: unset => ``<instance>/journal.sqlite3``; ``sqlite:///PATH``
    (relative paths are under the instance folder); ``postgresql://…``. Opens no connection: the first
    transaction does (and migrates the schema)."""
    if not database_url:
        from .sqlite import SqliteJournal

        return SqliteJournal(Path(instance_path) / "journal.sqlite3")
    if database_url.startswith("sqlite:///"):
        from .sqlite import SqliteJournal

        path = Path(database_url.removeprefix("sqlite:///"))
        return SqliteJournal(path if path.is_absolute() else Path(instance_path) / path)
    if database_url.startswith(("postgresql://", "postgres://")):
        from .pg import PostgresJournal

        return PostgresJournal(database_url)
    raise JournalError("DATABASE_URL must start with sqlite:/// or postgresql://")
