"""Retrieve and Update envelopes: the WSDL's element order, held to the real WSDL and to our own schema,
values escaped by construction, bad values refused before anything is sent, secrets masked in logs."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from wsdl_schema import load_wsdl_schema, validate_body

from app.identity import Recipient
from app.sfmc import ListStatusChange, RetrieveQuery, SimpleFilter
from app.sfmc.envelope import redacted, serialise
from app.sfmc.errors import SfmcRequestError
from app.sfmc.object_calls import (
    BUSINESS_UNIT_PROPERTIES,
    LIST_PROPERTIES,
    MEMBERSHIP_PROPERTIES,
    SUBSCRIBER_PROPERTIES,
)
from app.sfmc.object_envelopes import change_refusal, retrieve_envelope, update_envelope
from app.sfmc.schema import check_envelope

P = "{http://exacttarget.com/wsdl/partnerAPI}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
CHILD = 510001001

# Every Retrieve the client makes (the five calls' queries), alone and continued, in the parent and a child.
QUERIES = {
    "lists": RetrieveQuery("List", LIST_PROPERTIES),
    "memberships": RetrieveQuery("ListSubscriber", MEMBERSHIP_PROPERTIES, SimpleFilter("SubscriberKey", "k")),
    "subscriber": RetrieveQuery("Subscriber", SUBSCRIBER_PROPERTIES, SimpleFilter("SubscriberKey", "k")),
    "business unit": RetrieveQuery("BusinessUnit", BUSINESS_UNIT_PROPERTIES, SimpleFilter("ID", "510001000")),
}
CHANGES = [
    ListStatusChange(Recipient(subscriber_key="demo-001"), 17914, "Unsubscribed"),
    ListStatusChange(
        Recipient(subscriber_key="child-001", mid=str(CHILD), email="c@example.com"), 27914, "Active"
    ),
]


def names(element: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in element]


def request_of(envelope: etree._Element) -> etree._Element:
    return envelope.find(f"*/{P}RetrieveRequestMsg/{P}RetrieveRequest")


def test_a_child_units_continued_retrieve_keeps_the_wsdl_order() -> None:
    query = RetrieveQuery(
        "ListSubscriber", MEMBERSHIP_PROPERTIES, SimpleFilter("SubscriberKey", "k"), mid=CHILD
    )
    request = request_of(retrieve_envelope("TOKEN", query, continue_request="req-7"))
    assert names(request) == ["ClientIDs", "ObjectType", *["Properties"] * 3, "Filter", "ContinueRequest"]
    assert request.findtext(f"{P}ClientIDs/{P}ID") == str(CHILD)
    assert [p.text for p in request.iterfind(f"{P}Properties")] == ["ListID", "SubscriberKey", "Status"]
    condition = request.find(f"{P}Filter")
    assert condition.get(XSI_TYPE) == "SimpleFilterPart"
    assert names(condition) == ["Property", "SimpleOperator", "Value"]
    assert [c.text for c in condition] == ["SubscriberKey", "equals", "k"]
    assert request.findtext(f"{P}ContinueRequest") == "req-7"


def test_the_tokens_own_unit_sends_no_client_ids_and_a_first_page_no_continue_request() -> None:
    request = request_of(retrieve_envelope("TOKEN", QUERIES["lists"]))
    assert names(request) == ["ObjectType", *["Properties"] * len(LIST_PROPERTIES)]


@pytest.mark.parametrize("mid", [None, CHILD])
@pytest.mark.parametrize("continued", [None, "a1b2c3-continue"])
@pytest.mark.parametrize("name", QUERIES)
def test_every_retrieve_passes_the_real_wsdl_and_our_schema(
    shared_dir: Path, name: str, continued: str | None, mid: int | None
) -> None:
    query = QUERIES[name]
    envelope = retrieve_envelope(
        "TOKEN", RetrieveQuery(query.object_type, query.properties, query.filter, mid)
    )
    check_envelope(envelope)
    validate_body(load_wsdl_schema(shared_dir), serialise(envelope))


@pytest.mark.parametrize("count", [1, 2, 50])
def test_every_update_passes_the_real_wsdl_and_our_schema(shared_dir: Path, count: int) -> None:
    changes = (CHANGES * 25)[:count]
    envelope = update_envelope("TOKEN", changes)
    check_envelope(envelope)
    payload = validate_body(load_wsdl_schema(shared_dir), serialise(envelope))
    assert names(payload) == ["Options", *["Objects"] * count]


def test_an_update_object_is_a_subscriber_with_one_lists_and_client_id_only_for_a_child() -> None:
    message = update_envelope("TOKEN", CHANGES).find(f"*/{P}UpdateRequest")
    options, parent, child = message
    assert len(options) == 0 and options.text is None  # Options is required, and empty
    assert parent.get(XSI_TYPE) == child.get(XSI_TYPE) == "Subscriber"
    assert names(parent) == ["SubscriberKey", "Lists"]
    assert names(child) == ["Client", "SubscriberKey", "Lists"]  # APIObject's Client comes first
    assert child.findtext(f"{P}Client/{P}ID") == str(CHILD)
    assert [c.text for c in parent.find(f"{P}Lists")] == ["17914", "Unsubscribed", "Update"]
    assert [c.text for c in child.find(f"{P}Lists")] == ["27914", "Active", "Update"]
    assert b"c@example.com" not in serialise(message)  # an Update would set the address: never sent


def test_markup_and_unicode_are_escaped_by_construction(shared_dir: Path) -> None:
    key = 'Zoë <&> "quoted" 📨'
    envelope = retrieve_envelope(
        "T", RetrieveQuery("Subscriber", ("Status",), SimpleFilter("SubscriberKey", key))
    )
    update = update_envelope("T", [ListStatusChange(Recipient(subscriber_key=key), 1, "Active")])
    for tree in (envelope, update):
        data = serialise(tree)
        assert etree.fromstring(data).findtext(f".//{P}Value") in (key, None)
        assert key in etree.fromstring(data).xpath("string(.)")
        validate_body(load_wsdl_schema(shared_dir), data)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (ListStatusChange(Recipient(), 17914, "Active"), "SubscriberKey"),
        (ListStatusChange(Recipient(subscriber_key="  "), 17914, "Active"), "SubscriberKey"),
        (ListStatusChange(Recipient(subscriber_key="k"), 17914, "Deleted"), "status"),
        (ListStatusChange(Recipient(subscriber_key="k"), 0, "Active"), "list ID"),
        (ListStatusChange(Recipient(subscriber_key="k"), "17914; drop", "Active"), "list ID"),  # type: ignore[arg-type]
        (ListStatusChange(Recipient(subscriber_key="k", mid="5100 01"), 17914, "Active"), "MID"),
        (ListStatusChange(Recipient(subscriber_key="k\x00"), 17914, "Active"), "XML cannot carry"),
    ],
)
def test_a_change_that_cannot_be_sent_is_refused_with_the_reason(change: ListStatusChange, why: str) -> None:
    assert why in (change_refusal(change) or "")
    with pytest.raises(SfmcRequestError, match=why):
        update_envelope("T", [change])


def test_one_to_fifty_changes_per_call() -> None:
    with pytest.raises(SfmcRequestError, match="at least one"):
        update_envelope("T", [])
    with pytest.raises(SfmcRequestError, match="51 changes"):
        update_envelope("T", CHANGES[:1] * 51)


@pytest.mark.parametrize(
    "query",
    [
        RetrieveQuery("List; DROP", ("ID",)),
        RetrieveQuery("List", ("ID", "<x/>")),
        RetrieveQuery("List", ("ID",), SimpleFilter("ListName", "a\x01b")),
        RetrieveQuery("List", ("ID",), mid=0),
        RetrieveQuery("List", ("ID",), mid=2**31),
        RetrieveQuery("List", ("ID",), mid="510001001"),  # type: ignore[arg-type]
    ],
)
def test_a_retrieve_that_cannot_be_built_is_refused(query: RetrieveQuery) -> None:
    with pytest.raises(SfmcRequestError):
        retrieve_envelope("T", query)


def test_our_schema_refuses_what_the_wsdl_refuses() -> None:
    """Our copy is strict too: the builders' order or a value outside an enumeration would be caught before
    sending (the product checks every envelope with it)."""
    envelope = update_envelope("T", CHANGES[:1])
    lists = envelope.find(f".//{P}Lists")
    lists.append(lists[0])  # ID after Action: order broken
    with pytest.raises(SfmcRequestError, match="UpdateRequest"):
        check_envelope(envelope)
    envelope = retrieve_envelope("T", QUERIES["memberships"])
    envelope.find(f".//{P}SimpleOperator").text = "sounds-like"
    with pytest.raises(SfmcRequestError, match="RetrieveRequestMsg"):
        check_envelope(envelope)


def test_redacted_copy_masks_the_token_and_the_subscriber_key() -> None:
    by_key = SimpleFilter("SubscriberKey", "person-key-42")
    retrieve = retrieve_envelope(
        "SECRET-TOKEN", RetrieveQuery("ListSubscriber", MEMBERSHIP_PROPERTIES, by_key)
    )
    update = update_envelope(
        "SECRET-TOKEN", [ListStatusChange(Recipient(subscriber_key="person-key-42"), 1, "Active")]
    )
    for tree in (retrieve, update):
        text = redacted(tree).decode()
        assert "SECRET-TOKEN" not in text and "person-key-42" not in text
        assert b"person-key-42" in serialise(tree)  # the original is untouched
