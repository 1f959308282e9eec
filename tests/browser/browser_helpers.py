"""Helpers of the browser tests: headless Chromium, a real HTTP server for the app, axe-core, screenshots."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests import live_http

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
#: Where screenshots go: build/screenshots/ (git-ignored) on every run, so `make test` leaves the tree clean;
#: the tracked docs/screenshots/ only when asked with UPDATE_SCREENSHOTS=1 (README, "Development").
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS", "").lower() in ("1", "true", "yes")
SCREENSHOTS = HERE.parent.parent / ("docs" if UPDATE_SCREENSHOTS else "build") / "screenshots"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--lang=en-US",
]


def chromium_paths() -> tuple[str | None, str | None]:
    """Debian's chromium and chromium-driver (installed by .ci/run)."""
    return shutil.which("chromium"), shutil.which("chromedriver")


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    """Real headless Chromium with a fresh profile, driven through Debian's chromedriver."""
    browser, driver_path = chromium_paths()
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        driver.set_page_load_timeout(20)
        driver.set_script_timeout(20)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve ``app`` with werkzeug's threaded server on a free loopback port; yields the base URL."""
    with live_http.live_server(app) as server:
        yield server.base_url


def set_viewport(driver: webdriver.Chrome, width: int, height: int = 900) -> None:
    """Emulate a device width (phone or desktop) exactly, independent of window decorations."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def axe_violations(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """Run axe-core (WCAG 2.1 A and AA rules) on the current page; the violations, summarised."""
    driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    violations = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))}))))"
        ".catch(e => done([{id: 'axe-error', help: String(e), nodes: []}]));",
        WCAG_TAGS,
    )
    return violations


def violations_at_both_widths(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """axe-core's violations of the current page at desktop (1280 px) and phone (375 px) width; the
    viewport is left at 375 px."""
    set_viewport(driver, 1280)
    violations = axe_violations(driver)
    set_viewport(driver, 375)
    return violations + axe_violations(driver)


def screenshot(driver: webdriver.Chrome, name: str, width: int) -> Path:
    """A full-page screenshot at ``width`` into SCREENSHOTS/NAME-WIDTH.png (build/ unless asked for docs/)."""
    set_viewport(driver, width, 400)
    height = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
    set_viewport(driver, width, max(int(height), 400))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{width}.png"
    path.write_bytes(driver.get_screenshot_as_png())
    set_viewport(driver, width)
    return path


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
