"""Every rule of the LogUnsubEvent seed pages, over real HTTP against the emulator's demo data.

Demo identities are documented in docs/emulator.md (parent unit 510001000, child unit 510001001).
"""

from __future__ import annotations

import pytest
from emu_helpers import (
    CHILD_MID,
    PARENT_MID,
    Params,
    Result,
    envelope,
    get_token,
    post_soap,
    read_answer,
    request_element,
    unsub,
)

DEFAULT_REASON = "Unsubscribed via Log Unsub Event Execute call"


@pytest.fixture
def token(emulator) -> str:
    """A parent-unit token from the freshly reset emulator."""
    return get_token(emulator.base_url)


@pytest.fixture
def child_token(emulator) -> str:
    """A token issued for the child business unit (``account_id``)."""
    return get_token(emulator.base_url, account_id=CHILD_MID)


def _subscriber(state: dict, key: str) -> dict:
    return next(s for s in state["subscribers"] if s["key"] == key)


def _list_status(state: dict, list_id: str, subscriber_id: str) -> str | None:
    mailing_list = next(lst for lst in state["lists"] if lst["id"] == list_id)
    return mailing_list["members"].get(subscriber_id)


@pytest.mark.parametrize(
    ("params", "error_code"),
    [
        pytest.param([], "402", id="no-parameters"),
        pytest.param([("Colour", "blue")], "402", id="none-recognised"),
        pytest.param([("SubscriberKey", "   ")], "402", id="only-empty-values"),
        pytest.param([("JobID", "18099"), ("Reason", "x")], "403", id="no-identifier"),
        pytest.param([("SubscriberKey", ""), ("JobID", "18099")], "403", id="empty-identifier"),
        pytest.param([("EmailAddress", "demo001@example.com")], "404", id="email-alone-with-key-permission"),
        pytest.param(
            [("SubscriberID", "1001"), ("SubscriberKey", "demo-002")], "405", id="id-first-key-differs"
        ),
        pytest.param(
            [("SubscriberID", "1001"), ("EmailAddress", "demo002@example.com")], "405", id="id-email"
        ),
        pytest.param(
            [("SubscriberKey", "demo-001"), ("SubscriberID", "1002")], "406", id="key-first-id-differs"
        ),
        pytest.param(
            [("SubscriberKey", "demo-001"), ("EmailAddress", "demo002@example.com")], "406", id="key-email"
        ),
        pytest.param(
            # With the SubscriberKey permission on, an email address never serves as the lookup key.
            [("EmailAddress", "demo002@example.com"), ("SubscriberKey", "demo-001")],
            "406",
            id="email-first-key-permission",
        ),
        pytest.param([("SubscriberKey", "nobody-999")], "400", id="unknown-subscriber"),
        pytest.param([("SubscriberKey", "demo-024"), ("JobID", "18099")], "400", id="never-sent-the-job"),
        pytest.param(
            [("SubscriberKey", "demo-001"), ("JobID", "18099"), ("BatchID", "1")],
            "400",
            id="not-in-that-batch",
        ),
        pytest.param([("SubscriberKey", "demo-001"), ("JobID", "99999")], "400", id="unknown-job"),
        pytest.param([("SubscriberKey", "demo-001"), ("ListID", "55555")], "400", id="unknown-list"),
    ],
)
def test_rejections(emulator, token: str, params: Params, error_code: str) -> None:
    result = unsub(emulator.base_url, token, params)
    assert (result.status_code, result.error_code) == ("Error", error_code), result
    assert emulator.events() == []
    assert all(
        s["status"] == "Active"
        for s in emulator.state()["subscribers"]
        if s["key"] in ("demo-001", "demo-002")
    )


def test_all_matching_identifiers_are_accepted(emulator, token: str) -> None:
    params = [
        ("SubscriberID", "1001"),
        ("SubscriberKey", "demo-001"),
        ("EmailAddress", "DEMO001@example.com"),
        ("JobID", "18099"),
    ]
    result = unsub(emulator.base_url, token, params)
    assert (result.status_code, result.status_message, result.error_code) == ("OK", "Event posted", None)


def test_job_id_looks_up_list_and_batch(emulator, token: str) -> None:
    result = unsub(emulator.base_url, token, [("SubscriberKey", "demo-002"), ("JobID", "18099")])
    assert result.status_code == "OK"
    [event] = emulator.events()
    assert {
        k: event[k] for k in ("subscriber_id", "subscriber_key", "email", "job_id", "list_id", "batch_id")
    } == {
        "subscriber_id": "1002",
        "subscriber_key": "demo-002",
        "email": "demo002@example.com",
        "job_id": "18099",
        "list_id": "17914",
        "batch_id": "1",
    }
    assert event["mid"] == PARENT_MID
    assert event["reason"] == DEFAULT_REASON
    state = emulator.state()
    assert _list_status(state, "17914", "1002") == "Unsubscribed"
    assert _list_status(state, "17920", "1002") == "Active"
    assert _subscriber(state, "demo-002")["status"] == "Active"  # a list unsubscribe, not a master one


def test_list_id_alone_uses_the_most_recent_job(emulator, token: str) -> None:
    # demo-003 got 18099 (Oct 1), 18100 (Oct 15) and 18101 (Nov 1, batch 2): the event goes to 18101.
    result = unsub(emulator.base_url, token, [("SubscriberKey", "demo-003"), ("ListID", "17920")])
    assert result.status_code == "OK"
    [event] = emulator.events()
    assert (event["job_id"], event["list_id"], event["batch_id"]) == ("18101", "17920", "2")
    assert _list_status(emulator.state(), "17920", "1003") == "Unsubscribed"


@pytest.mark.parametrize(
    "job_context",
    [pytest.param([], id="none"), pytest.param([("BatchID", "1")], id="batch-id-alone")],
)
def test_no_job_context_master_unsubscribes_without_event(emulator, token: str, job_context: Params) -> None:
    result = unsub(emulator.base_url, token, [("SubscriberKey", "demo-004"), *job_context])
    assert result.status_code == "OK"
    assert emulator.events() == []
    state = emulator.state()
    assert _subscriber(state, "demo-004")["status"] == "Unsubscribed"
    assert _list_status(state, "1000", "1004") == "Unsubscribed"


def test_all_subscribers_list_is_a_master_unsubscribe_tracked_against_the_job(emulator, token: str) -> None:
    params = [("SubscriberKey", "demo-005"), ("JobID", "18100"), ("ListID", "1000"), ("Reason", "Too many")]
    assert unsub(emulator.base_url, token, params).status_code == "OK"
    [event] = emulator.events()
    assert (event["job_id"], event["list_id"], event["batch_id"], event["reason"]) == (
        "18100",
        "1000",
        "1",
        "Too many",
    )
    state = emulator.state()
    assert _subscriber(state, "demo-005")["status"] == "Unsubscribed"
    # A second call now meets the master unsubscribe.
    again = unsub(emulator.base_url, token, [("SubscriberKey", "demo-005"), ("JobID", "18099")])
    assert (again.error_code, again.status_message) == ("12012", "OnMasterUnsubscribeList")


def test_suppression_lists_are_refused(emulator, token: str) -> None:
    result = unsub(emulator.base_url, token, [("SubscriberKey", "demo-023"), ("ListID", "17940")])
    assert (result.status_code, result.error_code) == ("Error", "400")
    assert "suppression" in result.status_message
    state = emulator.state()
    assert _list_status(state, "17940", "1023") == "Active"
    assert emulator.events() == []


def test_already_unsubscribed_from_the_list(emulator, token: str) -> None:
    result = unsub(emulator.base_url, token, [("SubscriberKey", "demo-022"), ("JobID", "18099")])
    assert (result.error_code, result.status_message) == ("401", "Subscriber is already unsubscribed")
    assert emulator.events() == []


def test_second_unsubscribe_from_the_same_list_is_401(emulator, token: str) -> None:
    params = [("SubscriberKey", "demo-006"), ("JobID", "18101"), ("ListID", "17914")]
    assert unsub(emulator.base_url, token, params).status_code == "OK"
    assert unsub(emulator.base_url, token, params).error_code == "401"
    assert len(emulator.events()) == 1


def test_already_master_unsubscribed(emulator, token: str) -> None:
    result = unsub(emulator.base_url, token, [("SubscriberKey", "demo-021"), ("JobID", "18099")])
    assert (result.error_code, result.status_message) == ("12012", "OnMasterUnsubscribeList")


def test_reason_given_is_recorded(emulator, token: str) -> None:
    params = [
        ("SubscriberID", "1007"),
        ("JobID", "18099"),
        ("Reason", "Profile Center: Too frequent – ünïcode"),
    ]
    assert unsub(emulator.base_url, token, params).status_code == "OK"
    assert emulator.events()[0]["reason"] == "Profile Center: Too frequent – ünïcode"


def test_child_unit_needs_client_id_or_a_child_token(emulator, token: str, child_token: str) -> None:
    params = [("SubscriberKey", "child-001"), ("JobID", "28001")]
    assert unsub(emulator.base_url, token, params).error_code == "400"  # not visible from the parent alone
    assert unsub(emulator.base_url, token, params, client_id=CHILD_MID).status_code == "OK"
    [event] = emulator.events()
    assert (event["mid"], event["subscriber_id"], event["list_id"], event["batch_id"]) == (
        CHILD_MID,
        "2001",
        "27914",
        "0",
    )


def test_child_token_acts_in_the_child_unit_only(emulator, child_token: str) -> None:
    child_params = [("SubscriberKey", "child-002"), ("JobID", "28001")]
    assert unsub(emulator.base_url, child_token, child_params).status_code == "OK"
    assert emulator.events()[0]["mid"] == CHILD_MID
    parent_params = [("SubscriberKey", "demo-001"), ("JobID", "18099")]
    assert unsub(emulator.base_url, child_token, parent_params).error_code == "400"
    # A token does not flow up: Client/ID of the parent is refused for a child token.
    refused = unsub(emulator.base_url, child_token, parent_params, client_id=PARENT_MID)
    assert refused.status_code == "Error"
    assert "may act in" in refused.status_message
    assert len(emulator.events()) == 1


def test_child_unit_rules_apply_there(emulator, token: str) -> None:
    on_master = unsub(emulator.base_url, token, [("SubscriberKey", "child-009")], client_id=CHILD_MID)
    assert on_master.error_code == "12012"
    off_list = unsub(
        emulator.base_url, token, [("SubscriberKey", "child-010"), ("JobID", "28001")], CHILD_MID
    )
    assert off_list.error_code == "401"
    suppressed = unsub(
        emulator.base_url, token, [("SubscriberKey", "child-008"), ("ListID", "27940")], CHILD_MID
    )
    assert suppressed.error_code == "400"


@pytest.mark.parametrize("name", ["subscriberkey", "SUBSCRIBERKEY", "Subscriberkey"])
def test_parameter_names_are_case_sensitive(emulator, token: str, name: str) -> None:
    result = unsub(emulator.base_url, token, [(name, "demo-001"), ("JobID", "18099")])
    assert (result.status_code, result.status_message) == (
        "Error",
        "Object reference not set to an instance of an object.",
    )
    assert emulator.events() == []


def test_list_id_for_a_subscriber_never_sent_anything(emulator, token: str) -> None:
    # No job to track against: the list unsubscribe happens, but no UnsubEvent is logged.
    result = unsub(emulator.base_url, token, [("SubscriberKey", "demo-024"), ("ListID", "17914")])
    assert result.status_code == "OK"
    assert emulator.events() == []
    state = emulator.state()
    assert _list_status(state, "17914", "1024") == "Unsubscribed"
    assert _subscriber(state, "demo-024")["status"] == "Active"


def test_job_and_publication_list_together(emulator, token: str) -> None:
    params = [("SubscriberKey", "demo-008"), ("JobID", "18101"), ("ListID", "17920"), ("BatchID", "1")]
    assert unsub(emulator.base_url, token, params).status_code == "OK"
    [event] = emulator.events()
    assert (event["job_id"], event["list_id"], event["batch_id"]) == ("18101", "17920", "1")
    state = emulator.state()
    assert _list_status(state, "17920", "1008") == "Unsubscribed"
    assert _list_status(state, "17914", "1008") == "Active"


def _one(emulator, token: str, request) -> Result:
    [result] = read_answer(post_soap(emulator.base_url, envelope(token, [request]))).results
    return result


def test_answers_without_an_error_code_as_marketing_cloud_does(emulator, token: str) -> None:
    params = [("SubscriberKey", "child-003"), ("JobID", "28001")]
    unknown_method = _one(emulator, token, request_element(params, name="Foo"))
    assert (unknown_method.status_code, unknown_method.status_message, unknown_method.error_code) == (
        "Error",
        "Unable to find a handler for the Foo method.",  # the documented text
        None,
    )
    unknown_unit = _one(emulator, token, request_element(params, client_id="510009999"))
    assert (unknown_unit.status_code, unknown_unit.error_code) == ("Error", None)
    assert unknown_unit.status_message == "Client ID 510009999 is not a business unit this token may act in."
    assert emulator.events() == []


@pytest.mark.parametrize("job", [[("JobID", "28001")], []], ids=["with-job", "list-only"])
def test_another_units_list_is_refused_naming_the_list(emulator, token: str, job: Params) -> None:
    # The parent's All Subscribers list (1000) with the child's Client/ID: every unit has its own.
    params = [("SubscriberKey", "child-003"), *job, ("ListID", "1000")]
    refused = unsub(emulator.base_url, token, params, client_id=CHILD_MID)
    assert (refused.error_code, refused.status_message) == ("400", "The specified ListID could not be found.")
    assert _subscriber(emulator.state(), "child-003")["status"] == "Active"
    # The child's own All Subscribers list (2000) is a master unsubscribe tracked against the job.
    done = unsub(emulator.base_url, token, [*params[:-1], ("ListID", "2000")], client_id=CHILD_MID)
    assert done.status_code == "OK"
    assert _subscriber(emulator.state(), "child-003")["status"] == "Unsubscribed"
    assert [(e["list_id"], e["mid"]) for e in emulator.events()] == [("2000", CHILD_MID)]
