"""The journal in one SQLite file: WAL (readers never block the writer), synchronous=FULL (a commit survives
power loss), writers taking turns with a bounded wait, connections lent per transaction from a small pool.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .store import Journal, _Cursor
from .values import JournalUnavailableError, first_line


class SqliteJournal(Journal):
    """The journal in a SQLite file shared by the processes of one machine (gunicorn workers, the worker).

    Connections are lent per transaction from a small pool of this process (opened lazily, never reused
    across a fork: gunicorn preloads the app), a few per process instead of one per thread that ever wrote
    (each holds ~340 KiB). Every wait for a lock is bounded by ``lock_timeout_seconds``; past it, or when
    SQLite cannot write (disk full, I/O error), a transaction raises ``JournalUnavailableError``.
    """

    dialect = "sqlite"
    #: Idle connections kept for reuse. A transaction that finds none opens one more; a connection that
    #: comes back to a full pool is closed.
    idle_connections = 4
    #: Longest wait for the write turn (thread lock, then the lock file) and for SQLite's own lock.
    lock_timeout_seconds = 5.0
    busy_timeout_ms = 5000
    cache_kib = 256  # page cache per connection

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._writer_lock_path = self.path.with_name(self.path.name + "-writer.lock")
        self._writer: tuple[int, threading.Lock, int] | None = None  # (pid, thread lock, lock file fd)
        self._writer_guard = threading.Lock()
        self._turn_held = threading.local()
        self._idle: list[sqlite3.Connection] = []
        self._idle_pid = os.getpid()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._inherited: list[sqlite3.Connection] = []  # a parent's connections: never used, never closed
        self._lock = threading.Lock()
        super().__init__(str(self.path))

    # -- taking turns at writing -----------------------------------------------------------------------

    def _writer_state(self) -> tuple[threading.Lock, int]:
        """This process's thread lock and lock file (made anew after a fork: never a parent's)."""
        with self._writer_guard:
            if self._writer is None or self._writer[0] != os.getpid():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self._writer_lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                self._writer = (os.getpid(), threading.Lock(), fd)
            return self._writer[1], self._writer[2]

    @contextmanager
    def _writer_turn(self, timeout: float | None = None) -> Iterator[None]:
        """Take turns at writing instead of SQLite's busy handler, waiting at most ``timeout`` seconds.

        SQLite's handler sleeps 1, 2, 5 … 100 ms between tries and lets whoever happens to try at the right
        moment barge in: under load a few writers wait hundreds of milliseconds. Threads of one process
        queue on a lock (in arrival order); the one at the head polls a ``flock`` of
        ``<journal>-writer.lock`` every 1-10 ms, which the kernel drops when its holder dies (even by
        SIGKILL). Both waits end at the deadline with ``JournalUnavailableError``: another process that
        holds the lock (a stuck script, a long manual transaction) costs a POST a bounded wait and a "try
        again" page, never a hanging request. ``BEGIN IMMEDIATE`` with its busy timeout still guards every
        write against tools that do not take the lock file.
        """
        if getattr(self._turn_held, "value", False):  # this thread's turn already (a connection opened in it)
            yield
            return
        timeout = self.lock_timeout_seconds if timeout is None else timeout
        deadline = time.monotonic() + timeout
        thread_lock, fd = self._writer_state()
        if not thread_lock.acquire(timeout=timeout):
            raise JournalUnavailableError(f"the journal's writer lock was busy for {timeout:g} s")
        try:
            _flock_until(fd, deadline, timeout)
            self._turn_held.value = True
            try:
                yield
            finally:
                self._turn_held.value = False
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            thread_lock.release()

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
        with self._lock:
            return sum(1 for pid, _conn in self._connections if pid == os.getpid())

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
            self._idle = []
        for pid, conn in connections:
            if pid == os.getpid():
                with suppress(Exception):  # closing is best effort at shutdown
                    conn.close()
        with self._writer_guard:
            writer, self._writer = self._writer, None
        if writer is not None and writer[0] == os.getpid():
            with suppress(OSError):
                os.close(writer[2])

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
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

    # -- transactions ----------------------------------------------------------------------------------

    @contextmanager
    def _open_transaction(self, *, write: bool, wait: float | None) -> Iterator[_Cursor]:
        """One transaction; SQLite's "cannot write" errors (disk full, locked past the busy timeout, I/O
        error, read-only file) and a folder or lock file that cannot be made become
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
            # The turn first, then a connection: a thread waiting for its turn holds none.
            with self._writer_turn(wait), self._borrowed() as conn:
                # IMMEDIATE takes the write lock up front: two writers never deadlock upgrading a read lock.
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield _Cursor(conn.execute)
                except BaseException:
                    with suppress(sqlite3.Error):  # SQLite may have rolled back itself (disk full)
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except (sqlite3.OperationalError, OSError) as exc:  # OSError: the folder or the lock file
            raise JournalUnavailableError(f"the journal database cannot write: {first_line(exc)}") from exc

    def _to_db(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def _from_db(self, value: Any) -> datetime | None:
        if value is None:
            return None
        return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _flock_until(fd: int, deadline: float, timeout: float) -> None:
    """``flock(fd, LOCK_EX)`` polled until ``deadline`` (a blocking flock cannot time out)."""
    delay = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            now = time.monotonic()
            if now >= deadline:
                raise JournalUnavailableError(
                    f"another process held the journal's writer lock for {timeout:g} s"
                ) from None
            time.sleep(min(delay, deadline - now))
            delay = min(delay * 2, 0.01)
