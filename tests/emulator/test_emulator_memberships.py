"""List memberships apart from the All Subscribers status, LogUnsubEvent's "all email" honouring the unit's
MasterUnsubscribeBehavior, and ``/_emulator/state`` showing every membership.
"""

from __future__ import annotations

import pytest
from emu_helpers import CHILD_MID, PARENT_MID, get_token, unsub
from wire_helpers import membership


@pytest.fixture
def token(emulator) -> str:
    return get_token(emulator.base_url)


def _status(state: dict, key: str, mid: str) -> str:
    return next(s["status"] for s in state["subscribers"] if s["key"] == key and s["mid"] == mid)


def test_list_unsubscribe_changes_only_that_membership(emulator, token: str) -> None:
    result = unsub(emulator.base_url, token, [("SubscriberKey", "demo-001"), ("JobID", "18099")])
    assert result.status_code == "OK"
    state = emulator.state()
    assert membership(state, "17914", "demo-001") == "Unsubscribed"
    assert [membership(state, lst, "demo-001") for lst in ("17920", "17950", "17960")] == ["Active"] * 3
    assert _status(state, "demo-001", PARENT_MID) == "Active"
    assert membership(state, "1000", "demo-001") == "Active"


def test_all_email_in_an_entire_enterprise_unit_reaches_every_unit(emulator, token: str) -> None:
    # No job context: a master unsubscribe, in the parent unit (ENTIRE_ENTERPRISE).
    assert unsub(emulator.base_url, token, [("SubscriberKey", "shared-001")]).status_code == "OK"
    state = emulator.state()
    assert (_status(state, "shared-001", PARENT_MID), _status(state, "shared-001", CHILD_MID)) == (
        "Unsubscribed",
        "Unsubscribed",
    )
    assert membership(state, "2000", "shared-001") == "Unsubscribed"  # the child's All Subscribers list
    assert membership(state, "27914", "shared-001") == "Active"  # list memberships are not touched
    # In the child unit the person is now already master-unsubscribed.
    again = unsub(emulator.base_url, token, [("SubscriberKey", "shared-001")], client_id=CHILD_MID)
    assert again.error_code == "12012"


def test_all_email_in_a_business_unit_only_unit_stays_in_that_unit(emulator, token: str) -> None:
    params = [
        ("SubscriberKey", "shared-001"),
        ("JobID", "28001"),
        ("ListID", "2000"),
    ]  # the child's All Subscribers
    assert unsub(emulator.base_url, token, params, client_id=CHILD_MID).status_code == "OK"
    state = emulator.state()
    assert (_status(state, "shared-001", PARENT_MID), _status(state, "shared-001", CHILD_MID)) == (
        "Active",
        "Unsubscribed",
    )
    [event] = state["events"]
    assert (event["list_id"], event["mid"]) == ("2000", CHILD_MID)


def test_all_subscribers_list_with_a_job_follows_the_behaviour_too(emulator, token: str) -> None:
    params = [("SubscriberKey", "shared-001"), ("JobID", "18099"), ("ListID", "1000")]
    assert unsub(emulator.base_url, token, params).status_code == "OK"
    assert _status(emulator.state(), "shared-001", CHILD_MID) == "Unsubscribed"


def test_state_shows_every_membership(emulator) -> None:
    state = emulator.state()
    listed = sum(len(lst["members"]) for lst in state["lists"])
    assert len(state["memberships"]) == listed
    assert {m["list_id"] for m in state["memberships"]} == {lst["id"] for lst in state["lists"]}
    row = next(
        m for m in state["memberships"] if m["list_id"] == "17950" and m["subscriber_key"] == "demo-011"
    )
    assert (row["status"], row["list_name"], row["mid"]) == ("Unsubscribed", "Events", PARENT_MID)
    units = {u["mid"]: u["master_unsubscribe_behavior"] for u in state["business_units"]}
    assert units == {PARENT_MID: "ENTIRE_ENTERPRISE", CHILD_MID: "BUSINESS_UNIT_ONLY"}
