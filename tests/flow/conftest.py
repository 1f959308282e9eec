"""Fixtures of the flow tests: the app on the session's emulator, a real SQLite journal, minted links."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flow_helpers import ALL_SUBSCRIBERS

from app import create_app
from tests.conftest import base_test_config, close_app


@pytest.fixture
def make_app(emulator: Any, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps on the emulator and a SQLite journal; their threads and connections end with the test."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        settings = {"RATELIMIT_POST": "10000 per minute", "INLINE_DELIVERY_BUDGET": "3", **overrides}
        app = create_app(base_test_config(emulator, tmp_path, **settings))
        apps.append(app)
        return app

    yield build
    for app in apps:
        close_app(app)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """An app that tracks "all email" unsubscribes against the job (All Subscribers list configured)."""
    return make_app(SFMC_ALL_SUBSCRIBERS_LIST_ID=ALL_SUBSCRIBERS)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
