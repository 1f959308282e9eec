"""The manage page in real headless Chromium on the emulator (acceptance 1 of issue 12).

Open a minted link → the email's list is named → open "Manage your subscriptions" → untick one
publication list → the emulator has only that membership Unsubscribed → "subscribe again" and ticking it
again make it Active. axe-core checks every new page in every language; the English ones are photographed
at 375 and 1280 px (build/screenshots/, or docs/screenshots/ with UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import axe_violations, screenshot, violations_at_both_widths
from flask import Flask
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from app.identity import Recipient
from app.links import LinkClaims, mint
from tests.conftest import TEST_SIGNING_KEY

pytestmark = pytest.mark.browser

NEWSLETTER = {"job_id": "18099", "list_id": "17914", "batch_id": "0"}
BRAND_NEWSLETTER = {"job_id": "28001", "list_id": "27914", "batch_id": "0", "mid": "510001001"}
PRODUCT_NEWS = "17920"
WIDTHS = (375, 1280)
SAVED = {
    "en": "Your choices are saved",
    "de": "Ihre Auswahl ist gespeichert",
    "fr": "Vos choix sont enregistrés",
    "es": "Sus preferencias se han guardado",
}


def _link(base_url: str, path: str = "/unsubscribe", locale: str | None = None, **recipient: Any) -> str:
    token = mint(LinkClaims(Recipient(**recipient), locale=locale), TEST_SIGNING_KEY)
    return f"{base_url}{path}?t={token}"


def _memberships(emulator: Any, subscriber_key: str) -> dict[str, str]:
    rows = emulator.state()["memberships"]
    return {row["list_id"]: row["status"] for row in rows if row["subscriber_key"] == subscriber_key}


def _press(driver: webdriver.Chrome, button: str, answer: str = '[role="status"]') -> None:
    """Press a button (CSS selector) and wait for the answer page.

    The page it leaves may have a ``[role=status]`` too (a result page's undo button), so first wait until
    that page is gone: otherwise the wait ends at once and the next read finds a node of the old document.
    """
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, button).click()
    WebDriverWait(driver, 15).until(lambda _driver: _gone(page))
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, answer))
    )


def _gone(element: Any) -> bool:
    """True once ``element``'s document is gone. Chromium says so either as a stale element or as "Node with
    given id does not belong to the document" (a plain WebDriverException), so both count."""
    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


def _toggle(driver: webdriver.Chrome, list_id: str) -> None:
    """Click the list's label, as a person would."""
    driver.find_element(By.CSS_SELECTOR, f'label[for="list-{list_id}"]').click()


def _status(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.CSS_SELECTOR, '[role="status"]').text


def test_untick_one_list_then_undo_and_tick_again_on_the_emulator(
    browser: webdriver.Chrome, served_app: tuple[Flask, str], emulator: Any, axe_available: None
) -> None:
    _app, base_url = served_app
    emulator.reset()
    browser.get(_link(base_url, subscriber_key="demo-001", email="demo001@example.com", **NEWSLETTER))
    assert "Newsletter" in browser.find_element(By.TAG_NAME, "main").text  # the list is named
    browser.find_element(By.CSS_SELECTOR, 'main a[href*="/manage?t="]').click()
    WebDriverWait(browser, 15).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, 'input[type="checkbox"]'))
    )
    box = browser.find_element(By.ID, f"list-{PRODUCT_NEWS}")
    assert box.is_selected() and browser.find_element(By.ID, "list-17914").is_selected()
    before = _memberships(emulator, "demo-001")
    assert before[PRODUCT_NEWS] == "Active"

    _toggle(browser, PRODUCT_NEWS)
    assert not browser.find_element(By.ID, f"list-{PRODUCT_NEWS}").is_selected()
    _press(browser, ".preferences-form button[type=submit]")
    assert SAVED["en"] in _status(browser) and "Product news" in _status(browser)
    assert _memberships(emulator, "demo-001") == {**before, PRODUCT_NEWS: "Unsubscribed"}

    _press(browser, f'.undo-form input[value="{PRODUCT_NEWS}"] ~ button')
    assert "You are subscribed again." in _status(browser)
    assert _memberships(emulator, "demo-001") == before

    browser.find_element(By.CSS_SELECTOR, 'main a[href*="/manage?t="]').click()  # back to the lists
    WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.ID, "list-17914")))
    _toggle(browser, PRODUCT_NEWS)
    _press(browser, ".preferences-form button[type=submit]")
    assert _memberships(emulator, "demo-001")[PRODUCT_NEWS] == "Unsubscribed"
    browser.find_element(By.CSS_SELECTOR, 'main a[href*="/manage?t="]').click()
    WebDriverWait(browser, 15).until(expected_conditions.presence_of_element_located((By.ID, "list-17914")))
    assert not browser.find_element(By.ID, f"list-{PRODUCT_NEWS}").is_selected()
    _toggle(browser, PRODUCT_NEWS)  # ticking it again
    _press(browser, ".preferences-form button[type=submit]")
    assert "You are subscribed again." in _status(browser)
    assert _memberships(emulator, "demo-001") == before


def _walk_new_pages(
    driver: webdriver.Chrome, base_url: str, emulator: Any, language: str, visit: Any
) -> None:
    """Every page of the manage page in ``language``, calling ``visit(name)`` on each."""
    emulator.reset()
    link = _link(
        base_url, "/manage", language, subscriber_key="demo-001", email="demo001@example.com", **NEWSLETTER
    )
    driver.get(link)
    visit("manage")
    _toggle(driver, PRODUCT_NEWS)
    _press(driver, ".preferences-form button[type=submit]")
    assert SAVED[language] in _status(driver)
    visit("manage-result")
    _press(driver, ".undo-form button")
    visit("manage-result-resubscribed")
    driver.get(link)
    _press(driver, ".preferences-form button[type=submit]")  # nothing changed
    visit("manage-result-nothing-changed")
    driver.get(_link(base_url, "/manage", language, subscriber_key="child-001", **BRAND_NEWSLETTER))
    visit("manage-child-unit")
    _press(driver, '.all-email button[type="submit"]')
    visit("manage-result-all")
    driver.get(_link(base_url, "/manage", language, subscriber_key="demo-021", **NEWSLETTER))
    visit("manage-unsubscribed-from-all")


@pytest.mark.parametrize("language", list(SAVED))
def test_every_new_page_in_every_language_passes_axe(
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
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 375, page
        if violations:
            found[page] = violations
        if language == "en":
            for width in WIDTHS:
                screenshot(browser, page, width)

    browser.get("data:text/html,<html><body><input type=checkbox><img src=x></body></html>")
    assert {v["id"] for v in axe_violations(browser)} >= {"html-has-lang", "image-alt"}  # axe really runs
    _walk_new_pages(browser, base_url, emulator, language, visit)
    assert len(visited) == 7
    assert found == {}


def test_the_manage_page_works_without_javascript(
    browser: webdriver.Chrome, served_app: tuple[Flask, str], emulator: Any
) -> None:
    _app, base_url = served_app
    emulator.reset()
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get(_link(base_url, "/manage", subscriber_key="demo-002", **NEWSLETTER))
        _toggle(browser, PRODUCT_NEWS)
        _press(browser, ".preferences-form button[type=submit]")
        assert SAVED["en"] in _status(browser)
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    assert _memberships(emulator, "demo-002")[PRODUCT_NEWS] == "Unsubscribed"
