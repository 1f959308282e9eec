"""The one identity value: what the journal stores of it is what the link said and what is sent."""

from __future__ import annotations

import io

from app.identity import FIELDS, Recipient
from app.journal.events import AllSubscribersLists, to_event
from app.journal.importing import IMPORT_COLUMNS, parse_import
from app.journal.models import Scope, UnsubscribeRequest
from app.journal.values import REQUEST_COLUMNS, request_from_row, request_values

CHILD = Recipient(
    subscriber_key="child-001",
    subscriber_id="2001",
    email="child001@example.com",
    job_id="28001",
    list_id="27914",
    batch_id="0",
    mid="510001001",
)


def test_a_request_survives_its_row_unchanged() -> None:
    request = UnsubscribeRequest(CHILD, scope=Scope.ALL, reason_code="other", reason_text="x", language="de")
    row = dict(zip(REQUEST_COLUMNS, request_values(request), strict=True))
    assert {name: row[name] for name in FIELDS} == CHILD.as_dict()
    assert request_from_row(row) == request


def test_without_job_keeps_the_subscriber_and_the_business_unit() -> None:
    bare = CHILD.without_job()
    assert (bare.job_id, bare.list_id, bare.batch_id) == (None, None, None)
    assert (bare.subscriber_key, bare.subscriber_id, bare.email, bare.mid) == (
        "child-001",
        "2001",
        "child001@example.com",
        "510001001",
    )
    assert not bare.has_job_context and bare.identified


def test_the_event_carries_the_recipient_with_blanks_as_absent() -> None:
    blank_key = Recipient(
        subscriber_key="", subscriber_id="2001", job_id="28001", list_id="", mid="510001001"
    )
    event = to_event(UnsubscribeRequest(blank_key))
    assert event.recipient == Recipient(subscriber_id="2001", job_id="28001", mid="510001001")
    all_lists = AllSubscribersLists(by_mid={"510001001": "2000"})
    assert to_event(UnsubscribeRequest(CHILD, scope=Scope.ALL), all_subscribers=all_lists).recipient == (
        Recipient(**{**CHILD.as_dict(), "list_id": "2000"})
    )
    assert to_event(UnsubscribeRequest(CHILD, scope=Scope.ALL)).recipient == CHILD.without_job()


def test_an_import_row_becomes_the_same_recipient() -> None:
    header = ",".join(IMPORT_COLUMNS)
    row = ",".join([*(CHILD.as_dict()[name] or "" for name in FIELDS), "list", "too_many"])
    good, problems = parse_import(io.StringIO(f"{header}\n{row}\n,2002,,,,,,all,\n"))
    assert problems == []
    assert [request.recipient for _line, request in good] == [CHILD, Recipient(subscriber_id="2002")]
