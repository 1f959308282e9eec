"""POST: journal first, then Marketing Cloud (the emulator), then a page that tells the truth."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flow_helpers import (
    ALL_SUBSCRIBERS,
    ALREADY_OFF_NEWSLETTER,
    BRAND_NEWSLETTER,
    NEWSLETTER,
    NEWSLETTER_BATCH_1,
    NOT_ON_NEWSLETTER_JOB,
    journal_entries,
    link,
)

from app.journal.models import Scope, Source, State


def _status_block(html: str) -> str:
    assert 'role="status"' in html
    return html.split('role="status"', 1)[1].split("</div>", 1)[0]


def test_list_unsubscribe_with_a_reason_is_journaled_and_logged_against_the_job(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    response = client.post(
        link(subscriber_key="demo-001", **NEWSLETTER), data={"scope": "list", "reason": "too_many"}
    )
    assert response.status_code == 200
    status = _status_block(response.get_data(as_text=True))
    # The list is named (the "subscribe again" offer carries its name from the list directory).
    assert (
        "You are unsubscribed" in status and "no longer receive emails from the list “Newsletter”" in status
    )
    [entry] = journal_entries(app)
    assert (entry.state, entry.request.scope, entry.request.source) == (
        State.DELIVERED,
        Scope.LIST,
        Source.FORM,
    )
    assert entry.request.reason_code == "too_many" and entry.request.language == "en"
    [event] = emulator.events()
    assert (event["subscriber_key"], event["job_id"], event["list_id"], event["batch_id"]) == (
        "demo-001",
        "18099",
        "17914",
        "0",
    )
    assert event["reason"] == "Profile Center: Too many emails"


def test_all_email_is_tracked_against_the_job_on_the_all_subscribers_list(
    client: FlaskClient, emulator: Any
) -> None:
    response = client.post(link(subscriber_key="demo-002", **NEWSLETTER_BATCH_1), data={"scope": "all"})
    assert "You will no longer receive marketing email" in response.get_data(as_text=True)
    [event] = emulator.events()
    assert (event["subscriber_key"], event["list_id"], event["job_id"]) == (
        "demo-002",
        ALL_SUBSCRIBERS,
        "18099",
    )
    assert event["reason"] == "Profile Center: No reason given"


def test_other_reason_sends_the_free_text(client: FlaskClient, emulator: Any) -> None:
    text = "Moving abroad – ich ziehe um"
    client.post(
        link(subscriber_key="demo-003", **NEWSLETTER),
        data={"scope": "list", "reason": "other", "other_text": f"  {text}  "},
    )
    assert emulator.events()[0]["reason"] == f"Profile Center: Other: {text}"


def test_free_text_without_a_chosen_reason_counts_as_other(app: Flask, client: FlaskClient) -> None:
    client.post(
        link(subscriber_key="demo-004", **NEWSLETTER_BATCH_1), data={"scope": "list", "other_text": "why not"}
    )
    [entry] = journal_entries(app)
    assert (entry.request.reason_code, entry.request.reason_text) == ("other", "why not")


def test_the_reason_is_optional_and_the_free_text_is_ignored_for_other_reasons(
    app: Flask, client: FlaskClient
) -> None:
    client.post(link(subscriber_key="demo-005", **NEWSLETTER), data={"scope": "list"})
    client.post(
        link(subscriber_key="demo-006", **NEWSLETTER_BATCH_1),
        data={"scope": "list", "reason": "not_relevant", "other_text": "ignored"},
    )
    first, second = journal_entries(app)
    assert (first.request.reason_code, first.request.reason_text) == (None, None)
    assert (second.request.reason_code, second.request.reason_text) == ("not_relevant", None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scope": "list", "reason": "other", "other_text": "x" * 501}, "500 characters or fewer"),
        ({"scope": "everything"}, "Please choose one of the options."),
        ({}, "Please choose one of the options."),  # a POST without a scope unsubscribes nobody
        ({"reason": "too_many"}, "Please choose one of the options."),
        ({"scope": "list", "reason": "made_up"}, "Please choose one of the options."),
    ],
    ids=["text over 500", "unknown scope", "no scope", "reason without scope", "unknown reason"],
)
def test_a_wrong_answer_shows_the_form_again_and_records_nothing(
    app: Flask, client: FlaskClient, emulator: Any, data: dict[str, str], message: str
) -> None:
    response = client.post(link(subscriber_key="demo-007", **NEWSLETTER), data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html and 'role="alert"' in html and 'type="submit"' in html
    assert journal_entries(app) == [] and emulator.events() == []


def test_exactly_500_characters_are_accepted(app: Flask, client: FlaskClient) -> None:
    response = client.post(
        link(subscriber_key="demo-008", **NEWSLETTER_BATCH_1),
        data={"scope": "list", "reason": "other", "other_text": "é" * 500},
    )
    assert response.status_code == 200
    assert journal_entries(app)[0].request.reason_text == "é" * 500


def test_list_scope_is_refused_when_the_link_has_no_job(app: Flask, client: FlaskClient) -> None:
    response = client.post(link(subscriber_key="demo-009"), data={"scope": "list"})
    assert response.status_code == 400
    assert journal_entries(app) == []


def test_already_unsubscribed(app: Flask, client: FlaskClient) -> None:
    response = client.post(
        link(subscriber_key=ALREADY_OFF_NEWSLETTER, **NEWSLETTER_BATCH_1), data={"scope": "list"}
    )
    assert "You were already unsubscribed" in _status_block(response.get_data(as_text=True))
    assert journal_entries(app)[0].state is State.ALREADY


def test_not_found_offers_all_email_and_that_offer_works(make_app: Any, emulator: Any) -> None:
    app = make_app()  # no All Subscribers list: the offer master-unsubscribes without job context
    client = app.test_client()
    url = link(subscriber_key=NOT_ON_NEWSLETTER_JOB, **NEWSLETTER)
    response = client.post(url, data={"scope": "list", "reason": "never_signed_up"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "We could not find that subscription" in _status_block(html)
    assert 'name="scope" value="all"' in html
    assert "Unsubscribe from all marketing email" in html
    assert journal_entries(app)[0].state is State.REJECTED and journal_entries(app)[0].error_code == 400

    offer = client.post(url, data={"scope": "all", "without_job": "1"})
    assert "You will no longer receive marketing email" in _status_block(offer.get_data(as_text=True))
    second = journal_entries(app)[1]
    assert (second.state, second.request.scope, second.request.recipient.job_id) == (
        State.DELIVERED,
        Scope.ALL,
        None,
    )
    subscriber = next(s for s in emulator.state()["subscribers"] if s["key"] == NOT_ON_NEWSLETTER_JOB)
    assert subscriber["status"] == "Unsubscribed"


def test_received_and_processing_when_marketing_cloud_is_slow(make_app: Any, emulator: Any) -> None:
    # The result page may wait for the list's name (its "subscribe again" button) as the landing page does:
    # here at most the 0.3 s deployments have, not the 5 s the flow tests otherwise allow it.
    app = make_app(INLINE_DELIVERY_BUDGET="0.2", LIST_NAMES_WAIT_SECONDS="0.3")
    emulator.faults(latency_ms=1500)
    response = app.test_client().post(
        link(subscriber_key="demo-010", **NEWSLETTER_BATCH_1), data={"scope": "list"}
    )
    assert response.status_code == 200
    assert "We have your request" in _status_block(response.get_data(as_text=True))
    assert journal_entries(app)[0].state is State.PENDING


def test_a_child_unit_subscriber_is_unsubscribed_in_that_unit(client: FlaskClient, emulator: Any) -> None:
    response = client.post(link(subscriber_key="child-001", **BRAND_NEWSLETTER), data={"scope": "list"})
    assert "You are unsubscribed" in response.get_data(as_text=True)
    [event] = emulator.events()
    assert (event["subscriber_key"], event["mid"], event["list_id"]) == ("child-001", "510001001", "27914")


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_one_click_unsubscribes_from_the_list_with_a_short_text_answer(
    app: Flask, client: FlaskClient, emulator: Any, content_type: str
) -> None:
    response = client.post(
        link(subscriber_key="demo-011", **NEWSLETTER),
        data={"List-Unsubscribe": "One-Click"},
        content_type=content_type,
    )
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "You are unsubscribed.\n"
    assert "Location" not in response.headers and "Set-Cookie" not in response.headers
    [entry] = journal_entries(app)
    assert (entry.request.source, entry.request.scope) == (Source.ONE_CLICK, Scope.LIST)
    [event] = emulator.events()
    assert (event["subscriber_key"], event["list_id"]) == ("demo-011", "17914")
    assert event["reason"] == "One-click unsubscribe (RFC 8058)"


def test_one_click_twice_says_already(client: FlaskClient) -> None:
    url = link(subscriber_key="demo-012", **NEWSLETTER_BATCH_1)
    client.post(url, data={"List-Unsubscribe": "One-Click"})
    again = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200 and again.get_data(as_text=True) == "You were already unsubscribed.\n"


def test_a_body_over_the_cap_gets_413_and_records_nothing(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    url = link(subscriber_key="demo-013", **NEWSLETTER)
    big = "x" * (app.config["MAX_BODY_BYTES"] + 1)
    for response in (
        client.post(url, data={"scope": "list", "reason": "other", "other_text": big}),
        client.post(
            url, data={"List-Unsubscribe": "One-Click", "pad": big}, content_type="multipart/form-data"
        ),
    ):
        assert response.status_code == 413
    assert journal_entries(app) == [] and emulator.events() == []
