"""Fixtures of the link tests: an app on the session's emulator with a real SQLite journal in tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from link_helpers import NEW_KEY, OLD_KEY

from tests.conftest import app_builder, base_test_config


@pytest.fixture
def make_app(emulator: Any, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build apps on the emulator and a SQLite journal; their threads and connections end with the test."""
    with app_builder(
        lambda **overrides: base_test_config(
            emulator, tmp_path, RATELIMIT_POST="10000 per minute", **overrides
        )
    ) as build:
        yield build


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """An app whose keys are NEW_KEY (signs) and OLD_KEY (still verifies)."""
    return make_app(LINK_SIGNING_KEYS=f"{NEW_KEY},{OLD_KEY}")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
