"""The flow in real headless Chromium: open a minted link, choose a reason, submit, see the answer.

axe-core checks every page (WCAG 2.1 A and AA) in every language; the English pages are photographed at
phone (375 px) and desktop (1280 px) width into build/screenshots/ (git-ignored), or into the tracked
docs/screenshots/ with ``UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    SCREENSHOTS,
    UPDATE_SCREENSHOTS,
    axe_violations,
    screenshot,
    set_viewport,
    violations_at_both_widths,
)
from flask import Flask
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from app.identity import Recipient
from app.links import LinkClaims, mint
from tests.conftest import TEST_SIGNING_KEY

pytestmark = pytest.mark.browser

NEWSLETTER = {"job_id": "18099", "list_id": "17914", "batch_id": "0"}  # demo-001/-003 were sent batch 0
NOT_ON_JOB = "demo-024"  # exists, but job 18099 never went to them: "could not find that subscription"
WIDTHS = (375, 1280)
TEXTS = {
    "en": {"done": "You are unsubscribed", "already": "You were already unsubscribed"},
    "de": {"done": "Sie sind abgemeldet", "already": "Sie waren bereits abgemeldet"},
    "fr": {"done": "Désabonnement confirmé", "already": "Désabonnement déjà effectué"},
    "es": {"done": "Se ha dado de baja", "already": "Ya se había dado de baja"},
}
CHOSEN_REASON = {
    "en": ("other", "Profile Center: Other: Too many emails about cats"),
    "de": ("not_relevant", "Profile Center: Content not relevant"),
    "fr": ("never_signed_up", "Profile Center: Never signed up"),
    "es": ("too_many", "Profile Center: Too many emails"),
}


def _link(base_url: str, locale: str | None = None, **recipient: Any) -> str:
    token = mint(LinkClaims(Recipient(**recipient), locale=locale), TEST_SIGNING_KEY)
    return f"{base_url}/unsubscribe?t={token}"


def _status_text(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.CSS_SELECTOR, '[role="status"]').text


def _submit(driver: webdriver.Chrome, answer: str = '[role="status"]') -> None:
    """Press the form's button and wait until the answer page (holding ``answer``) has loaded."""
    driver.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, answer))
    )


def _choose_reason(driver: webdriver.Chrome, code: str) -> None:
    """Click the reason's label, as a person would, and check the radio took it."""
    radio = driver.find_element(By.CSS_SELECTOR, f'input[name="reason"][value="{code}"]')
    driver.find_element(By.CSS_SELECTOR, f'label[for="{radio.get_attribute("id")}"]').click()
    assert radio.is_selected()


def _walk_every_page(
    driver: webdriver.Chrome, base_url: str, emulator: Any, language: str, visit: Callable[[str], None]
) -> None:
    """Open each page of the service in ``language``, calling ``visit(page_name)`` on each."""
    emulator.reset()
    driver.get(f"{base_url}/?lang={language}")
    visit("index")
    driver.get(f"{base_url}/unsubscribe?t=not-a-valid-link&lang={language}")
    visit("invalid")
    driver.get(f"{base_url}/no-such-page?lang={language}")
    visit("error-404")

    link = _link(
        base_url, subscriber_key="demo-001", email="demo001@example.com", locale=language, **NEWSLETTER
    )
    driver.get(link)
    assert driver.find_element(By.CSS_SELECTOR, ".masked-email").text == "d•••@example.com"
    assert driver.find_element(By.CSS_SELECTOR, 'input[name="scope"][value="list"]').is_selected()
    visit("form")
    code, reason = CHOSEN_REASON[language]
    _choose_reason(driver, code)
    if code == "other":
        driver.find_element(By.ID, "other_text").send_keys("Too many emails about cats")
    _submit(driver)
    assert TEXTS[language]["done"] in _status_text(driver)
    visit("result-unsubscribed")
    events = emulator.events()
    assert [(e["subscriber_key"], e["list_id"], e["reason"]) for e in events] == [
        ("demo-001", "17914", reason)
    ]

    driver.get(link)
    _submit(driver)
    assert TEXTS[language]["already"] in _status_text(driver)
    visit("result-already")

    driver.get(_link(base_url, subscriber_key="demo-009", locale=language))
    assert len(driver.find_elements(By.CSS_SELECTOR, 'input[name="scope"]')) == 1
    visit("form-all-only")

    driver.get(_link(base_url, subscriber_key=NOT_ON_JOB, locale=language, **NEWSLETTER))
    _submit(driver)
    assert driver.find_elements(By.CSS_SELECTOR, 'form input[name="without_job"]')
    visit("result-not-found")
    _submit(driver, ".result-unsubscribed")  # the offer: unsubscribe from all marketing email
    assert TEXTS[language]["done"] in _status_text(driver)
    visit("result-unsubscribed-all")

    emulator.faults(latency_ms=1500)
    driver.get(_link(base_url, subscriber_key="demo-003", locale=language, **NEWSLETTER))
    _submit(driver)
    assert driver.find_elements(By.CSS_SELECTOR, ".result-processing")
    visit("result-processing")
    emulator.faults()


@pytest.mark.parametrize("language", list(TEXTS))
def test_every_page_in_every_language_passes_axe_and_the_reason_reaches_marketing_cloud(
    browser: webdriver.Chrome,
    served_app: tuple[Flask, str],
    emulator: Any,
    axe_available: None,
    language: str,
) -> None:
    _app, base_url = served_app
    found: dict[str, list[dict[str, Any]]] = {}
    visited: list[str] = []

    def visit(page: str) -> None:
        visited.append(page)
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == language, page
        violations = violations_at_both_widths(browser)
        if violations:
            found[page] = violations
        if language == "en" and not page.startswith("error"):
            for width in WIDTHS:
                screenshot(browser, page, width)

    browser.get("data:text/html,<html><body><input type=radio><img src=x></body></html>")
    assert {v["id"] for v in axe_violations(browser)} >= {"html-has-lang", "image-alt"}  # axe really runs
    _walk_every_page(browser, base_url, emulator, language, visit)
    assert len(visited) == 10
    assert found == {}


def test_focus_is_visible_and_the_form_fits_320_px(
    browser: webdriver.Chrome, served_app: tuple[Flask, str]
) -> None:
    _app, base_url = served_app
    browser.get(_link(base_url, subscriber_key="demo-001", **NEWSLETTER))
    set_viewport(browser, 320)
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 320
    button = browser.find_element(By.CSS_SELECTOR, 'button[type="submit"]')
    assert button.rect["x"] >= 0 and button.rect["x"] + button.rect["width"] <= 320
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(20):
        body.send_keys(Keys.TAB) if browser.switch_to.active_element == body else None
        active = browser.switch_to.active_element
        if active.tag_name == "button":
            break
        active.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.tag_name == "button"
    assert focused.value_of_css_property("outline-style") == "solid"
    assert float(focused.value_of_css_property("outline-width").removesuffix("px")) >= 2
    set_viewport(browser, 1280)


def test_the_form_works_without_javascript(
    browser: webdriver.Chrome, served_app: tuple[Flask, str], emulator: Any
) -> None:
    _app, base_url = served_app
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get(_link(base_url, subscriber_key="demo-005", **NEWSLETTER))
        _choose_reason(browser, "too_many")
        _submit(browser)
        assert "You are unsubscribed" in _status_text(browser)
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    assert [e["reason"] for e in emulator.events()] == ["Profile Center: Too many emails"]


def test_screenshots_go_where_git_does_not_track_them_unless_asked() -> None:
    """`make test` leaves a clean tree: every run writes its screenshots to a git-ignored folder; only
    UPDATE_SCREENSHOTS=1 (README, "Development") writes the tracked docs/screenshots/."""
    root = Path(__file__).resolve().parents[2]
    if UPDATE_SCREENSHOTS:
        assert root / "docs" / "screenshots" == SCREENSHOTS
        return
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout: nothing to keep clean")
    sample = SCREENSHOTS / "form-375.png"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(sample)], cwd=root, check=False)
    assert ignored.returncode == 0, f"{sample} would show up in git status"
    tracked = subprocess.run(
        ["git", "ls-files", str(SCREENSHOTS)], cwd=root, capture_output=True, text=True, check=True
    )
    assert tracked.stdout == ""
