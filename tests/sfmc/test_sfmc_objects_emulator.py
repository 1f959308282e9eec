"""The five Retrieve/Update calls of SfmcClient against the real emulator process over loopback HTTP: the
demo data read right in both units, list changes visible in ``/_emulator/state``, paging with a small page
size, a token refresh, faults and ``maybe_sent``; every envelope held to the WSDL / our schema."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sfmc_helpers import Observer, client_config
from wsdl_schema import load_wsdl_schema, validate_body

from app.identity import Recipient
from app.sfmc import (
    BusinessUnitInfo,
    ListMembership,
    ListStatusChange,
    OutcomeKind,
    SfmcClient,
    SfmcTransientError,
)
from app.sfmc.schema import check_envelope
from app.sfmc.transport import HttpReply, Transport
from tests.conftest import EmulatorServer, start_emulator

PARENT, CHILD = 510001000, 510001001
PARENT_PUBLIC = {17914, 17920, 17930, 17950}
CHILD_PUBLIC = {27914, 27920, 27930}


class RecordingTransport(Transport):
    """The real transport, keeping a copy of every envelope it sends (to hold them to the schemas)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent: list[bytes] = []

    def post_soap(self, url: str, envelope: bytes, **kwargs: Any) -> HttpReply:
        self.sent.append(envelope)
        return super().post_soap(url, envelope, **kwargs)


def recording_client(
    emulator: EmulatorServer, observer: Observer | None = None, **settings: Any
) -> SfmcClient:
    sfmc = SfmcClient.from_config(client_config(emulator, **settings), observer=observer)
    sfmc.transport.close()
    sfmc.transport = sfmc.tokens._transport = RecordingTransport(timeout=2.0)
    return sfmc


@pytest.fixture
def observer() -> Observer:
    return Observer()


@pytest.fixture
def client(emulator: EmulatorServer, observer: Observer) -> Iterator[SfmcClient]:
    """A client on the emulator; every envelope it sent is held to our own schema after the test."""
    sfmc = recording_client(emulator, observer)
    yield sfmc
    sfmc.close()
    for envelope in sfmc.transport.sent:
        check_envelope(etree.fromstring(envelope))


@pytest.fixture(scope="module")
def paging_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """A second emulator process whose Retrieve pages hold 2 rows (``--page-size``), for paging."""
    server = start_emulator("--page-size", "2", log_path=tmp_path_factory.mktemp("paging") / "emulator.log")
    yield server
    server.stop()


def membership(emulator: EmulatorServer, key: str, list_id: int) -> str | None:
    rows = [
        m["status"]
        for m in emulator.state()["memberships"]
        if m["subscriber_key"] == key and str(m["list_id"]) == str(list_id)
    ]
    return rows[0] if rows else None


def test_lists_of_each_unit(client: SfmcClient, observer: Observer) -> None:
    parent, child = client.retrieve_lists(), client.retrieve_lists(CHILD)
    assert {item.id for item in parent if item.is_public_publication} == PARENT_PUBLIC
    assert {item.id for item in child if item.is_public_publication} == CHILD_PUBLIC
    assert [item.id for item in parent if item.is_all_subscribers] == [1000]
    assert [item.id for item in child if item.is_all_subscribers] == [2000]
    newsletter = next(item for item in parent if item.id == 17914)
    assert newsletter.name == "Newsletter" and newsletter.description.startswith("Our monthly newsletter")
    suppression = next(item for item in parent if item.id == 17940)
    assert suppression.classification == "SuppressionList" and not suppression.is_public_publication
    assert observer.calls == ["retrieve_ok", "retrieve_ok"]


def test_memberships_and_subscriber_status_of_each_unit(client: SfmcClient) -> None:
    assert ListMembership(17914, "Unsubscribed") in client.retrieve_memberships("demo-022")
    assert {m.list_id for m in client.retrieve_memberships("demo-001")} == {1000, 17914, 17920, 17950, 17960}
    assert ListMembership(27914, "Unsubscribed") in client.retrieve_memberships("child-010", CHILD)
    assert client.retrieve_memberships("child-010") == []  # a child's person is not in the parent unit
    assert client.retrieve_subscriber("demo-021").status == "Unsubscribed"
    assert client.retrieve_subscriber("demo-021").unsubscribed_date is not None
    assert client.retrieve_subscriber("demo-001").status == "Active"
    assert client.retrieve_subscriber("child-009", CHILD).status == "Unsubscribed"
    assert client.retrieve_subscriber("nobody-at-all") is None


def test_business_units_and_their_master_unsubscribe_behaviour(
    emulator: EmulatorServer, client: SfmcClient
) -> None:
    assert client.retrieve_business_unit(CHILD) == BusinessUnitInfo(
        CHILD, "Demo Brand (child unit)", "BUSINESS_UNIT_ONLY"
    )
    assert client.retrieve_business_unit(PARENT).master_unsubscribe_behavior == "ENTIRE_ENTERPRISE"
    # Without a MID (nor SFMC_ACCOUNT_ID) no filter is sent, and the answer is the token's own unit.
    assert client.retrieve_business_unit().mid == PARENT
    own = recording_client(emulator, SFMC_ACCOUNT_ID=PARENT)
    assert own.retrieve_business_unit().mid == PARENT
    own.close()


def test_list_changes_show_in_the_emulator_and_undo(
    client: SfmcClient, emulator: EmulatorServer, observer: Observer
) -> None:
    unsubscribe = [
        ListStatusChange(Recipient(subscriber_key="demo-001"), 17920, "Unsubscribed"),
        ListStatusChange(Recipient(subscriber_key="child-001", mid=str(CHILD)), 27920, "Unsubscribed"),
    ]
    result = client.update_list_statuses(unsubscribe)
    assert [o.kind for o in result.outcomes] == [OutcomeKind.DELIVERED] * 2 and result.request_id
    assert membership(emulator, "demo-001", 17920) == "Unsubscribed"
    assert membership(emulator, "demo-001", 17914) == "Active"  # only that list changed
    assert membership(emulator, "child-001", 27920) == "Unsubscribed"
    assert client.retrieve_subscriber("demo-001").status == "Active"  # All Subscribers untouched
    assert emulator.events() == []  # an Update logs no UnsubEvent

    again = [ListStatusChange(change.recipient, change.list_id, "Active") for change in unsubscribe]
    assert [o.kind for o in client.update_list_statuses(again).outcomes] == [OutcomeKind.DELIVERED] * 2
    assert membership(emulator, "demo-001", 17920) == membership(emulator, "child-001", 27920) == "Active"
    assert observer.calls == ["update_ok", "retrieve_ok", "update_ok"]


def test_refused_changes_are_rejected_and_change_nothing(
    client: SfmcClient, emulator: EmulatorServer
) -> None:
    before = emulator.state()["memberships"]
    changes = [
        ListStatusChange(Recipient(subscriber_key="demo-001"), 99999, "Unsubscribed"),
        ListStatusChange(Recipient(subscriber_key="nobody-at-all"), 17920, "Unsubscribed"),
        ListStatusChange(Recipient(subscriber_key="demo-001"), 1000, "Unsubscribed"),  # All Subscribers
        ListStatusChange(Recipient(subscriber_key="child-001"), 27920, "Unsubscribed"),  # child list, no MID
        ListStatusChange(Recipient(subscriber_key="demo-001", mid="987654321"), 17920, "Unsubscribed"),
    ]
    outcomes = client.update_list_statuses(changes).outcomes
    assert [o.kind for o in outcomes] == [OutcomeKind.REJECTED] * 5
    assert [o.error_code for o in outcomes[:3]] == [13000, 12001, 13012]
    assert emulator.state()["memberships"] == before


def test_paging_reads_every_page(paging_emulator: EmulatorServer, emulator: EmulatorServer) -> None:
    paging_emulator.reset()
    paged, whole = recording_client(paging_emulator), recording_client(emulator)
    lists = paged.retrieve_lists()
    assert sorted(item.id for item in lists) == sorted(item.id for item in whole.retrieve_lists())
    assert len(lists) == 7
    assert paged.retrieve_memberships("demo-001") == whole.retrieve_memberships("demo-001")
    assert sorted(m.list_id for m in paged.retrieve_memberships("child-001", CHILD)) == [
        2000,
        27914,
        27920,
        27930,
        27960,
    ]
    continued = [
        etree.fromstring(body).findtext(".//{http://exacttarget.com/wsdl/partnerAPI}ContinueRequest")
        for body in paged.transport.sent
    ]
    assert continued.count(None) == 3  # one first page per Retrieve; 7 lists = 4 pages of 2
    assert len(continued) >= 3 + 3 + 2 + 2
    assert paging_emulator.state()["stats"]["retrieve"]["List"] >= 4
    paged.close()
    whole.close()


@pytest.mark.parametrize("call", ["retrieve", "update"])
def test_an_expired_token_is_refreshed_once(
    client: SfmcClient, emulator: EmulatorServer, observer: Observer, call: str
) -> None:
    client.retrieve_subscriber("demo-001")
    emulator.faults(expire_tokens_now=True)
    if call == "retrieve":
        assert {
            item.id for item in client.retrieve_lists(CHILD) if item.is_public_publication
        } == CHILD_PUBLIC
    else:
        change = ListStatusChange(Recipient(subscriber_key="demo-002"), 17920, "Unsubscribed")
        assert client.update_list_statuses([change]).outcomes[0].kind is OutcomeKind.DELIVERED
        assert membership(emulator, "demo-002", 17920) == "Unsubscribed"
    stats = emulator.state()["stats"]
    assert stats["token_requests"] == 2 and stats["soap_calls"] == 3
    assert observer.calls == ["retrieve_ok", f"{call}_ok"] and observer.refreshes == 2


@pytest.mark.parametrize(
    ("error", "maybe_sent"), [("rate_limited", False), ("outage", False), ("drop", True)]
)
def test_update_faults_are_transient(
    client: SfmcClient, emulator: EmulatorServer, observer: Observer, error: str, maybe_sent: bool
) -> None:
    emulator.faults(error_rate=1.0, errors=[error])
    change = ListStatusChange(Recipient(subscriber_key="demo-003"), 17920, "Unsubscribed")
    with pytest.raises(SfmcTransientError) as caught:
        client.update_list_statuses([change])
    assert caught.value.maybe_sent is maybe_sent
    emulator.faults()
    assert membership(emulator, "demo-003", 17920) == "Active"  # these faults come before any processing
    assert observer.calls == ["update_transient"]


def test_an_update_answered_too_late_was_processed_so_maybe_sent(
    client: SfmcClient, emulator: EmulatorServer
) -> None:
    emulator.faults(error_rate=1.0, errors=["timeout"], timeout_ms=1000)
    change = ListStatusChange(Recipient(subscriber_key="demo-004"), 17920, "Unsubscribed")
    with pytest.raises(SfmcTransientError) as caught:
        client.update_list_statuses([change], timeout=0.3)
    assert caught.value.maybe_sent is True
    emulator.faults()
    assert membership(emulator, "demo-004", 17920) == "Unsubscribed"  # it did reach Marketing Cloud


def test_a_slow_retrieve_keeps_to_its_timeout(client: SfmcClient, emulator: EmulatorServer) -> None:
    client.retrieve_subscriber("demo-001")  # the token, outside the measured call
    emulator.faults(latency_ms=1500)
    started = time.monotonic()
    with pytest.raises(SfmcTransientError):
        client.retrieve_lists(timeout=0.3)
    assert time.monotonic() - started < 0.6


def test_every_envelope_sent_to_the_emulator_passes_the_real_wsdl(
    client: SfmcClient, emulator: EmulatorServer, paging_emulator: EmulatorServer, shared_dir: Path
) -> None:
    client.retrieve_lists(CHILD)
    client.retrieve_memberships('demo-032 <&> "quoted"')
    client.retrieve_subscriber("child-001", CHILD)
    client.retrieve_business_unit(CHILD)
    client.update_list_statuses(
        [
            ListStatusChange(Recipient(subscriber_key="demo-005"), 17920, "Unsubscribed"),
            ListStatusChange(Recipient(subscriber_key="child-002", mid=str(CHILD)), 27920, "Active"),
        ]
    )
    paging_emulator.reset()
    paged = recording_client(paging_emulator)
    paged.retrieve_lists(CHILD)
    schema = load_wsdl_schema(shared_dir)
    sent = client.transport.sent + paged.transport.sent
    assert len(sent) >= 5 + 3
    for envelope in sent:
        validate_body(schema, envelope)
    paged.close()
