"""Update of Subscriber objects over real HTTP: list memberships, Client/ID, Subscriber.Status, the codes of
PROTOCOL.md, one result per object matched by OrdinalID, at most 50 objects per call.
"""

from __future__ import annotations

import pytest
from emu_helpers import CHILD_MID, PARENT_MID, get_token, post_soap, read_fault
from wire_helpers import list_change, membership, read_update, subscriber_object, update, update_request, wrap


@pytest.fixture
def token(emulator) -> str:
    return get_token(emulator.base_url)


def _status(state: dict, key: str, mid: str = PARENT_MID) -> str:
    return next(s["status"] for s in state["subscribers"] if s["key"] == key and s["mid"] == mid)


def test_unsubscribe_one_list_then_subscribe_again(emulator, token: str) -> None:
    overall, [result] = update(
        emulator.base_url, token, [subscriber_object("demo-001", [list_change("17920", "Unsubscribed")])]
    )
    assert (overall, result.status_code, result.status_message, result.ordinal_id, result.error_code) == (
        "OK",
        "OK",
        "Updated Subscriber.",
        "0",
        None,
    )
    state = emulator.state()
    assert membership(state, "17920", "demo-001") == "Unsubscribed"
    assert membership(state, "17914", "demo-001") == "Active"  # the other lists are untouched
    assert _status(state, "demo-001") == "Active"  # and so is the All Subscribers status
    update(emulator.base_url, token, [subscriber_object("demo-001", [list_change("17920", "Active")])])
    assert membership(emulator.state(), "17920", "demo-001") == "Active"


def test_child_unit_needs_client_id(emulator, token: str) -> None:
    change = [list_change("27920", "Unsubscribed")]
    overall, [result] = update(emulator.base_url, token, [subscriber_object("child-001", change)])
    assert (overall, result.error_code) == ("Error", "12001")  # not a subscriber of the token's unit
    overall, _ = update(
        emulator.base_url, token, [subscriber_object("child-001", change, client_id=CHILD_MID)]
    )
    assert overall == "OK"
    assert membership(emulator.state(), "27920", "child-001") == "Unsubscribed"


def test_child_token_cannot_reach_up_with_client_id(emulator) -> None:
    child_token = get_token(emulator.base_url, account_id=CHILD_MID)
    change = [list_change("17920", "Unsubscribed")]
    _, [result] = update(
        emulator.base_url, child_token, [subscriber_object("demo-001", change, client_id=PARENT_MID)]
    )
    assert result.status_code == "Error" and result.error_code is None
    assert membership(emulator.state(), "17920", "demo-001") == "Active"


@pytest.mark.parametrize(
    ("key", "change", "code"),
    [
        pytest.param("nobody", list_change("17920", "Unsubscribed"), "12001", id="subscriber-not-found"),
        pytest.param("demo-001", list_change("99999", "Unsubscribed"), "13000", id="list-not-found"),
        pytest.param("demo-001", list_change("27920", "Unsubscribed"), "13000", id="another-units-list"),
        pytest.param("demo-001", list_change("abc", "Unsubscribed"), "13004", id="unknown-list-id"),
        pytest.param("demo-001", list_change("", "Unsubscribed"), "13001", id="list-id-not-specified"),
        pytest.param(
            "demo-001", list_change("1000", "Unsubscribed"), "13012", id="all-subscribers-cannot-be-updated"
        ),
        pytest.param(
            "demo-001", list_change("17920", "Active", "Create"), "13006", id="create-on-list-already"
        ),
        pytest.param("demo-024", list_change("17920", None, "Delete"), "13007", id="delete-not-on-list"),
    ],
)
def test_error_codes(emulator, token: str, key: str, change, code: str) -> None:
    before = emulator.state()["memberships"]
    overall, [result] = update(emulator.base_url, token, [subscriber_object(key, [change])])
    assert (overall, result.status_code, result.error_code, result.ordinal_id) == (
        "Error",
        "Error",
        code,
        "0",
    )
    assert emulator.state()["memberships"] == before


def test_invalid_email_address_is_12000(emulator, token: str) -> None:
    bad = subscriber_object("demo-001", [list_change("17920", "Unsubscribed")], email="not an address")
    _, [result] = update(emulator.base_url, token, [bad])
    assert result.error_code == "12000"


def test_one_bad_list_entry_fails_the_whole_object_and_only_it(emulator, token: str) -> None:
    mixed = subscriber_object(
        "demo-002", [list_change("17920", "Unsubscribed"), list_change("99999", "Active")]
    )
    good = subscriber_object("demo-003", [list_change("17920", "Unsubscribed")])
    overall, results = update(emulator.base_url, token, [mixed, good, subscriber_object("nobody")])
    assert overall == "Has Errors"
    assert [(r.ordinal_id, r.status_code, r.error_code) for r in results] == [
        ("0", "Error", "13000"),
        ("1", "OK", None),
        ("2", "Error", "12001"),
    ]
    state = emulator.state()
    assert membership(state, "17920", "demo-002") == "Active"
    assert membership(state, "17920", "demo-003") == "Unsubscribed"


def test_fifty_objects_pass_and_fifty_one_are_refused(emulator, token: str) -> None:
    keys = [f"demo-{n:03d}" for n in range(1, 21)] * 3
    objects = [subscriber_object(k, [list_change("17914", "Unsubscribed")]) for k in keys]
    overall, results = update(emulator.base_url, token, objects[:51])
    assert overall == "Error" and len(results) == 51
    assert {r.status_code for r in results} == {"Error"}
    assert "at most 50" in results[0].status_message
    assert membership(emulator.state(), "17914", "demo-001") == "Active"  # nothing was applied
    overall, results = update(emulator.base_url, token, objects[:50])
    assert overall == "OK" and [r.ordinal_id for r in results] == [str(n) for n in range(50)]
    assert membership(emulator.state(), "17914", "demo-020") == "Unsubscribed"


def test_subscriber_status_unsubscribed_is_all_email_across_the_enterprise(emulator, token: str) -> None:
    overall, _ = update(emulator.base_url, token, [subscriber_object("shared-001", status="Unsubscribed")])
    assert overall == "OK"
    state = emulator.state()
    # The parent unit is ENTIRE_ENTERPRISE: the person is unsubscribed in the child unit too.
    assert (_status(state, "shared-001", PARENT_MID), _status(state, "shared-001", CHILD_MID)) == (
        "Unsubscribed",
        "Unsubscribed",
    )
    assert membership(state, "17914", "shared-001") == "Active"  # list memberships stay as they were


def test_subscriber_status_unsubscribed_in_a_business_unit_only_unit(emulator, token: str) -> None:
    objects = [subscriber_object("shared-001", status="Unsubscribed", client_id=CHILD_MID)]
    assert update(emulator.base_url, token, objects)[0] == "OK"
    state = emulator.state()
    assert (_status(state, "shared-001", PARENT_MID), _status(state, "shared-001", CHILD_MID)) == (
        "Active",
        "Unsubscribed",
    )


def test_list_active_for_a_master_unsubscribed_person_succeeds_but_they_stay_unsubscribed(
    emulator, token
) -> None:
    # PROTOCOL.md [I]: the list entry becomes Active, the All Subscribers status is not lifted by it.
    update(emulator.base_url, token, [subscriber_object("demo-021", [list_change("17914", "Unsubscribed")])])
    overall, _ = update(
        emulator.base_url, token, [subscriber_object("demo-021", [list_change("17914", "Active")])]
    )
    assert overall == "OK"
    state = emulator.state()
    assert membership(state, "17914", "demo-021") == "Active"
    assert _status(state, "demo-021") == "Unsubscribed"
    assert membership(state, "1000", "demo-021") == "Unsubscribed"


def test_update_adds_a_person_to_a_list_they_were_not_on_and_deleted_removes_them(
    emulator, token: str
) -> None:
    assert membership(emulator.state(), "17950", "demo-024") is None
    update(emulator.base_url, token, [subscriber_object("demo-024", [list_change("17950", "Active")])])
    assert membership(emulator.state(), "17950", "demo-024") == "Active"
    update(emulator.base_url, token, [subscriber_object("demo-024", [list_change("17950", "Deleted")])])
    assert membership(emulator.state(), "17950", "demo-024") is None


def test_update_without_options_is_accepted_as_suds_sends_it(emulator, token: str) -> None:
    payload = update_request(
        [subscriber_object("demo-004", [list_change("17920", "Unsubscribed")])], options=False
    )
    overall, _ = read_update(post_soap(emulator.base_url, wrap(token, payload), action="Update"))
    assert overall == "OK"
    assert membership(emulator.state(), "17920", "demo-004") == "Unsubscribed"


def test_update_needs_a_live_token(emulator) -> None:
    payload = update_request([subscriber_object("demo-004", [list_change("17920", "Unsubscribed")])])
    fault = read_fault(post_soap(emulator.base_url, wrap("never-issued", payload), action="Update"))
    assert fault.faultstring == "Login failed"
    assert membership(emulator.state(), "17920", "demo-004") == "Active"


def test_updates_are_counted(emulator, token: str) -> None:
    objects = [
        subscriber_object("demo-005", [list_change("17920", "Unsubscribed")]),
        subscriber_object("nobody"),
    ]
    update(emulator.base_url, token, objects)
    stats = emulator.state()["stats"]
    assert (stats["update"], stats["update_objects"], stats["soap_calls"]) == (1, 2, 1)
