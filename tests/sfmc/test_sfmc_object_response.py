"""The Retrieve and Update answer parser on answers shaped as PROTOCOL.md describes them (canned_sfmc:
test data written from the documented facts), every Update error code of the contract, broken answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from canned_sfmc import UpdateRow, a_list, a_membership, fault, retrieve_answer, update_answer
from wsdl_schema import load_wsdl_schema, validate_body

from app.identity import Recipient
from app.sfmc import ListStatusChange, OutcomeKind, SfmcRetrieveError
from app.sfmc.errors import SfmcProtocolError, SfmcTransientError
from app.sfmc.models import SoapFault
from app.sfmc.object_response import parse_datetime, parse_retrieve_response, parse_update_response

UNSUBSCRIBE = ListStatusChange(Recipient(subscriber_key="demo-001"), 17914, "Unsubscribed")
RESUBSCRIBE = ListStatusChange(Recipient(subscriber_key="demo-001"), 17914, "Active")


def retrieve(body: bytes, status: int = 200):
    return parse_retrieve_response(body, http_status=status, content_type="text/xml; charset=utf-8")


def update(body: bytes, changes: list[ListStatusChange], status: int = 200):
    return parse_update_response(body, http_status=status, changes=changes, content_type="text/xml")


def test_the_canned_answers_pass_the_real_wsdl(shared_dir: Path) -> None:
    """The test data is shaped as Marketing Cloud's answers are: the WSDL accepts it (an Update result
    needs its Object for the WSDL, which real answers often leave out: that case is tested apart)."""
    schema = load_wsdl_schema(shared_dir)
    validate_body(schema, retrieve_answer([a_list("17914", "Newsletter")], prefix="q1"))
    validate_body(schema, retrieve_answer([a_membership("17914", "Active")]))
    validate_body(schema, retrieve_answer(status="Error: Unable to find a handler for object type: X."))
    validate_body(schema, update_answer([UpdateRow(subscriber_key="demo-001")]))


@pytest.mark.parametrize("prefix", [None, "q1", "par", "ns1"])
def test_retrieved_lists_with_any_type_prefix_nil_and_empty_values(prefix: str | None) -> None:
    body = retrieve_answer(
        [a_list("17914", "Newsletter", description=""), a_list("17915", "Offers", description="Weekly")],
        prefix=prefix,
    )
    page = retrieve(body)
    assert (page.overall_status, page.more) == ("OK", False)
    assert page.request_id == "6b4e2f7a-5d31-4a4c-9a8e-0f1b2c3d4e5f"
    first, second = page.objects
    assert first.type == second.type == "List"
    assert first.values["PartnerKey"] is None and first.values["ObjectID"] is None  # xsi:nil
    assert first.values["Description"] == "" and first.get("Description") is None  # <Description />
    assert (first.get("ID"), first.get("ListName"), second.get("Description")) == (
        "17914",
        "Newsletter",
        "Weekly",
    )


def test_nested_values_are_read_by_dotted_path() -> None:
    body = retrieve_answer([("ListSubscriber", [("Client", [("ID", "510001001")]), ("ListID", "1")])])
    (item,) = retrieve(body).objects
    assert item.values == {"Client.ID": "510001001", "ListID": "1"}


def test_more_data_available_gives_the_request_id_to_continue_from() -> None:
    page = retrieve(
        retrieve_answer([a_membership("1", "Active")], status="MoreDataAvailable", request_id="r-2")
    )
    assert page.more and page.request_id == "r-2" and len(page.objects) == 1


@pytest.mark.parametrize(
    "said",
    [
        "Unable to find a handler for object type: Lists. Object types are case-sensitive, check spelling.",
        "The Request Property(s) Foo do not match with the fields of ListSubscriber retrieve",
    ],
)
def test_an_error_status_raises_with_marketing_clouds_words(said: str) -> None:
    with pytest.raises(SfmcRetrieveError) as caught:
        retrieve(retrieve_answer(status=f"Error: {said}", request_id="r-9"))
    assert said in str(caught.value)
    assert caught.value.outcome == "refused"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (retrieve_answer(status="Has Errors"), 200, SfmcProtocolError),
        (retrieve_answer(status=" "), 200, SfmcProtocolError),
        (update_answer([UpdateRow()]), 200, SfmcProtocolError),  # another call's answer
        (retrieve_answer([a_list("1", "x")]), 500, SfmcProtocolError),  # a result with HTTP 500
        (b"<html><body>502 Bad Gateway</body></html>", 502, SfmcTransientError),
        (b"", 200, SfmcTransientError),
        (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", 200, SfmcProtocolError),
    ],
)
def test_answers_that_are_no_retrieve_page_raise(body: bytes, status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        retrieve(body, status)


def test_a_fault_comes_back_as_a_fault() -> None:
    answer = retrieve(fault("Token Expired"), 500)
    assert isinstance(answer, SoapFault) and answer.faultstring == "Token Expired"
    answer = update(fault("Rate Limited", "soap:Server", api_code=17), [UNSUBSCRIBE], 500)
    assert isinstance(answer, SoapFault) and answer.api_code == 17


def test_update_results_come_before_the_status_and_are_matched_by_ordinal_id() -> None:
    changes = [UNSUBSCRIBE, RESUBSCRIBE, UNSUBSCRIBE]
    body = update_answer(
        [
            UpdateRow(ordinal="2", status_code="Error", message="List Not Found", error_code="13000"),
            UpdateRow(ordinal="0", subscriber_key="demo-001"),  # with its Object
            UpdateRow(ordinal="1"),  # without: real answers often leave it out
        ],
        overall="Has Errors",
        request_id="u-1",
    )
    result = update(body, changes)
    assert (result.overall_status, result.request_id) == ("Has Errors", "u-1")
    assert [o.kind for o in result.outcomes] == [
        OutcomeKind.DELIVERED,
        OutcomeKind.DELIVERED,
        OutcomeKind.REJECTED,
    ]
    assert result.outcomes[2].status_message == "List Not Found" and result.outcomes[2].error_code == 13000
    assert result.outcomes[0].status_message == "Updated Subscriber."


def test_update_results_without_ordinal_ids_are_matched_by_position_when_their_number_is_right() -> None:
    rows = [
        UpdateRow(ordinal=None),
        UpdateRow(ordinal=None, status_code="Error", message="x", error_code="12001"),
    ]
    result = update(update_answer(rows), [UNSUBSCRIBE, RESUBSCRIBE])
    assert [o.kind for o in result.outcomes] == [OutcomeKind.DELIVERED, OutcomeKind.REJECTED]
    with pytest.raises(SfmcProtocolError, match="none can be matched"):
        update(update_answer(rows), [UNSUBSCRIBE, RESUBSCRIBE, UNSUBSCRIBE])


def test_a_change_no_result_answers_is_transient() -> None:
    result = update(update_answer([UpdateRow(ordinal="1")]), [UNSUBSCRIBE, RESUBSCRIBE])
    assert [o.kind for o in result.outcomes] == [OutcomeKind.TRANSIENT, OutcomeKind.DELIVERED]
    assert "no result" in result.outcomes[0].meaning


@pytest.mark.parametrize(
    "rows",
    [
        [UpdateRow(ordinal="0"), UpdateRow(ordinal="0")],  # two answers for one change
        [UpdateRow(ordinal="5")],  # no such change
        [UpdateRow(ordinal="-1")],
        [UpdateRow(ordinal="one")],
        [UpdateRow(ordinal="0"), UpdateRow(ordinal=None)],  # some with, some without
    ],
)
def test_ordinal_ids_that_cannot_be_trusted_are_a_protocol_error(rows: list[UpdateRow]) -> None:
    with pytest.raises(SfmcProtocolError):
        update(update_answer(rows), [UNSUBSCRIBE, RESUBSCRIBE])


# (ErrorCode, kind for a change to Unsubscribed, kind for a change to Active): the contract's mapping.
CODES = [
    ("12000", OutcomeKind.REJECTED, OutcomeKind.REJECTED),  # InvalidEmailAddress (documented, permanent)
    ("12001", OutcomeKind.REJECTED, OutcomeKind.REJECTED),  # SubscriberNotFound
    ("12003", OutcomeKind.ALREADY, OutcomeKind.REJECTED),  # OnGlobalUnsubList
    ("12012", OutcomeKind.ALREADY, OutcomeKind.REJECTED),  # OnMasterUnsubscribeList
    ("13000", OutcomeKind.REJECTED, OutcomeKind.REJECTED),  # List Not Found
    ("13001", OutcomeKind.REJECTED, OutcomeKind.REJECTED),  # List ID Not Specified
    ("13004", OutcomeKind.REJECTED, OutcomeKind.REJECTED),  # Unknown List ID
    ("13006", OutcomeKind.TRANSIENT, OutcomeKind.ALREADY),  # On List Already: means something for Active
    ("13007", OutcomeKind.REJECTED, OutcomeKind.REJECTED),  # Not On List
    ("13012", OutcomeKind.REJECTED, OutcomeKind.REJECTED),  # List Cannot Be Updated
    ("12014", OutcomeKind.TRANSIENT, OutcomeKind.TRANSIENT),  # a Create's code: unknown for an Update
    ("99999", OutcomeKind.TRANSIENT, OutcomeKind.TRANSIENT),
    ("", OutcomeKind.TRANSIENT, OutcomeKind.TRANSIENT),  # an empty ErrorCode: a garbled answer
    (None, OutcomeKind.REJECTED, OutcomeKind.REJECTED),  # refused without any ErrorCode, as for Execute
]


@pytest.mark.parametrize(("code", "unsubscribe", "resubscribe"), CODES, ids=[str(c[0]) for c in CODES])
def test_every_update_error_code_maps_to_its_outcome(
    code: str | None, unsubscribe: OutcomeKind, resubscribe: OutcomeKind
) -> None:
    rows = [UpdateRow("Error", "Said by Marketing Cloud", str(n), code) for n in range(2)]
    first, second = update(update_answer(rows, overall="Error"), [UNSUBSCRIBE, RESUBSCRIBE]).outcomes
    assert (first.kind, second.kind) == (unsubscribe, resubscribe)
    assert first.status_message == "Said by Marketing Cloud"
    assert first.error_code == (int(code) if code else None)
    assert first.summary.startswith("Said by Marketing Cloud")


def test_ok_is_delivered_for_both_statuses() -> None:
    rows = [UpdateRow(ordinal="0"), UpdateRow(ordinal="1")]
    outcomes = update(update_answer(rows), [UNSUBSCRIBE, RESUBSCRIBE]).outcomes
    assert [o.kind for o in outcomes] == [OutcomeKind.DELIVERED] * 2 and outcomes[0].unsubscribed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2017-02-16T01:59:27.29", datetime(2017, 2, 16, 1, 59, 27, 290000)),  # zone-less: naive
        ("2017-02-16T01:59:27.2900000", datetime(2017, 2, 16, 1, 59, 27, 290000)),  # seven decimals (.NET)
        ("2017-02-16T01:59:27Z", datetime(2017, 2, 16, 1, 59, 27, tzinfo=UTC)),
        ("2017-02-16T01:59:27-06:00", datetime(2017, 2, 16, 1, 59, 27, tzinfo=timezone(timedelta(hours=-6)))),
        (" ", None),
        (None, None),
        ("yesterday", None),
        ("2017-13-45T99:00:00", None),
    ],
)
def test_datetimes_are_read_with_or_without_a_zone(text: str | None, expected: datetime | None) -> None:
    assert parse_datetime(text) == expected
