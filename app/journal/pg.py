"""The journal in PostgreSQL (psycopg 3 and ``psycopg_pool``): several app machines and workers share it.

Connections come from a ``psycopg_pool.ConnectionPool`` per process, made on first use (never across a
fork: gunicorn preloads the app). Each lent connection is verified first (an empty query): one that the
server dropped while idle (a restart, a failover, ``pg_terminate_backend``) is never used; when one fails,
every idle connection of the pool is checked at once (they usually died together) and a new one is used.
A connection that breaks *during* a transaction raises ``JournalConnectionLost`` (``record`` tries again on
a new connection); no connection within the wait raises ``JournalUnavailableError`` (the page says "try
again").
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from . import queries
from .store import Journal, _Cursor
from .values import JournalConnectionLost, JournalUnavailableError, first_line

# The pool logs a warning for every failed connection attempt while the database is down; our errors name
# the cause where it matters (the 503 page's log line, /readyz, the CLI's one line), once per use.
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

#: Why the last connection attempt to each database failed (the pool's timeout alone does not say).
_LAST_CONNECT_ERROR: dict[str, str] = {}


class _JournalConnection(psycopg.Connection):
    """A connection that remembers why connecting failed, so "unavailable" can name the cause."""

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs: Any) -> Any:  # type: ignore[override]
        """psycopg's connect, remembering the first line of why it failed (the pool only says "timeout")."""
        try:
            return super().connect(conninfo, **kwargs)
        except psycopg.Error as exc:  # refused, unknown host or database, a malformed URL
            _LAST_CONNECT_ERROR[conninfo] = first_line(exc)
            raise


class PostgresJournal(Journal):
    """Claims use ``FOR UPDATE SKIP LOCKED``, so workers on any number of machines never send an entry
    twice; connections (autocommit, explicit short transactions) come from a small pool per process."""

    dialect = "postgresql"
    _claim_due_sql = queries.CLAIM_DUE_POSTGRESQL
    _person_pending_sql = queries.PERSON_PENDING_POSTGRESQL
    _migration_lock_id = 5_303_870_001  # pg_advisory_xact_lock key: one migrating process at a time
    #: Connections kept open while idle, and the most a process opens at once (more threads wait).
    pool_min_size = 1
    pool_max_size = 8
    #: Seconds an idle connection above ``pool_min_size`` stays open.
    pool_max_idle = 60.0
    #: Longest wait for a working connection: a write (a POST) may outlast a quick restart; a read
    #: (/readyz, /metrics, re-reading an entry) answers sooner.
    write_wait_seconds = 5.0
    read_wait_seconds = 1.0
    #: One connection attempt to an unanswering host (packets dropped, not refused) gives up after this,
    #: so the pool tries again within a write's wait instead of hanging on one attempt.
    connect_timeout_seconds = 5

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._pool: ConnectionPool | None = None
        self._pool_pid: int | None = None
        self._inherited: list[ConnectionPool] = []  # a parent's pools: never used, never closed here
        self._pool_lock = threading.Lock()

    def _connection_pool(self) -> ConnectionPool:
        with self._pool_lock:
            if self._pool is None or self._pool_pid != os.getpid():
                if self._pool is not None:  # forked: closing it would end the parent's sessions
                    self._inherited.append(self._pool)
                self._pool = ConnectionPool(
                    self.target,
                    connection_class=_JournalConnection,
                    kwargs={
                        "autocommit": True,
                        "row_factory": dict_row,
                        "connect_timeout": self.connect_timeout_seconds,
                    },
                    min_size=self.pool_min_size,
                    max_size=self.pool_max_size,
                    max_idle=self.pool_max_idle,
                    timeout=self.write_wait_seconds,
                    name="journal",
                    open=True,
                )
                self._pool_pid = os.getpid()
            return self._pool

    def _lend(self, pool: ConnectionPool, wait: float) -> Any:
        """A verified connection within ``wait`` seconds, or ``JournalUnavailableError``."""
        deadline = time.monotonic() + wait
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise PoolTimeout()
                conn = pool.getconn(timeout=remaining)
            except PoolTimeout as exc:
                why = _LAST_CONNECT_ERROR.get(self.target) or f"no connection within {wait:g} s"
                raise JournalUnavailableError(f"cannot connect to the journal database: {why}") from exc
            except psycopg.OperationalError as exc:  # the pool was closed (shutdown)
                raise JournalUnavailableError(f"the journal database failed: {first_line(exc)}") from exc
            try:
                conn.execute("")  # one round trip: does the server still know this session?
            except psycopg.Error:
                pool.putconn(conn)  # broken: the pool closes it and opens a replacement
                pool.check()  # the idle ones most likely died with it (a restart ends every session)
                continue
            _LAST_CONNECT_ERROR.pop(self.target, None)
            return conn

    def _default_wait(self, write: bool) -> float:
        return self.write_wait_seconds if write else self.read_wait_seconds

    @contextmanager
    def _open_transaction(self, *, write: bool, wait: float | None) -> Iterator[_Cursor]:
        if wait is None:
            wait = self._default_wait(write)
        pool = self._connection_pool()
        conn = self._lend(pool, wait)
        try:

            def execute(sql: str, params: Any = ()) -> Any:
                return conn.execute(sql.replace("?", "%s"), params)

            with conn.transaction():
                yield _Cursor(execute)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            if conn.closed or conn.broken:
                raise JournalConnectionLost(f"the journal database went away: {first_line(exc)}") from exc
            raise JournalUnavailableError(f"the journal database failed: {first_line(exc)}") from exc
        finally:
            pool.putconn(conn)  # a broken one is closed and replaced, one left inside a transaction reset

    def _lock_schema(self, cur: _Cursor) -> None:
        cur.execute(queries.LOCK_MIGRATIONS_POSTGRESQL, (self._migration_lock_id,))

    def _lock_person(self, cur: _Cursor, person: str) -> None:
        cur.execute(queries.LOCK_PERSON_POSTGRESQL, (person,))

    def open_connections(self) -> int:
        """Connections of this process's pool right now (idle or lent), for tests and ops."""
        with self._pool_lock:
            pool = self._pool if self._pool_pid == os.getpid() else None
        return 0 if pool is None else int(pool.get_stats().get("pool_size", 0))

    def close(self) -> None:
        """Close this process's pool (never a parent's: that would end the parent's sessions)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
            mine = self._pool_pid == os.getpid()
        if pool is not None and mine:
            with suppress(Exception):  # closing is best effort at shutdown
                pool.close(timeout=2)
