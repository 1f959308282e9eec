"""Every kind of Retrieve and Update answer the emulator gives passes the real WSDL schema
(``../shared/sfmc/etframework.wsdl``; skipped visibly where ../shared is absent), as the Execute ones do.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from emu_helpers import CHILD_MID, get_token, post_soap
from wire_helpers import list_change, retrieve_request, simple_filter, subscriber_object, update_request, wrap
from wsdl_schema import load_wsdl_schema, validate_body

ALL_LS = ["ListID", "SubscriberKey", "Status", "ObjectID", "CreatedDate", "ModifiedDate", "Client.ID"]
ALL_LS += ["PartnerKey", "Client.PartnerClientKey"]
ALL_LIST = [
    "ID",
    "ListName",
    "Description",
    "Category",
    "Type",
    "CustomerKey",
    "ListClassification",
    "Client.ID",
]
ALL_LIST += ["ObjectID", "CreatedDate", "ModifiedDate"]
ALL_SUB = ["ID", "EmailAddress", "SubscriberKey", "Status", "UnsubscribedDate", "CreatedDate"]
ALL_SUB += ["EmailTypePreference", "Client.ID", "ObjectID"]
ALL_BU = ["ID", "Name", "MasterUnsubscribeBehavior", "ParentID", "Client.ID"]

RETRIEVES = {
    "list-subscriber": retrieve_request("ListSubscriber", ALL_LS, simple_filter("SubscriberKey", "demo-021")),
    "list-subscriber-few": retrieve_request(
        "ListSubscriber", ["ListID"], simple_filter("SubscriberKey", "demo-001")
    ),
    "lists-child": retrieve_request("List", ALL_LIST, client_ids=[CHILD_MID]),
    "lists-everywhere": retrieve_request("List", ALL_LIST, query_all_accounts=True),
    "subscribers": retrieve_request("Subscriber", ALL_SUB, query_all_accounts=True),
    "business-units": retrieve_request("BusinessUnit", ALL_BU),
    "business-unit-bare": retrieve_request("BusinessUnit", ["Name"]),
    "error-type": retrieve_request("Nope", ["ID"]),
    "error-property": retrieve_request("Subscriber", ["Lists"]),
    "error-continue": retrieve_request(None, continue_request="not-a-request"),
    "empty": retrieve_request("Subscriber", ALL_SUB, simple_filter("SubscriberKey", "nobody")),
}

UPDATES = {
    "ok": [
        subscriber_object("demo-001", [list_change("17920", "Unsubscribed")], email="demo001@example.com")
    ],
    "child": [subscriber_object("child-001", [list_change("27920", "Active")], client_id=CHILD_MID)],
    "status": [subscriber_object("demo-002", status="Unsubscribed")],
    "mixed": [
        subscriber_object(
            "demo-003", [list_change("17920", "Unsubscribed"), list_change("x", "Weird", "Odd")]
        ),
        subscriber_object("nobody", [list_change("", None, None)]),
        subscriber_object(None, client_id="not-a-number", status="Bogus"),
    ],
    "too-many": [subscriber_object("demo-004") for _ in range(51)],
}


@pytest.fixture
def token(emulator) -> str:
    return get_token(emulator.base_url)


@pytest.mark.parametrize("name", list(RETRIEVES))
def test_retrieve_answers_pass_the_wsdl(emulator, token: str, shared_dir: Path, name: str) -> None:
    response = post_soap(emulator.base_url, wrap(token, RETRIEVES[name]), action="Retrieve")
    assert response.status_code == 200
    validate_body(load_wsdl_schema(shared_dir), response.content)


@pytest.mark.parametrize("name", list(UPDATES))
def test_update_answers_pass_the_wsdl(emulator, token: str, shared_dir: Path, name: str) -> None:
    response = post_soap(emulator.base_url, wrap(token, update_request(UPDATES[name])), action="Update")
    assert response.status_code == 200
    validate_body(load_wsdl_schema(shared_dir), response.content)


def test_the_requests_these_tests_send_pass_the_wsdl_too(shared_dir: Path) -> None:
    """So the answers above are answers to requests a real client could send (bar the continue-only one)."""
    schema = load_wsdl_schema(shared_dir)
    for name, payload in RETRIEVES.items():
        if name != "error-continue":
            validate_body(schema, wrap("t", payload))
    validate_body(schema, wrap("t", update_request(UPDATES["ok"] + UPDATES["child"] + UPDATES["status"])))
