"""Throwaway PostgreSQL databases on a shared server: each test or benchmark run gets its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def fresh_database(server_url: str | None = None, prefix: str = "t_") -> Iterator[str]:
    """A new, empty database on ``server_url`` (else TEST_DATABASE_URL, else the local default), dropped
    afterwards with the sessions still on it: the server is shared, so only ever ours is dropped."""
    import psycopg

    server_url = server_url or os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = server_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
