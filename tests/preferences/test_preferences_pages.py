"""The manage page over HTTP on the emulator: what it shows, what saving journals and sends, undo, and
what it does when Marketing Cloud is slow or the read budget is spent. GET never changes anything."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, template_rendered
from flask.testing import FlaskClient
from preferences_helpers import (
    BRAND_NEWSLETTER,
    DO_NOT_MAIL,
    EVENTS,
    NEWSLETTER,
    PRODUCT_NEWS,
    UNSUBSCRIBED_FROM_ALL,
    WEEKLY_OFFERS,
    boxes,
    landing_link,
    manage_link,
    memberships,
    retrieve_calls,
    save_form,
    shown_state,
)

from app.journal.models import Action, Scope


def _entries(app: Flask) -> list[Any]:
    return app.extensions["journal"].entries()


def _without_stats(state: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in state.items() if name != "stats"}


def test_the_page_shows_the_persons_lists_ticked_as_marketing_cloud_has_them_and_changes_nothing(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    before = emulator.state()
    page = client.get(manage_link(subscriber_key="demo-001", email="demo001@example.com", **NEWSLETTER))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # The email's own list first, then the unit's public publication lists the person is on.
    assert boxes(html) == {"17914": True, PRODUCT_NEWS: True, EVENTS: True}
    assert "Newsletter" in html and "Product news" in html and "Launches and updates" in html
    assert "Weekly offers" not in html  # a list demo-001 is not on gets no box that could not work
    assert "VIP customers" not in html  # nor a private list, though demo-001 is on it
    assert "Do not mail" not in html  # nor a suppression list
    assert 'name="all" value="1"' in html  # the separate "all email" form
    assert "d•••@example.com" in html
    assert "every brand of our company" in html  # the parent unit: ENTIRE_ENTERPRISE
    assert _without_stats(emulator.state()) == _without_stats(before)
    assert _entries(app) == []


def test_unticking_a_publication_list_unsubscribes_only_that_list_and_undo_brings_it_back(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    link = manage_link(subscriber_key="demo-001", **NEWSLETTER)
    html = client.get(link).get_data(as_text=True)
    before = memberships(emulator, "demo-001")
    saved = client.post(link, data=save_form(html, {"17914", EVENTS}))
    text = saved.get_data(as_text=True)
    assert saved.status_code == 200
    assert "Your choices are saved" in text and "Product news" in text and "You are unsubscribed." in text
    after = memberships(emulator, "demo-001")
    assert after == {**before, PRODUCT_NEWS: "Unsubscribed"}  # only that membership changed
    assert emulator.events() == []  # no LogUnsubEvent: a Subscriber Update of that list
    [entry] = _entries(app)
    assert (entry.request.action, entry.request.target_list_id) == (Action.LIST_UNSUBSCRIBE, PRODUCT_NEWS)
    assert entry.request.recipient.list_id == "17914"  # the email's own list stays the recipient's
    assert 'name="resubscribe" value="17920"' in text and "Subscribe to Product news again" in text

    undone = client.post(link, data={"resubscribe": PRODUCT_NEWS})
    assert "You are subscribed again." in undone.get_data(as_text=True)
    assert memberships(emulator, "demo-001") == before
    assert [e.request.action for e in _entries(app)] == [Action.LIST_UNSUBSCRIBE, Action.LIST_RESUBSCRIBE]

    again = client.get(link).get_data(as_text=True)
    assert boxes(again) == {"17914": True, PRODUCT_NEWS: True, EVENTS: True}


def test_ticking_a_list_again_resubscribes_it_and_unchanged_boxes_send_nothing(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    link = manage_link(subscriber_key="demo-001", **NEWSLETTER)
    client.post(link, data=save_form(client.get(link).get_data(as_text=True), {"17914", EVENTS}))
    html = client.get(link).get_data(as_text=True)
    assert boxes(html) == {"17914": True, PRODUCT_NEWS: False, EVENTS: True}
    assert "Tick it to receive its emails again" in html

    nothing = client.post(link, data=save_form(html, {"17914", EVENTS}))
    assert "Nothing was changed" in nothing.get_data(as_text=True)
    assert len(_entries(app)) == 1

    ticked = client.post(link, data=save_form(html, {"17914", PRODUCT_NEWS, EVENTS}))
    assert "You are subscribed again." in ticked.get_data(as_text=True)
    assert memberships(emulator, "demo-001")[PRODUCT_NEWS] == "Active"
    assert [e.request.action for e in _entries(app)] == [Action.LIST_UNSUBSCRIBE, Action.LIST_RESUBSCRIBE]


def test_unticking_the_emails_own_list_is_a_log_unsub_event_tracked_against_the_job(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    link = manage_link(subscriber_key="demo-001", **NEWSLETTER)
    html = client.get(link).get_data(as_text=True)
    saved = client.post(link, data=save_form(html, {PRODUCT_NEWS, EVENTS}))
    assert "You are unsubscribed." in saved.get_data(as_text=True)
    [event] = emulator.events()
    assert (event["subscriber_key"], event["job_id"], event["list_id"]) == ("demo-001", "18099", "17914")
    [entry] = _entries(app)
    assert (entry.request.action, entry.request.scope) == (Action.UNSUBSCRIBE, Scope.LIST)
    assert memberships(emulator, "demo-001")[PRODUCT_NEWS] == "Active"


@pytest.mark.parametrize(
    ("link_fields", "all_subscribers", "covers"),
    [
        ({"subscriber_key": "demo-003", **NEWSLETTER}, "1000", "This covers every brand of our company."),
        ({"subscriber_key": "child-001", **BRAND_NEWSLETTER}, "2000", "only, not the other brands of our"),
    ],
)
def test_all_email_is_one_master_unsubscribe_and_says_what_it_covers(
    app: Flask,
    client: FlaskClient,
    emulator: Any,
    link_fields: dict[str, str],
    all_subscribers: str,
    covers: str,
) -> None:
    link = manage_link(**link_fields)
    html = client.get(link).get_data(as_text=True)
    done = client.post(link, data={"all": "1"}).get_data(as_text=True)
    assert "All marketing email" in done and "You are unsubscribed." in done and covers in done
    [entry] = _entries(app)
    assert (entry.request.action, entry.request.scope) == (Action.UNSUBSCRIBE, Scope.ALL)
    assert memberships(emulator, link_fields["subscriber_key"])[all_subscribers] == "Unsubscribed"
    assert 'name="resubscribe"' not in done  # no "subscribe again" for all email
    assert "Stop all marketing email" in html


def test_a_form_whose_shown_state_was_changed_or_belongs_to_another_link_journals_nothing(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    link = manage_link(subscriber_key="demo-001", **NEWSLETTER)
    other = manage_link(subscriber_key="demo-003", **NEWSLETTER)
    html = client.get(link).get_data(as_text=True)
    state = shown_state(html)
    for target, shown in ((link, state[:-3] + "abc"), (other, state), (link, "")):
        answer = client.post(target, data={"shown": shown})
        assert answer.status_code == 400
        assert "This page was out of date" in answer.get_data(as_text=True)
    refused = client.post(link, data={"resubscribe": DO_NOT_MAIL})  # not a list the page offers
    assert refused.status_code == 400
    assert client.post(link, data={"resubscribe": "17914; DROP"}).status_code == 400
    assert client.post(link, data={"resubscribe": "17914\n"}).status_code == 400  # no trailing newline
    assert _entries(app) == [] and emulator.events() == []


def test_a_person_unsubscribed_from_all_email_is_told_so_and_gets_no_boxes(client: FlaskClient) -> None:
    html = client.get(manage_link(subscriber_key=UNSUBSCRIBED_FROM_ALL, **NEWSLETTER)).get_data(as_text=True)
    assert "This page cannot lift that" in html
    assert boxes(html) == {} and 'name="all"' not in html


def test_the_landing_result_after_only_this_list_offers_subscribe_again_which_the_manage_page_handles(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    rendered: list[dict[str, Any]] = []

    def remember(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        rendered.append({"name": template.name, **context})

    landing = landing_link(subscriber_key="demo-001", **NEWSLETTER)
    form = client.get(landing)
    with template_rendered.connected_to(remember, app):
        client.post(landing, data={"scope": "list"})
    [result] = [page for page in rendered if page["name"] == "unsubscribe/result.html"]
    undo = result["undo"]
    assert undo["list_id"] == "17914" and undo["list_name"] == "Newsletter"
    assert undo["action"].startswith("/manage?t=") and result["manage_url"] == undo["action"]
    assert memberships(emulator, "demo-001")["17914"] == "Unsubscribed"
    assert form.status_code == 200

    again = client.post(undo["action"], data={"resubscribe": undo["list_id"]})
    assert "You are subscribed again." in again.get_data(as_text=True)
    assert memberships(emulator, "demo-001")["17914"] == "Active"


def test_slow_marketing_cloud_or_a_spent_read_budget_gives_the_plain_form_at_once(
    make_app: Any, emulator: Any
) -> None:
    app = make_app(MANAGE_READ_TIMEOUT="0.4", MANAGE_READ_BURST="2", MANAGE_READ_RATE="0.001")
    client = app.test_client()
    link = manage_link(subscriber_key="demo-001", **NEWSLETTER)
    client.get(landing_link(subscriber_key="demo-001", **NEWSLETTER))  # the list names are read
    emulator.faults(latency_ms=1500)
    started = time.monotonic()
    slow = client.get(link)
    assert time.monotonic() - started < 1.2
    assert 'name="scope"' in slow.get_data(as_text=True)  # the landing form, posting to /unsubscribe
    assert 'action="/unsubscribe?t=' in slow.get_data(as_text=True)
    emulator.faults()
    assert boxes(client.get(link).get_data(as_text=True))  # the second token of the burst
    reads = retrieve_calls(emulator, "ListSubscriber")
    for _ in range(20):
        assert 'name="scope"' in client.get(link).get_data(as_text=True)  # the budget is spent
    assert retrieve_calls(emulator, "ListSubscriber") == reads
    assert _entries(app) == []


def test_a_link_without_subscriber_key_has_no_manage_page_to_offer(client: FlaskClient) -> None:
    html = client.get(manage_link(subscriber_id="1001", **NEWSLETTER)).get_data(as_text=True)
    assert 'name="scope"' in html and "/manage?" not in html


#: What every template gets besides its own values (docs/pages.md, "What a template can use").
COMMON_NAMES = {"brand", "page_locale", "request_id"}


def test_docs_list_every_value_the_new_templates_get(app: Flask, client: FlaskClient) -> None:
    rendered: dict[str, set[str]] = {}

    def remember(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        rendered.setdefault(template.name, set()).update(context)

    link = manage_link(subscriber_key="demo-001", **NEWSLETTER)
    with template_rendered.connected_to(remember, app):
        html = client.get(link).get_data(as_text=True)
        client.post(link, data=save_form(html, {"17914"}))
    docs = (Path(__file__).resolve().parents[2] / "docs" / "pages.md").read_text(encoding="utf-8")
    templates = sorted(
        path.name
        for path in (Path(__file__).resolve().parents[2] / "templates" / "preferences").glob("*.html")
    )
    for name in templates:
        row = next(line for line in docs.splitlines() if line.startswith(f"| `preferences/{name}` |"))
        for value in rendered[f"preferences/{name}"] - COMMON_NAMES:
            assert f"`{value}`" in row, (name, value)
        assert f"preferences/{name}" in docs.split("### What a template can use")[0]  # the file tree


def test_a_head_request_reads_nothing_from_marketing_cloud(client: FlaskClient, emulator: Any) -> None:
    link = manage_link(subscriber_key="demo-001", **NEWSLETTER)
    for _ in range(5):
        assert client.head(link).status_code == 200
    assert retrieve_calls(emulator, "ListSubscriber") == retrieve_calls(emulator, "Subscriber") == 0


@pytest.mark.parametrize("fault", ["outage", "rate_limited", "html_502", "drop", "login_failed"])
def test_marketing_cloud_failing_gives_the_plain_form_never_an_error(
    client: FlaskClient, emulator: Any, fault: str
) -> None:
    emulator.faults(error_rate=1.0, errors=[fault])
    answer = client.get(manage_link(subscriber_key="demo-001", **NEWSLETTER))
    assert answer.status_code == 200
    assert 'name="scope"' in answer.get_data(as_text=True)


def test_marketers_choose_the_lists_offered_without_python(make_app: Any) -> None:
    app = make_app(PREFERENCE_LISTS=f"510001000:{EVENTS},510001000:{WEEKLY_OFFERS},510001001:27920")
    html = app.test_client().get(manage_link(subscriber_key="demo-001", **NEWSLETTER)).get_data(as_text=True)
    assert list(boxes(html)) == ["17914", EVENTS]  # the email's own list, then the chosen ones in order
    child = app.test_client().get(manage_link(subscriber_key="child-001", **BRAND_NEWSLETTER))
    assert list(boxes(child.get_data(as_text=True))) == ["27914", "27920"]


def _form_context(app: Flask, client: FlaskClient, link: str) -> dict[str, Any]:
    rendered: list[dict[str, Any]] = []

    def remember(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        if template.name == "unsubscribe/form.html":
            rendered.append(context)

    with template_rendered.connected_to(remember, app):
        assert client.get(link).status_code == 200
    return rendered[-1]


def test_the_landing_form_says_what_all_email_covers_once_known_and_never_asks_for_it(
    make_app: Any, emulator: Any
) -> None:
    app = make_app(SFMC_MASTER_UNSUBSCRIBE_BEHAVIOR="510001001:BUSINESS_UNIT_ONLY")
    client = app.test_client()
    parent = landing_link(subscriber_key="demo-001", **NEWSLETTER)
    assert _form_context(app, client, parent)["all_covers_every_brand"] is None  # not read yet
    child = landing_link(subscriber_key="child-001", **BRAND_NEWSLETTER)
    assert _form_context(app, client, child)["all_covers_every_brand"] is False  # the setting
    assert retrieve_calls(emulator, "BusinessUnit") == 0  # the landing page never reads it
    client.get(manage_link(subscriber_key="demo-001", **NEWSLETTER))  # the manage page reads it
    known = _form_context(app, client, parent)  # a new page-cache shape: rendered, not filled
    assert known["all_covers_every_brand"] is True
    assert "manage_url" in known  # a page-cache hole (its value: the manage page's URL)


def test_a_brand_rewrites_the_manage_pages_texts_in_content_toml(make_app: Any, tmp_path: Path) -> None:
    folder = tmp_path / "brand"
    folder.mkdir()
    (folder / "content.toml").write_text(
        '[texts."manage.heading"]\nen = "Your ACME emails"\n'
        '[texts."manage.button"]\nde = "Auswahl sichern"\n'
        '[texts."manage.saved.heading"]\nen = "All set"\n',
        encoding="utf-8",
    )
    client = make_app(TEMPLATE_DIR=str(folder)).test_client()
    link = manage_link(subscriber_key="demo-001", **NEWSLETTER)
    english = client.get(link).get_data(as_text=True)
    assert "<h1>Your ACME emails</h1>" in english and "Save my choices" in english
    german = client.get(link + "&lang=de").get_data(as_text=True)
    assert "Auswahl sichern" in german and "Ihre Abonnements" in german  # no English on a German page
    saved = client.post(link, data=save_form(english, {"17914", EVENTS}))
    assert "All set" in saved.get_data(as_text=True)


def test_subscribe_again_works_with_marketing_cloud_down_in_a_process_that_never_read_the_lists(
    make_app: Any, emulator: Any
) -> None:
    """The button carries the page's signed proof, so the POST needs no List Retrieve (rule 1: a
    preference change is never refused); a button without it, or with another list's, still needs one."""
    shown_by = make_app().test_client()
    link = manage_link(subscriber_key="demo-001", **NEWSLETTER)
    saved = shown_by.post(link, data=save_form(shown_by.get(link).get_data(as_text=True), {"17914", EVENTS}))
    text = saved.get_data(as_text=True)
    proof = re.search(r'name="undo_proof" value="([^"]+)"', text)
    assert proof is not None and 'name="resubscribe" value="17920"' in text

    emulator.faults(error_rate=1.0, errors=["outage"])
    restarted = make_app()  # a new process (same journal): its list directory has never read this unit
    client = restarted.test_client()
    journaled = _entries(restarted)  # the save above
    assert client.post(link, data={"resubscribe": PRODUCT_NEWS}).status_code == 400
    assert client.post(link, data={"resubscribe": EVENTS, "undo_proof": proof.group(1)}).status_code == 400
    other_link = manage_link(subscriber_key="demo-003", **NEWSLETTER)
    assert (
        client.post(other_link, data={"resubscribe": PRODUCT_NEWS, "undo_proof": proof.group(1)}).status_code
        == 400
    )
    assert _entries(restarted) == journaled  # each refused: nothing journaled

    undone = client.post(link, data={"resubscribe": PRODUCT_NEWS, "undo_proof": proof.group(1)})
    assert undone.status_code == 200, undone.get_data(as_text=True)
    *_, entry = _entries(restarted)
    assert len(_entries(restarted)) == len(journaled) + 1
    assert (entry.request.action, entry.request.target_list_id) == (Action.LIST_RESUBSCRIBE, PRODUCT_NEWS)
    assert not entry.state.finished  # journaled; the worker delivers it when Marketing Cloud is back
