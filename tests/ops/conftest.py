"""Fixtures of the operations tests: apps on the emulator with a SQLite journal in ``tmp_path``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from ops_helpers import base_test_config, free_port

from tests.conftest import app_builder


@pytest.fixture
def make_app(emulator: Any, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps on the emulator; their journal connections, threads and HTTP sessions end with the test."""
    with app_builder(lambda **overrides: base_test_config(emulator, tmp_path, **overrides)) as build:
        yield build


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """An app with the default operations settings."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def free_tcp_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()
