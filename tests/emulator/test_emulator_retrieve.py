"""Retrieve over real HTTP: ListSubscriber, List, Subscriber, BusinessUnit, ClientIDs, QueryAllAccounts,
filters, Marketing Cloud's error texts (HTTP 200, ``OverallStatus`` ``Error: …``) and the per-type counters.

The answers' WSDL shape is held to the real schema in test_emulator_wire_schema.py.
"""

from __future__ import annotations

import re

import pytest
from emu_helpers import CHILD_MID, PARENT_MID, get_token, post_soap
from wire_helpers import XSI, retrieve, retrieve_request, simple_filter, wrap

LS_PROPS = ["ListID", "SubscriberKey", "Status", "ObjectID", "CreatedDate", "ModifiedDate", "Client.ID"]
LIST_PROPS = ["ID", "ListName", "Description", "Category", "Type", "CustomerKey", "ListClassification"]
SUB_PROPS = ["ID", "EmailAddress", "SubscriberKey", "Status", "UnsubscribedDate", "CreatedDate"]
ZONELESS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$")


@pytest.fixture
def token(emulator) -> str:
    return get_token(emulator.base_url)


def test_list_subscriber_shows_each_list_of_the_person_with_its_status(emulator, token: str) -> None:
    page = retrieve(
        emulator.base_url, token, "ListSubscriber", LS_PROPS, simple_filter("SubscriberKey", "demo-011")
    )
    assert page.overall_status == "OK"
    assert set(page.types) == {"ListSubscriber"}
    by_list = {row["ListID"]: row["Status"] for row in page.rows}
    # All Subscribers (the subscriber status), then each list; demo-011 left Events before.
    assert by_list == {"1000": "Active", "17914": "Active", "17920": "Active", "17950": "Unsubscribed"}
    for row in page.rows:
        assert row["SubscriberKey"] == "demo-011"
        assert row["Client.ID"] == PARENT_MID
        assert row["PartnerKey"] is None  # xsi:nil
        assert ZONELESS.match(row["CreatedDate"]) and ZONELESS.match(row["ModifiedDate"])
        assert re.fullmatch(r"[0-9a-f-]{36}", row["ObjectID"])


def test_list_subscriber_status_of_all_subscribers_is_the_master_status(emulator, token: str) -> None:
    page = retrieve(
        emulator.base_url, token, "ListSubscriber", LS_PROPS, simple_filter("SubscriberKey", "demo-021")
    )
    by_list = {row["ListID"]: row["Status"] for row in page.rows}
    assert by_list == {"1000": "Unsubscribed", "17914": "Active"}  # memberships kept apart from it


@pytest.mark.parametrize("prefix", ["par", "ns1", "q1", None])
def test_filter_xsi_type_may_have_any_prefix_or_none(emulator, token: str, prefix: str | None) -> None:
    filter_ = simple_filter("SubscriberKey", "demo-024", prefix=prefix)
    page = retrieve(emulator.base_url, token, "ListSubscriber", ["ListID", "Status"], filter_)
    assert page.overall_status == "OK"
    assert sorted(row["ListID"] for row in page.rows) == ["1000", "17914"]


def test_only_the_properties_asked_for_come_back(emulator, token: str) -> None:
    page = retrieve(
        emulator.base_url, token, "ListSubscriber", ["ListID"], simple_filter("SubscriberKey", "demo-024")
    )
    assert page.rows[0] == {"PartnerKey": None, "ObjectID": None, "ListID": "1000"}


def test_child_unit_lists_with_client_ids(emulator, token: str) -> None:
    page = retrieve(emulator.base_url, token, "List", [*LIST_PROPS, "Client.ID"], client_ids=[CHILD_MID])
    assert page.overall_status == "OK" and set(page.types) == {"List"}
    rows = {row["ID"]: row for row in page.rows}
    assert set(rows) == {"2000", "27914", "27920", "27930", "27940", "27960"}
    assert rows["2000"] == {
        "Client.ID": CHILD_MID,
        "PartnerKey": None,
        "ID": "2000",
        "ObjectID": None,
        "CustomerKey": "All Subscribers - 201",
        "ListName": "All Subscribers",
        "Category": "201",
        "Type": "Private",
        "Description": "",  # written as an empty element, not left out
        "ListClassification": "ExactTargetList",
    }
    assert (rows["27914"]["ListName"], rows["27914"]["Type"], rows["27914"]["ListClassification"]) == (
        "Brand newsletter",
        "Public",
        "PublicationList",
    )
    assert rows["27940"]["ListClassification"] == "SuppressionList"
    assert rows["27960"]["Type"] == "Private"


def test_parent_lists_have_names_descriptions_and_one_all_subscribers(emulator, token: str) -> None:
    page = retrieve(emulator.base_url, token, "List", LIST_PROPS)
    public = {
        row["ListName"]: row["Description"]
        for row in page.rows
        if (row["Type"], row["ListClassification"]) == ("Public", "PublicationList")
    }
    assert set(public) == {"Newsletter", "Product news", "Weekly offers", "Events"}
    assert all(public.values())
    assert [row["ID"] for row in page.rows if row["ListName"] == "All Subscribers"] == ["1000"]


def test_all_subscribers_by_name_per_unit_and_with_query_all_accounts(emulator, token: str) -> None:
    by_name = simple_filter("ListName", "All Subscribers")
    own = retrieve(emulator.base_url, token, "List", ["ID", "Client.ID"], by_name)
    assert [(r["ID"], r["Client.ID"]) for r in own.rows] == [("1000", PARENT_MID)]
    child = retrieve(emulator.base_url, token, "List", ["ID"], by_name, client_ids=[CHILD_MID])
    assert [r["ID"] for r in child.rows] == ["2000"]
    # QueryAllAccounts spans every unit and ignores ClientIDs.
    everywhere = retrieve(
        emulator.base_url,
        token,
        "List",
        ["ID", "Client.ID"],
        by_name,
        client_ids=[CHILD_MID],
        query_all_accounts=True,
    )
    assert [(r["ID"], r["Client.ID"]) for r in everywhere.rows] == [("1000", PARENT_MID), ("2000", CHILD_MID)]


def test_in_operator_and_numeric_equals(emulator, token: str) -> None:
    page = retrieve(
        emulator.base_url, token, "List", ["ID"], simple_filter("ID", ["17914", "17950", "2000"], "IN")
    )
    assert [r["ID"] for r in page.rows] == ["17914", "17950"]  # 2000 is the child's
    page = retrieve(emulator.base_url, token, "List", ["ID"], simple_filter("ID", " 17920"))
    assert [r["ID"] for r in page.rows] == ["17920"]


def test_subscriber_status_and_unsubscribed_date(emulator, token: str) -> None:
    gone = retrieve(
        emulator.base_url, token, "Subscriber", SUB_PROPS, simple_filter("SubscriberKey", "demo-021")
    )
    [row] = gone.rows
    assert gone.types == ["Subscriber"]
    assert (row["ID"], row["EmailAddress"], row["Status"]) == ("1021", "demo021@example.com", "Unsubscribed")
    assert ZONELESS.match(row["UnsubscribedDate"])
    active = retrieve(
        emulator.base_url, token, "Subscriber", SUB_PROPS, simple_filter("SubscriberKey", "demo-001")
    )
    [row] = active.rows
    assert row["Status"] == "Active" and "UnsubscribedDate" not in row


def test_subscriber_of_a_child_unit_needs_client_ids(emulator, token: str) -> None:
    by_key = simple_filter("SubscriberKey", "child-009")
    assert retrieve(emulator.base_url, token, "Subscriber", ["Status"], by_key).rows == []
    page = retrieve(
        emulator.base_url, token, "Subscriber", ["Status", "Client.ID"], by_key, client_ids=[CHILD_MID]
    )
    assert [(r["Status"], r["Client.ID"]) for r in page.rows] == [("Unsubscribed", CHILD_MID)]


def test_business_unit_master_unsubscribe_behavior(emulator, token: str) -> None:
    props = ["ID", "Name", "MasterUnsubscribeBehavior"]
    child = retrieve(
        emulator.base_url, token, "BusinessUnit", props, simple_filter("ID", CHILD_MID), [CHILD_MID]
    )
    assert child.types == ["BusinessUnit"]
    assert [(r["ID"], r["Name"], r["MasterUnsubscribeBehavior"]) for r in child.rows] == [
        (CHILD_MID, "Demo Brand (child unit)", "BUSINESS_UNIT_ONLY")
    ]
    parent = retrieve(emulator.base_url, token, "BusinessUnit", props)
    assert [(r["ID"], r["MasterUnsubscribeBehavior"]) for r in parent.rows] == [
        (PARENT_MID, "ENTIRE_ENTERPRISE")
    ]
    everywhere = retrieve(emulator.base_url, token, "BusinessUnit", ["ID"], query_all_accounts=True)
    assert [r["ID"] for r in everywhere.rows] == [PARENT_MID, CHILD_MID]


@pytest.mark.parametrize(
    ("object_type", "properties", "status"),
    [
        pytest.param(
            "Subscriber",
            ["SubscriberKey", "Lists"],
            "Error: The Request Property(s) Lists do not match with the fields of Subscriber retrieve",
            id="lists-not-retrievable",
        ),
        pytest.param(
            "ListSubscriber",
            ["ListID", "UnsubscribedDate"],
            "Error: The Request Property(s) UnsubscribedDate do not match with the fields of ListSubscriber"
            " retrieve",
            id="no-unsubscribed-date-on-list-subscriber",
        ),
        pytest.param(
            "listsubscriber",
            ["ListID"],
            "Error: Unable to find a handler for object type: listsubscriber. "
            "Object types are case-sensitive, check spelling.",
            id="object-type-case",
        ),
    ],
)
def test_errors_are_an_overall_status_with_http_200(
    emulator, token: str, object_type, properties, status
) -> None:
    page = retrieve(emulator.base_url, token, object_type, properties)
    assert (page.overall_status, page.rows) == (status, [])


def test_client_ids_never_reach_up(emulator) -> None:
    child_token = get_token(emulator.base_url, account_id=CHILD_MID)
    page = retrieve(emulator.base_url, child_token, "List", ["ID"], client_ids=[PARENT_MID])
    assert page.overall_status.startswith("Error: Client ID 510001000")
    own = retrieve(emulator.base_url, child_token, "List", ["ID"])
    assert own.overall_status == "OK" and own.rows[0]["ID"] == "2000"


def test_results_are_xsi_typed_and_unprefixed(emulator, token: str) -> None:
    response = post_soap(
        emulator.base_url,
        wrap(token, retrieve_request("List", ["ID"], simple_filter("ID", "17914"))),
        "Retrieve",
    )
    assert b'<Results xsi:type="List">' in response.content
    assert f'xmlns:xsi="{XSI}"'.encode() in response.content


def test_retrieves_are_counted_by_object_type(emulator, token: str) -> None:
    for _ in range(2):
        retrieve(emulator.base_url, token, "List", ["ID"])
    retrieve(
        emulator.base_url, token, "ListSubscriber", ["ListID"], simple_filter("SubscriberKey", "demo-001")
    )
    retrieve(emulator.base_url, token, "Nothing", ["ID"])
    stats = emulator.state()["stats"]
    assert stats["retrieve"] == {
        "List": 2,
        "ListSubscriber": 1,
        "Subscriber": 0,
        "BusinessUnit": 0,
        "_unknown": 1,
    }
    assert (stats["requests_executed"], stats["update"]) == (0, 0)
