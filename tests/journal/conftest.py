"""Fixtures of the journal tests: every test runs on a real SQLite file and on a real PostgreSQL database.

``database_url`` is parametrised: ``sqlite`` (a file in ``tmp_path``) and ``postgres`` (a fresh database
on the server named by ``TEST_DATABASE_URL``; skipped with a visible reason without one, a failure on CI).
Apps talk to the session's emulator over loopback with the real Marketing Cloud client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from journal_helpers import app_config

from tests.conftest import app_builder


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The journal database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journal.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def make_app(emulator: Any, database_url: str) -> Iterator[Callable[..., Flask]]:
    """Build apps on the emulator and the test's database; their connections and threads end with the test."""
    with app_builder(lambda **overrides: app_config(emulator, database_url, **overrides)) as build:
        yield build


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    """An app with the fast test settings, its context pushed."""
    app = make_app()
    with app.app_context():
        yield app
