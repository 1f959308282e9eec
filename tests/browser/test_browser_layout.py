"""Phone first, in real headless Chromium: on a 375 × 667 phone the form's button is on the first screen.

A person who came to unsubscribe sees what each choice does and the button without scrolling, in every
shipped language; the optional reason comes after the button and still travels with the same POST. axe-core
also checks the page states the main flow test does not reach (a form with errors, "the details do not
match", an error page with and without a contact link).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import axe_violations, live_server, set_viewport
from flask import Flask
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from app import create_app
from app.identity import Recipient
from app.links import LinkClaims, mint
from tests.conftest import TEST_SIGNING_KEY, base_test_config, close_app

pytestmark = pytest.mark.browser

NEWSLETTER = {"job_id": "18099", "list_id": "17914", "batch_id": "0"}
PHONE = (375, 667)
LANGUAGES = ("en", "de", "fr", "es")


def _link(base_url: str, locale: str | None = None, **recipient: Any) -> str:
    token = mint(LinkClaims(Recipient(**recipient), locale=locale), TEST_SIGNING_KEY)
    return f"{base_url}/unsubscribe?t={token}"


@pytest.fixture(scope="module")
def plain_app(emulator_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """The app as shipped (default reasons, privacy link, no contact link), served over HTTP."""
    app = create_app(
        base_test_config(
            emulator_server,
            tmp_path_factory.mktemp("layout"),
            RATELIMIT_POST="10000 per minute",
            BRAND_PRIVACY_URL="https://www.example.com/privacy",
        )
    )
    _add_named_list_form(app)
    try:
        with live_server(app) as base_url:
            yield app, base_url
    finally:
        close_app(app)


#: A long list name, as the profile-center pages will fill it in (contracts.md D), for the worst case.
LONG_LIST_NAME = "Weekly Deals and Offers from the Outdoor Shop"


def _add_named_list_form(app: Flask) -> None:
    """``/_layout/form``: the form as it reads once the view names the list and links the manage page
    (``list_name``, ``manage_url``; until those views exist, this test route fills them)."""
    from flask import render_template, request

    from app.unsubscribe.forms import UnsubscribeForm

    @app.get("/_layout/form")
    def named_list_form() -> str:
        form = UnsubscribeForm.for_link(None, True, app.extensions["unsubscribe_reasons"])
        return render_template(
            "unsubscribe/form.html",
            form=form,
            has_job_context=True,
            masked_email="d•••@example.com",
            list_name=LONG_LIST_NAME,
            manage_url="/manage",
            action=request.full_path,
        )


def _in_first_screen(driver: webdriver.Chrome, selector: str) -> dict[str, float]:
    """Where ``selector``'s first element is, seen from the top of the page as it opens (no scrolling)."""
    return driver.execute_script(
        "window.scrollTo(0, 0);"
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,"
        " height: window.innerHeight, width: window.innerWidth, scrolled: window.scrollY};",
        selector,
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_button_is_on_the_first_screen_of_a_phone_in_every_language(
    browser: webdriver.Chrome, plain_app: tuple[Flask, str], axe_available: None, language: str
) -> None:
    _app, base_url = plain_app
    set_viewport(browser, *PHONE)
    try:
        browser.get(
            _link(
                base_url,
                subscriber_key="demo-001",
                email="demo001@example.com",
                locale=language,
                **NEWSLETTER,
            )
        )
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == language
        button = _in_first_screen(browser, 'form button[type="submit"]')
        assert (button["height"], button["width"]) == PHONE[::-1]  # the viewport really is the phone's
        assert button["scrolled"] == 0
        assert button["top"] >= 0 and button["bottom"] <= PHONE[1], (language, button)
        # What each choice does is on that screen too, above the button.
        for hint in browser.find_elements(By.CSS_SELECTOR, ".scope-group .choice-hint"):
            assert hint.text and hint.rect["y"] + hint.rect["height"] <= button["top"], language
        # The optional question is there, after the button, in the same form.
        reason = _in_first_screen(browser, 'input[name="reason"]')
        assert reason["top"] > button["bottom"]
        assert browser.find_elements(By.CSS_SELECTOR, 'form.unsubscribe-form input[name="reason"]')
        assert axe_violations(browser) == []
    finally:
        set_viewport(browser, 1280)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_long_list_name_and_the_manage_link_keep_the_button_on_the_first_screen(
    browser: webdriver.Chrome, plain_app: tuple[Flask, str], axe_available: None, language: str
) -> None:
    _app, base_url = plain_app
    set_viewport(browser, *PHONE)
    try:
        browser.get(f"{base_url}/_layout/form?lang={language}")
        assert LONG_LIST_NAME in browser.find_element(By.CSS_SELECTOR, ".scope-group").text
        button = _in_first_screen(browser, 'form button[type="submit"]')
        assert button["top"] >= 0 and button["bottom"] <= PHONE[1], (language, button)
        manage = _in_first_screen(browser, ".manage a")
        assert manage["top"] > button["bottom"]
        assert axe_violations(browser) == []
    finally:
        set_viewport(browser, 1280)


def test_a_reason_chosen_below_the_button_goes_with_the_first_button_too(
    browser: webdriver.Chrome, plain_app: tuple[Flask, str], emulator: Any
) -> None:
    """Either button sends the whole form: a reason picked after the button is not lost."""
    _app, base_url = plain_app
    emulator.reset()
    browser.get(_link(base_url, subscriber_key="demo-007", **NEWSLETTER))
    radio = browser.find_element(By.CSS_SELECTOR, 'input[name="reason"][value="never_signed_up"]')
    browser.find_element(By.CSS_SELECTOR, f'label[for="{radio.get_attribute("id")}"]').click()
    browser.find_elements(By.CSS_SELECTOR, 'form button[type="submit"]')[0].click()
    WebDriverWait(browser, 15, ignored_exceptions=(WebDriverException,)).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".result-unsubscribed"))
    )
    assert [e["reason"] for e in emulator.events()] == ["Profile Center: Never signed up"]


def test_axe_finds_nothing_on_the_states_the_flow_test_does_not_reach(
    browser: webdriver.Chrome, plain_app: tuple[Flask, str], axe_available: None, tmp_path: Path
) -> None:
    _app, base_url = plain_app
    pages: dict[str, list[Any]] = {}
    for language in LANGUAGES:
        link = _link(base_url, subscriber_key="demo-001", locale=language, **NEWSLETTER)
        browser.get(link)
        browser.find_element(By.CSS_SELECTOR, 'input[name="reason"][value="other"]').click()
        browser.execute_script("document.getElementById('other_text').removeAttribute('maxlength')")
        browser.find_element(By.ID, "other_text").send_keys("x" * 501)
        browser.find_elements(By.CSS_SELECTOR, 'form button[type="submit"]')[-1].click()
        WebDriverWait(browser, 15).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".form-error"))
        )
        pages[f"form-errors-{language}"] = axe_violations(browser)
        browser.get(
            _link(
                base_url,
                subscriber_key="demo-002",
                email="demo001@example.com",
                locale=language,
                **NEWSLETTER,
            )
        )
        browser.find_element(By.CSS_SELECTOR, 'form button[type="submit"]').click()
        WebDriverWait(browser, 15).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".result-not_matched"))
        )
        assert browser.find_element(By.CSS_SELECTOR, ".next-step").text  # a next step, without a contact link
        pages[f"not-matched-{language}"] = axe_violations(browser)
        browser.get(f"{base_url}/unsubscribe?lang={language}")  # no link at all
        pages[f"invalid-{language}"] = axe_violations(browser)
        browser.get(f"{base_url}/nothing-here?lang={language}")
        assert browser.find_element(By.CSS_SELECTOR, ".next-step").text
        pages[f"error-404-{language}"] = axe_violations(browser)
    assert {page: found for page, found in pages.items() if found} == {}
