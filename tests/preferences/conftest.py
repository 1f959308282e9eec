"""Fixtures of the manage page's tests: the app on the session's emulator and a real SQLite journal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import app_builder, base_test_config


@pytest.fixture
def make_app(emulator: Any, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps on the emulator and a SQLite journal; their threads and connections end with the test."""
    # SFMC_ACCOUNT_ID: the unit the tokens act in, so a link without a MID is known to be the parent's.
    settings = {
        "RATELIMIT_POST": "10000 per minute",
        "INLINE_DELIVERY_BUDGET": "3",
        "SFMC_ACCOUNT_ID": "510001000",
    }
    with app_builder(
        lambda **overrides: base_test_config(emulator, tmp_path, **{**settings, **overrides})
    ) as build:
        yield build


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
