"""Fixtures shared by every test: real loopback services, never mocks of our own parts.

- ``emulator``: the Marketing Cloud emulator (``python -m emulator``) as a real HTTP server on loopback,
  one process for the session, reset before each test that asks for it.
- ``shared_dir``: ``../shared`` (WSDL, example envelopes, seeds); tests that need it skip with a visible
  reason when it is absent (a user's machine), and it is always present in CI.
- ``postgres_url``: a fresh schema-isolated database URL on the PostgreSQL server named by
  ``TEST_DATABASE_URL``; skipped with a reason on a laptop without one, a failure on CI.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from testkit.emulator import EMULATOR_CLIENT_ID as EMULATOR_CLIENT_ID
from testkit.emulator import EMULATOR_CLIENT_SECRET as EMULATOR_CLIENT_SECRET
from testkit.emulator import Emulator
from testkit.emulator import start_emulator as start_emulator
from testkit.postgres import fresh_database
from testkit.processes import ROOT as ROOT
from testkit.processes import free_port as free_port
from testkit.processes import stop_process as stop_process
from testkit.processes import wait_for_http as wait_for_http

SHARED_DIR = ROOT.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
TEST_SIGNING_KEY = "test-signing-key-0123456789abcdef"

#: The tests' name of ``testkit.emulator.Emulator`` (a running emulator and its inspection API).
EmulatorServer = Emulator


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """One emulator process for the whole session (its output in the session's temporary folder)."""
    server = start_emulator(log_path=tmp_path_factory.mktemp("emulator") / "emulator.log")
    yield server
    server.stop()


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> EmulatorServer:
    """The session's emulator, reset to its demo data with no faults before the test."""
    emulator_server.reset()
    return emulator_server


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared``; skipped with a visible reason where it does not exist (never in CI)."""
    if not SHARED_DIR.is_dir():
        if IN_CI:
            pytest.fail(f"{SHARED_DIR} is missing on CI")
        pytest.skip(f"{SHARED_DIR} is not here (it exists only in the developers' workplace and CI)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL server for tests; skip locally without one, fail on CI."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        if IN_CI:
            pytest.fail("TEST_DATABASE_URL is not set on CI; .ci/run sets it")
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable on CI: {exc}")
        pytest.skip(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the test server for one test, dropped afterwards."""
    with fresh_database(postgres_server_url, prefix="t_") as url:
        yield url


def base_test_config(
    emulator: EmulatorServer, tmp_path: Path | None, *, database_url: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """Settings for an app that talks to ``emulator`` and journals into ``database_url``, by default a
    SQLite file in ``tmp_path``: the one place the tests' app settings are written down."""
    config: dict[str, Any] = {
        "TESTING": True,
        "SFMC_AUTH_URL": emulator.auth_url,
        "SFMC_CLIENT_ID": EMULATOR_CLIENT_ID,
        "SFMC_CLIENT_SECRET": EMULATOR_CLIENT_SECRET,
        "SFMC_TIMEOUT": "2",
        "LINK_SIGNING_KEYS": TEST_SIGNING_KEY,
        "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'journal.sqlite3'}",
        "PUBLIC_BASE_URL": "http://localhost",
    }
    config.update(overrides)
    return config


def close_app(app: Any) -> None:
    """End what an app built in a test holds: the inline-delivery threads, journal connections and the
    Marketing Cloud client's HTTP pool, so tests leave no threads or connections behind."""
    app.extensions["journal_delivery"].shutdown()
    app.extensions["journal"].close()
    client = app.extensions.get("sfmc_client")
    if client is not None:
        client.close()


@contextmanager
def app_builder(config_for: Callable[..., dict[str, Any]]) -> Iterator[Callable[..., Any]]:
    """A function building apps from ``config_for(**overrides)``; every app it built is closed on exit."""
    from app import create_app

    apps: list[Any] = []

    def build(**overrides: Any) -> Any:
        app = create_app(config_for(**overrides))
        apps.append(app)
        return app

    try:
        yield build
    finally:
        for app in apps:
            close_app(app)
