"""axe-core on every page state the preview knows, in every language, at phone and desktop width.

The states come from the preview's registry (``app/preview/states.py``: the form, every result, the invalid
link, every error page), written by ``flask preview`` exactly as a marketer sees them and opened from disk
in real Chromium: a page added to the registry is checked here too, with nothing to add to this test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from browser_helpers import axe_violations, set_viewport
from selenium import webdriver
from selenium.webdriver.common.by import By

from app.preview.registry import registered_states
from app.unsubscribe.i18n import SUPPORTED_LOCALES
from testkit.cli import flask_cli
from tests.ops.ops_helpers import app_environment

pytestmark = pytest.mark.browser


def test_axe_finds_no_violation_on_any_page_state_in_any_language(
    browser: webdriver.Chrome, emulator: Any, axe_available: None, tmp_path: Path
) -> None:
    out = tmp_path / "preview"
    env = app_environment(emulator, tmp_path, BRAND_PRIVACY_URL="https://www.example.com/privacy")
    done = flask_cli(env, "preview", "--out", str(out), "--no-screenshots", timeout=300)
    assert done.returncode == 0, done.stderr
    names = [state.name for state in registered_states()]
    assert {"form", "form-errors", "not-found-all", "stalled", "error-500"} <= set(names)
    found: dict[str, Any] = {}
    for lang in SUPPORTED_LOCALES:
        for name in names:
            browser.get((out / lang / f"{name}.html").as_uri())
            assert browser.find_elements(By.CSS_SELECTOR, "main h1"), (lang, name)
            for width in (375, 1280):
                set_viewport(browser, width)
                violations = axe_violations(browser)
                if violations:
                    found[f"{lang}/{name}@{width}"] = violations
    set_viewport(browser, 1280)
    assert found == {}
