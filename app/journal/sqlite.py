"""The journal in one SQLite file: WAL (readers never block the writer), synchronous=FULL (a commit survives
power loss), every write in ``BEGIN IMMEDIATE`` with a bounded busy timeout, connections lent per
transaction from a small pool.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import queries
from .store import Journal, _Cursor
from .values import JournalUnavailableError, first_line


class SqliteJournal(Journal):
    """The journal in a SQLite file shared by the processes of one machine (gunicorn workers, the worker).

    Writers wait for each other in SQLite's own busy handler, at most ``busy_timeout_ms``; past it, or when
    SQLite cannot write (disk full, I/O error), a transaction raises ``JournalUnavailableError`` (the page
    says "try again"). Connections are lent per transaction from a small pool of this process (opened
    lazily, never reused across a fork: gunicorn preloads the app), a few per process instead of one per
    thread that ever wrote, which keeps a worker's memory down (each connection holds ~340 KiB). No queue
    of our own in front of SQLite's lock: `bench.http` shows no targeted figure needs one (docs/journal.md).
    """

    dialect = "sqlite"
    _claim_due_sql = queries.CLAIM_DUE_SQLITE
    _person_pending_sql = queries.PERSON_PENDING_SQLITE
    #: Idle connections kept for reuse. A transaction that finds none opens one more; a connection that
    #: comes back to a full pool is closed.
    idle_connections = 4
    #: Longest wait for SQLite's write lock: a lock held elsewhere (a stuck script, a long manual
    #: transaction) costs a POST this wait and the 503 "try again" page, never a hanging request.
    busy_timeout_ms = 5000
    #: Page cache per connection, not SQLite's default 2 MiB: the journal's statements touch a handful of
    #: index and table pages.
    cache_kib = 256

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._idle: list[sqlite3.Connection] = []
        self._idle_pid = os.getpid()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._inherited: list[sqlite3.Connection] = []  # a parent's connections: never used, never closed
        self._lock = threading.Lock()
        super().__init__(str(self.path))

    # -- the connection pool ---------------------------------------------------------------------------

    @contextmanager
    def _borrowed(self) -> Iterator[sqlite3.Connection]:
        """A connection of this process for one transaction; back to the pool afterwards, or closed if the
        transaction failed and left it inside a transaction, or the pool is full."""
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

    def _checkout(self) -> sqlite3.Connection:
        with self._lock:
            if self._idle_pid != os.getpid():  # forked: the parent's connections are not ours to use
                self._inherited.extend(self._idle)  # closing them would close the parent's handles too
                self._idle, self._idle_pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
        conn = self._connect()
        with self._lock:
            self._connections.append((os.getpid(), conn))
        return conn

    def _checkin(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if self._idle_pid == os.getpid() and len(self._idle) < self.idle_connections:
                self._idle.append(conn)
                return
        self._discard(conn)

    def _discard(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            self._connections = [(pid, c) for pid, c in self._connections if c is not conn]
        with suppress(Exception):  # closing a broken connection may fail: it is gone either way
            conn.close()

    def _reusable(self, conn: sqlite3.Connection) -> bool:
        try:
            return not conn.in_transaction
        except sqlite3.ProgrammingError:  # closed
            return False

    def open_connections(self) -> int:
        """Connections this process opened and has not closed (idle or lent), for tests and ops."""
        with self._lock:
            return sum(1 for pid, _conn in self._connections if pid == os.getpid())

    def close(self) -> None:
        """Close this process's connections (never a parent's: they share the parent's file handles)."""
        with self._lock:
            connections, self._connections = self._connections, []
            self._idle = []
        for pid, conn in connections:
            if pid == os.getpid():
                with suppress(Exception):  # closing is best effort at shutdown
                    conn.close()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Lent to one thread at a time by the pool, but not always the same thread.
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=self.busy_timeout_ms / 1000, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        _set_busy_timeout(conn, self.busy_timeout_ms)
        _switch_to_wal(conn, deadline=time.monotonic() + self.busy_timeout_ms / 1000)
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute(f"PRAGMA cache_size = -{self.cache_kib}")
        return conn

    # -- transactions ----------------------------------------------------------------------------------

    @contextmanager
    def _open_transaction(self, *, write: bool, wait: float | None) -> Iterator[_Cursor]:
        """One transaction; SQLite's "cannot write" errors (disk full, locked past the busy timeout, I/O
        error, read-only file) and a folder that cannot be made become
        ``JournalUnavailableError``."""
        try:
            if not write:  # WAL: readers never wait for the writer
                with self._borrowed() as conn:
                    conn.execute("BEGIN")
                    try:
                        yield _Cursor(conn.execute)
                    finally:
                        conn.execute("COMMIT")
                return
            with self._borrowed() as conn:
                if wait is not None:  # a shorter wait than usual (the /readyz probe)
                    _set_busy_timeout(conn, int(wait * 1000))
                try:
                    # IMMEDIATE takes the write lock up front: writers never deadlock upgrading a read lock.
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield _Cursor(conn.execute)
                    except BaseException:
                        with suppress(sqlite3.Error):  # SQLite may have rolled back itself (disk full)
                            conn.execute("ROLLBACK")
                        raise
                    conn.execute("COMMIT")
                finally:
                    if wait is not None:
                        with suppress(sqlite3.Error):
                            _set_busy_timeout(conn, self.busy_timeout_ms)
        except (sqlite3.OperationalError, OSError) as exc:  # OSError: the folder cannot be made
            raise JournalUnavailableError(f"the journal database cannot write: {first_line(exc)}") from exc

    def _to_db(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def _from_db(self, value: Any) -> datetime | None:
        if value is None:
            return None
        return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _set_busy_timeout(conn: sqlite3.Connection, milliseconds: int) -> None:
    """How long SQLite's busy handler waits for the write lock on ``conn`` (PRAGMA takes no parameter)."""
    conn.execute(f"PRAGMA busy_timeout = {max(0, milliseconds)}")


def _switch_to_wal(conn: sqlite3.Connection, *, deadline: float) -> None:
    """WAL mode for the file, tried until ``deadline``.

    Switching needs the database to itself, and SQLite answers "database is locked" at once (no busy
    handler) when several processes open a new file together, as gunicorn's workers do.
    """
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.005)
