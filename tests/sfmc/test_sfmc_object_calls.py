"""The five Retrieve/Update calls of SfmcClient over real HTTP on loopback, against a server that plays
answers shaped as PROTOCOL.md describes them (canned_sfmc: test data from the documented facts). Paging,
the page cap, the token refresh, faults, the total deadline, ``maybe_sent`` and the observer's labels."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from canned_sfmc import (
    CannedMarketingCloud,
    UpdateRow,
    a_list,
    a_membership,
    fault,
    retrieve_answer,
    update_answer,
)
from lxml import etree
from sfmc_helpers import Observer
from wsdl_schema import load_wsdl_schema, validate_body

from app.identity import Recipient
from app.sfmc import (
    MAX_REQUESTS_PER_CALL,
    BusinessUnitInfo,
    ListMembership,
    ListStatusChange,
    OutcomeKind,
    SfmcAuthError,
    SfmcClient,
    SfmcRequestError,
    SfmcRetrieveError,
    SfmcTransientError,
    SubscriberStatus,
)
from app.sfmc.schema import check_envelope

P = "{http://exacttarget.com/wsdl/partnerAPI}"
CHILD = 510001001


@pytest.fixture
def canned() -> Iterator[CannedMarketingCloud]:
    """The loopback server; after the test, every envelope it received is held to our own schema."""
    server = CannedMarketingCloud().start()
    yield server
    server.stop()
    for call in server.calls:
        check_envelope(etree.fromstring(call.body))


@pytest.fixture
def observer() -> Observer:
    return Observer()


def make_client(
    canned: CannedMarketingCloud, observer: Observer | None = None, **settings: object
) -> SfmcClient:
    config = {
        "SFMC_AUTH_URL": canned.base_url,
        "SFMC_CLIENT_ID": "id",
        "SFMC_CLIENT_SECRET": "secret",
        "SFMC_TIMEOUT": 2.0,
        **settings,
    }
    return SfmcClient.from_config(config, observer=observer)


@pytest.fixture
def client(canned: CannedMarketingCloud, observer: Observer) -> Iterator[SfmcClient]:
    sfmc = make_client(canned, observer)
    yield sfmc
    sfmc.close()


def sent_request(canned: CannedMarketingCloud, index: int = -1) -> etree._Element:
    return etree.fromstring(canned.calls[index].body).find(f"*/{P}RetrieveRequestMsg/{P}RetrieveRequest")


ALL_SUBSCRIBERS = a_list(
    "17900", "All Subscribers", kind="Private", classification="ExactTargetList", category="100"
)


def test_retrieve_lists_of_a_child_unit(
    client: SfmcClient, canned: CannedMarketingCloud, observer: Observer
) -> None:
    canned.queue(
        retrieve_answer(
            [
                a_list("27914", "Newsletter", description="News, once a month"),
                a_list("27915", "Internal", kind="Private"),
                ALL_SUBSCRIBERS,
            ],
            prefix="q1",
        )
    )
    lists = client.retrieve_lists(CHILD)
    assert [(item.id, item.name, item.description) for item in lists] == [
        (27914, "Newsletter", "News, once a month"),
        (27915, "Internal", ""),
        (17900, "All Subscribers", ""),
    ]
    newsletter, internal, everyone = lists
    assert newsletter.is_public_publication and not internal.is_public_publication
    assert everyone.is_all_subscribers and not newsletter.is_all_subscribers
    assert (newsletter.type, newsletter.classification, newsletter.customer_key, newsletter.category) == (
        "Public",
        "PublicationList",
        "key-27914",
        101,
    )
    (call,) = canned.calls
    assert call.action == "Retrieve"
    request = sent_request(canned)
    assert request.findtext(f"{P}ClientIDs/{P}ID") == str(CHILD)
    assert request.findtext(f"{P}ObjectType") == "List" and request.find(f"{P}Filter") is None
    assert observer.calls == ["retrieve_ok"]


def test_retrieve_lists_of_the_tokens_own_unit_sends_no_client_ids(
    client: SfmcClient, canned: CannedMarketingCloud
) -> None:
    canned.queue(retrieve_answer([ALL_SUBSCRIBERS]))
    assert [item.id for item in client.retrieve_lists()] == [17900]
    assert sent_request(canned).find(f"{P}ClientIDs") is None


def test_retrieve_memberships_never_returns_another_persons_row(
    client: SfmcClient, canned: CannedMarketingCloud
) -> None:
    canned.queue(
        retrieve_answer(
            [
                a_membership("17914", "Active", key="demo-001"),
                a_membership("17915", "Unsubscribed", key="demo-001"),
                a_membership("17916", "Active", key="someone-else"),
                ("ListSubscriber", [("Status", "Active"), ("ListID", None)]),  # unreadable: left out
            ]
        )
    )
    assert client.retrieve_memberships("demo-001") == [
        ListMembership(17914, "Active"),
        ListMembership(17915, "Unsubscribed"),
    ]
    condition = sent_request(canned).find(f"{P}Filter")
    assert [c.text for c in condition] == ["SubscriberKey", "equals", "demo-001"]


def test_retrieve_subscriber_found_and_not_found(client: SfmcClient, canned: CannedMarketingCloud) -> None:
    canned.queue(
        retrieve_answer(
            [
                (
                    "Subscriber",
                    [
                        ("PartnerKey", None),
                        ("ObjectID", None),
                        ("SubscriberKey", "demo-021"),
                        ("UnsubscribedDate", "2017-02-16T01:59:27.29"),
                        ("Status", "Unsubscribed"),
                    ],
                )
            ]
        ),
        retrieve_answer([]),
    )
    assert client.retrieve_subscriber("demo-021", CHILD) == SubscriberStatus(
        "demo-021", "Unsubscribed", datetime(2017, 2, 16, 1, 59, 27, 290000)
    )
    assert client.retrieve_subscriber("nobody") is None
    assert sent_request(canned, 0).findtext(f"{P}ObjectType") == "Subscriber"
    with pytest.raises(SfmcRequestError):
        client.retrieve_subscriber(" ")
    assert len(canned.calls) == 2


def unit(mid: str, behaviour: str) -> tuple[str, list]:
    return ("BusinessUnit", [("ID", mid), ("Name", f"Unit {mid}"), ("MasterUnsubscribeBehavior", behaviour)])


def test_retrieve_business_unit_by_mid_or_the_tokens_own(canned: CannedMarketingCloud) -> None:
    canned.queue(
        retrieve_answer([unit("510001001", "BUSINESS_UNIT_ONLY")]),
        retrieve_answer([unit("510001000", "ENTIRE_ENTERPRISE")]),
        retrieve_answer([unit("510001000", "ENTIRE_ENTERPRISE"), unit("510001001", "BUSINESS_UNIT_ONLY")]),
        retrieve_answer([unit("510001000", "ENTIRE_ENTERPRISE"), unit("510001001", "BUSINESS_UNIT_ONLY")]),
    )
    sfmc = make_client(canned)
    assert sfmc.retrieve_business_unit(CHILD) == BusinessUnitInfo(
        CHILD, "Unit 510001001", "BUSINESS_UNIT_ONLY"
    )
    request = sent_request(canned)
    assert request.findtext(f"{P}ClientIDs/{P}ID") == str(CHILD)
    assert [c.text for c in request.find(f"{P}Filter")] == ["ID", "equals", str(CHILD)]
    # No MID and no SFMC_ACCOUNT_ID: the one unit the answer holds; with several, which is ours is unknown.
    assert sfmc.retrieve_business_unit().mid == 510001000
    assert sent_request(canned).find(f"{P}Filter") is None
    assert sfmc.retrieve_business_unit() is None
    # With SFMC_ACCOUNT_ID the token's own unit is filtered on it (no ClientIDs: it is the token's unit).
    own = make_client(canned, SFMC_ACCOUNT_ID=510001000)
    assert own.retrieve_business_unit().master_unsubscribe_behavior == "ENTIRE_ENTERPRISE"
    request = sent_request(canned)
    assert request.find(f"{P}ClientIDs") is None
    assert [c.text for c in request.find(f"{P}Filter")] == ["ID", "equals", "510001000"]


def test_paging_follows_continue_request_to_the_end(
    client: SfmcClient, canned: CannedMarketingCloud, observer: Observer
) -> None:
    canned.queue(
        retrieve_answer([a_membership("1", "Active")], status="MoreDataAvailable", request_id="page-1"),
        retrieve_answer([a_membership("2", "Active")], status="MoreDataAvailable", request_id="page-2"),
        retrieve_answer([a_membership("3", "Held")], request_id="page-3"),
    )
    memberships = client.retrieve_memberships("demo-001")
    assert [m.list_id for m in memberships] == [1, 2, 3]
    continued = [sent_request(canned, n).findtext(f"{P}ContinueRequest") for n in range(3)]
    assert continued == [None, "page-1", "page-2"]
    # Each continued request repeats the query (the WSDL-valid form).
    assert {etree.tostring(sent_request(canned, n).find(f"{P}Filter")) for n in range(3)} == {
        etree.tostring(sent_request(canned, 0).find(f"{P}Filter"))
    }
    assert observer.calls == ["retrieve_ok"]  # one observed call for all its pages


def test_paging_stops_at_the_page_cap(
    client: SfmcClient, canned: CannedMarketingCloud, observer: Observer
) -> None:
    from app.sfmc import RetrieveQuery

    canned.answer = lambda call: (200, retrieve_answer([ALL_SUBSCRIBERS], status="MoreDataAvailable"), 0.0)
    with pytest.raises(SfmcRetrieveError, match="more than 3 pages"):
        client.retrieve(RetrieveQuery("List", ("ID",)), max_pages=3)
    assert len(canned.calls) == 3
    with pytest.raises(SfmcRetrieveError, match="more than 40 pages"):
        client.retrieve_lists()
    assert len(canned.calls) == 43
    assert observer.calls == ["retrieve_refused"] * 2


def test_an_error_status_raises_with_marketing_clouds_words(
    client: SfmcClient, canned: CannedMarketingCloud, observer: Observer
) -> None:
    said = "The Request Property(s) ListName do not match with the fields of ListSubscriber retrieve"
    canned.queue(retrieve_answer(status=f"Error: {said}"))
    with pytest.raises(SfmcRetrieveError, match=r"Property\(s\) ListName"):
        client.retrieve_memberships("demo-001")
    assert observer.calls == ["retrieve_refused"]


@pytest.mark.parametrize("call", ["retrieve", "update"])
def test_token_expired_refreshes_once_and_retries(
    client: SfmcClient, canned: CannedMarketingCloud, observer: Observer, call: str
) -> None:
    answer = retrieve_answer([ALL_SUBSCRIBERS]) if call == "retrieve" else update_answer([UpdateRow()])
    canned.queue(fault("Token Expired"), status=500)
    canned.queue(answer)
    if call == "retrieve":
        assert len(client.retrieve_lists()) == 1
    else:
        change = ListStatusChange(Recipient(subscriber_key="demo-001"), 17914, "Unsubscribed")
        assert client.update_list_statuses([change]).outcomes[0].kind is OutcomeKind.DELIVERED
    assert canned.token_requests == 2 and len(canned.calls) == 2
    tokens = [etree.fromstring(c.body).findtext("*/{http://exacttarget.com}fueloauth") for c in canned.calls]
    assert tokens == ["canned-token-1", "canned-token-2"]
    assert observer.calls == [f"{call}_ok"] and observer.refreshes == 2


def test_login_failed_twice_is_an_auth_error(
    client: SfmcClient, canned: CannedMarketingCloud, observer: Observer
) -> None:
    canned.queue(fault("Login Failed"), fault("Login Failed"), status=500)
    with pytest.raises(SfmcAuthError, match="again after a token refresh"):
        client.retrieve_lists()
    assert len(canned.calls) == 2 and observer.calls == ["retrieve_auth"]


def test_update_list_statuses_in_order_with_child_unit_and_refusals(
    client: SfmcClient, canned: CannedMarketingCloud, observer: Observer
) -> None:
    changes = [
        ListStatusChange(Recipient(subscriber_key="demo-001"), 17914, "Unsubscribed"),
        ListStatusChange(Recipient(subscriber_key="demo-001", mid="bad mid"), 17915, "Unsubscribed"),
        ListStatusChange(Recipient(subscriber_key="child-001", mid=str(CHILD)), 27914, "Active"),
    ]
    canned.queue(
        update_answer(
            [
                UpdateRow(ordinal="1", status_code="Error", message="On List Already", error_code="13006"),
                UpdateRow(),
            ],
            overall="Has Errors",
            request_id="u-1",
        )
    )
    result = client.update_list_statuses(changes)
    assert [o.kind for o in result.outcomes] == [
        OutcomeKind.DELIVERED,
        OutcomeKind.REJECTED,
        OutcomeKind.ALREADY,
    ]
    assert result.outcomes[1].meaning.startswith("not sent:") and "MID" in result.outcomes[1].meaning
    assert (result.overall_status, result.request_id) == ("Has Errors", "u-1")
    (call,) = canned.calls
    assert call.action == "Update"
    objects = etree.fromstring(call.body).findall(f"*/{P}UpdateRequest/{P}Objects")
    assert [o.findtext(f"{P}SubscriberKey") for o in objects] == ["demo-001", "child-001"]
    assert objects[1].findtext(f"{P}Client/{P}ID") == str(CHILD) and objects[0].find(f"{P}Client") is None
    assert observer.calls == ["update_ok"]


def test_update_sizes(client: SfmcClient, canned: CannedMarketingCloud) -> None:
    change = ListStatusChange(Recipient(subscriber_key="demo-001"), 17914, "Unsubscribed")
    with pytest.raises(SfmcRequestError, match="51 changes"):
        client.update_list_statuses([change] * (MAX_REQUESTS_PER_CALL + 1))
    with pytest.raises(SfmcRequestError, match="at least one"):
        client.update_list_statuses([])
    only_bad = client.update_list_statuses([ListStatusChange(Recipient(), 1, "Active")])
    assert only_bad.request_id is None and only_bad.outcomes[0].kind is OutcomeKind.REJECTED
    assert canned.calls == []  # nothing was sent
    canned.queue(update_answer([UpdateRow(ordinal=str(n)) for n in range(50)]))
    assert len(client.update_list_statuses([change] * 50).outcomes) == 50


@pytest.mark.parametrize(
    ("body", "status", "maybe_sent"),
    [
        (fault("Rate Limited", "soap:Server", api_code=17), 500, False),
        (fault("Unplanned Outage", "soap:Server", api_code=2), 500, False),
        (fault("Something broke", "soap:Server"), 500, True),
        (b"<html><body>Bad Gateway</body></html>", 502, True),
    ],
)
def test_update_faults_are_transient_with_maybe_sent_as_for_execute(
    client: SfmcClient,
    canned: CannedMarketingCloud,
    observer: Observer,
    body: bytes,
    status: int,
    maybe_sent: bool,
) -> None:
    canned.queue(body, status=status)
    change = ListStatusChange(Recipient(subscriber_key="demo-001"), 17914, "Unsubscribed")
    with pytest.raises(SfmcTransientError) as caught:
        client.update_list_statuses([change])
    assert caught.value.maybe_sent is maybe_sent
    assert len(canned.calls) == 1 and observer.calls == ["update_transient"]  # never retried blindly


def test_an_update_answer_after_the_timeout_may_have_been_sent(
    client: SfmcClient, canned: CannedMarketingCloud
) -> None:
    canned.queue(update_answer([UpdateRow()]), wait=1.0)
    change = ListStatusChange(Recipient(subscriber_key="demo-001"), 17914, "Unsubscribed")
    with pytest.raises(SfmcTransientError) as caught:
        client.update_list_statuses([change], timeout=0.3)
    assert caught.value.maybe_sent is True


def test_the_whole_paged_retrieve_keeps_to_its_timeout(
    client: SfmcClient, canned: CannedMarketingCloud, observer: Observer
) -> None:
    """``timeout`` is the whole Retrieve's deadline: each page answers in time, yet the second one is cut
    off when the Retrieve's 0.4 s are up; a single page may use all of them."""
    canned.answer = lambda call: (200, retrieve_answer([ALL_SUBSCRIBERS], status="MoreDataAvailable"), 0.25)
    started = time.monotonic()
    with pytest.raises(SfmcTransientError):
        client.retrieve_lists(timeout=0.4)
    elapsed = time.monotonic() - started
    assert 0.35 <= elapsed < 0.6, elapsed
    assert len(canned.calls) == 2
    canned.answer = lambda call: (200, retrieve_answer([ALL_SUBSCRIBERS]), 0.3)
    assert len(client.retrieve_lists(timeout=0.4)) == 1  # 0.3 s of 0.4: in time
    assert observer.calls == ["retrieve_transient", "retrieve_ok"]


def test_every_envelope_of_the_five_calls_passes_the_real_wsdl(
    client: SfmcClient, canned: CannedMarketingCloud, shared_dir: Path
) -> None:
    canned.queue(
        retrieve_answer([ALL_SUBSCRIBERS], status="MoreDataAvailable", request_id="p-1"),
        retrieve_answer([ALL_SUBSCRIBERS]),
        retrieve_answer([a_membership("1", "Active")]),
        retrieve_answer([]),
        retrieve_answer([unit("510001001", "BUSINESS_UNIT_ONLY")]),
        update_answer([UpdateRow(ordinal=str(n)) for n in range(2)]),
    )
    client.retrieve_lists(CHILD)
    client.retrieve_memberships('Zoë <&> "key"', CHILD)
    client.retrieve_subscriber("demo-001")
    client.retrieve_business_unit(CHILD)
    client.update_list_statuses(
        [
            ListStatusChange(Recipient(subscriber_key="demo-001"), 17914, "Unsubscribed"),
            ListStatusChange(Recipient(subscriber_key="child-001", mid=str(CHILD)), 27914, "Active"),
        ]
    )
    assert [c.action for c in canned.calls] == ["Retrieve"] * 5 + ["Update"]
    schema = load_wsdl_schema(shared_dir)
    for call in canned.calls:
        validate_body(schema, call.body)
        assert call.headers["Content-Type"] == "text/xml; charset=utf-8"
