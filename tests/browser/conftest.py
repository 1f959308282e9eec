"""Fixtures of the browser tests: real headless Chromium and the app behind a real loopback HTTP server.

Without Chromium or axe-core the tests skip with the reason on a developer's machine; on CI (where .ci/run
installs both) that is a failure, never a silent pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import AXE_JS, chromium, chromium_paths, in_ci, live_server
from flask import Flask
from selenium import webdriver

from app import create_app
from tests.conftest import base_test_config, close_app


def _require(condition: bool, reason: str) -> None:
    if not condition:
        if in_ci():
            pytest.fail(f"{reason} on CI; .ci/run installs it")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """One headless Chromium for the module (a fresh profile)."""
    browser_path, driver_path = chromium_paths()
    _require(bool(browser_path and driver_path), "Debian chromium/chromium-driver are not installed")
    with chromium() as driver:
        yield driver


@pytest.fixture
def axe_available() -> None:
    _require(AXE_JS.is_file(), f"axe-core is not installed ({AXE_JS}; npm ci --prefix tests/browser)")


@pytest.fixture
def served_app(emulator: Any, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """The app on the emulator with a SQLite journal, served over HTTP; (app, base URL)."""
    app = create_app(
        base_test_config(
            emulator,
            tmp_path,
            RATELIMIT_POST="10000 per minute",
            INLINE_DELIVERY_BUDGET="0.7",
            BRAND_PRIVACY_URL="https://www.example.com/privacy",
            BRAND_CONTACT_URL="mailto:help@example.com",
        )
    )
    try:
        with live_server(app) as base_url:
            yield app, base_url
    finally:
        close_app(app)
