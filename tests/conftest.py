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
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = ROOT.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

EMULATOR_CLIENT_ID = "demo-client-id"
EMULATOR_CLIENT_SECRET = "demo-client-secret"
TEST_SIGNING_KEY = "test-signing-key-0123456789abcdef"


def free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 15.0, process: subprocess.Popen | None = None) -> None:
    """Poll ``url`` until it answers with any HTTP status, or fail with the process's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"process exited with {process.returncode}: {output}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@dataclass
class EmulatorServer:
    """A running emulator: its base URL and helpers for its inspection API."""

    base_url: str
    process: subprocess.Popen

    @property
    def auth_url(self) -> str:
        return self.base_url

    @property
    def soap_url(self) -> str:
        return f"{self.base_url}/Service.asmx"

    def state(self) -> dict[str, Any]:
        response = requests.get(f"{self.base_url}/_emulator/state", timeout=5)
        response.raise_for_status()
        return response.json()

    def events(self) -> list[dict[str, Any]]:
        return self.state()["events"]

    def reset(self) -> None:
        requests.post(f"{self.base_url}/_emulator/reset", timeout=5).raise_for_status()

    def faults(self, **settings: Any) -> None:
        """Replace the fault configuration (see emulator/README or docs/emulator.md)."""
        requests.post(f"{self.base_url}/_emulator/faults", json=settings, timeout=5).raise_for_status()


def start_emulator(*extra_args: str) -> EmulatorServer:
    """Start ``python -m emulator`` on a free loopback port and wait until it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", str(port), *extra_args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{base_url}/_emulator/state", process=process)
    return EmulatorServer(base_url=base_url, process=process)


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a child process and reap it, killing it if it does not stop in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if process.stdout:
        process.stdout.close()


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    """One emulator process for the whole session."""
    server = start_emulator()
    yield server
    stop_process(server.process)


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
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_server_url.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def base_test_config(emulator: EmulatorServer, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Settings for an app that talks to ``emulator`` and journals into a SQLite file in ``tmp_path``."""
    config: dict[str, Any] = {
        "TESTING": True,
        "SFMC_AUTH_URL": emulator.auth_url,
        "SFMC_CLIENT_ID": EMULATOR_CLIENT_ID,
        "SFMC_CLIENT_SECRET": EMULATOR_CLIENT_SECRET,
        "SFMC_TIMEOUT": "2",
        "LINK_SIGNING_KEYS": TEST_SIGNING_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'journal.sqlite3'}",
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
