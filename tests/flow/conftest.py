"""Fixtures of the flow tests: the app on the session's emulator, a real SQLite journal, minted links."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flow_helpers import ALL_SUBSCRIBERS

from tests.conftest import app_builder, base_test_config


@pytest.fixture
def make_app(emulator: Any, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps on the emulator and a SQLite journal; their threads and connections end with the test."""
    # The first List Retrieve (token + call) may take longer than the 0.3 s a page waits on a loaded
    # machine; the tests of that bound set it themselves.
    settings = {
        "RATELIMIT_POST": "10000 per minute",
        "INLINE_DELIVERY_BUDGET": "3",
        "LIST_NAMES_WAIT_SECONDS": "5",
    }
    with app_builder(
        lambda **overrides: base_test_config(emulator, tmp_path, **{**settings, **overrides})
    ) as build:
        yield build


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """An app that tracks "all email" unsubscribes against the job (All Subscribers list configured)."""
    return make_app(SFMC_ALL_SUBSCRIBERS_LIST_ID=ALL_SUBSCRIBERS)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
