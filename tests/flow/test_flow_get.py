"""GET shows the form and changes nothing; the other methods are safe or refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flow_helpers import NEWSLETTER, journal_entries, link, names_the_list, soap_calls_of


def _radios(html: str, name: str) -> list[str]:
    return re.findall(rf'<input[^>]*name="{name}"[^>]*value="([^"]+)"', html)


def test_get_shows_masked_email_list_and_the_form_and_changes_nothing(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    before = emulator.state()["stats"]
    response = client.get(link(subscriber_key="demo-001", email="demo001@example.com", **NEWSLETTER))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "d•••@example.com" in html
    assert "demo001@example.com" not in html and "demo-001" not in html
    assert names_the_list(html, "Newsletter")
    assert "17914" not in html  # never a bare list ID: the list's name, or "this list" (docs/pages.md)
    assert _radios(html, "scope") == ["list", "all"]
    assert "Only the list “Newsletter”" in html and "All marketing email" in html
    assert _radios(html, "reason") == ["too_many", "not_relevant", "never_signed_up", "other"]
    # The button comes right after the choice of what to stop; the optional reason follows it, in the same
    # form, with a second button that sends the same form.
    assert html.count('type="submit"') == 2 and html.count("<form") == 1
    assert html.index('name="scope"') < html.index('type="submit"') < html.index('name="reason"')
    assert "<fieldset" in html and "<legend>What do you want to stop receiving?</legend>" in html
    assert journal_entries(app) == []
    after = emulator.state()
    assert after["events"] == []
    assert soap_calls_of(after) == {"Retrieve List": 1}  # the list's name; nothing about the person
    assert after["stats"]["soap_calls"] == before["soap_calls"] + 1
    assert after["stats"]["token_requests"] == before["token_requests"] + 1


def test_list_scope_is_preselected_when_the_link_has_a_job(client: FlaskClient) -> None:
    html = client.get(link(subscriber_key="demo-001", **NEWSLETTER)).get_data(as_text=True)
    checked = re.findall(r"<input([^>]*)>", html)
    assert [attrs for attrs in checked if 'value="list"' in attrs and "checked" in attrs]
    assert not [attrs for attrs in checked if 'name="reason"' in attrs and "checked" in attrs]


def test_a_subscriber_key_that_is_an_email_is_shown_masked(client: FlaskClient) -> None:
    html = client.get(link(subscriber_key="jane.doe@example.org", **NEWSLETTER)).get_data(as_text=True)
    assert "j•••@example.org" in html and "jane.doe" not in html


def test_no_email_line_without_an_address(client: FlaskClient) -> None:
    html = client.get(link(subscriber_key="demo-001", **NEWSLETTER)).get_data(as_text=True)
    assert "Email address:" not in html and "@" not in html.split("<main", 1)[1].split("</main>")[0]


@pytest.mark.parametrize("context", [{}, {"batch_id": "0"}], ids=["no job", "batch only"])
def test_without_job_context_only_all_email_is_offered(client: FlaskClient, context: dict[str, str]) -> None:
    html = client.get(link(subscriber_key="demo-001", **context)).get_data(as_text=True)
    assert _radios(html, "scope") == ["all"]
    assert "Only this list" not in html


def test_head_and_options_are_safe(app: Flask, client: FlaskClient, emulator: Any) -> None:
    url = link(subscriber_key="demo-001", **NEWSLETTER)
    head = client.head(url)
    assert head.status_code == 200 and head.get_data() == b""
    options = client.options(url)
    assert options.status_code == 200
    assert set(options.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert journal_entries(app) == [] and emulator.events() == []


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_refused_with_405(app: Flask, client: FlaskClient, method: str) -> None:
    response = client.open(
        link(subscriber_key="demo-001", **NEWSLETTER), method=method, data={"scope": "all"}
    )
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert journal_entries(app) == []


def test_no_page_sets_a_cookie(client: FlaskClient) -> None:
    url = link(subscriber_key="demo-001", **NEWSLETTER)
    posted = client.post(url, data={"scope": "list"})
    for response in (client.get("/"), client.get(url), client.get("/unsubscribe?t=x"), posted):
        assert "Set-Cookie" not in response.headers


def test_index_says_what_this_is_without_personal_data(client: FlaskClient) -> None:
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Example Newsletters" in html and "unsubscribe" in html.lower()
    assert "@" not in html


def test_pages_need_no_inline_script_or_style(client: FlaskClient) -> None:
    """A strict CSP (style-src 'self', no script) must not break any page."""
    for url in ("/", link(subscriber_key="demo-001", **NEWSLETTER), "/unsubscribe?t=x"):
        html = client.get(url).get_data(as_text=True)
        assert "<script" not in html and "<style" not in html and " style=" not in html
