"""The official Python SDK's SOAP stack (suds with the real WSDL, set up as FuelSDK-Python does) drives
Execute, Retrieve and Update against the emulator over HTTP, unchanged; the emulator's state changes as asked.

suds parses the 1.3 MB WSDL once per module (the parsed client is kept, and suds' own object cache lives in
the module's temporary folder).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fuelsdk_suds
import pytest
import suds.client
from emu_helpers import CHILD_MID, get_token
from wire_helpers import membership

from testkit.emulator import start_emulator

pytestmark = pytest.mark.slow

# The properties of FuelSDK-Python's objsamples/sample_list_subscriber.py.
LS_PROPS = [
    "ObjectID",
    "SubscriberKey",
    "CreatedDate",
    "Client.ID",
    "Client.PartnerClientKey",
    "ListID",
    "Status",
]


@pytest.fixture(scope="module")
def sdk_client(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[suds.client.Client]:
    """One suds client for the module, with FuelSDK's suds patches on while it is in use."""
    client = fuelsdk_suds.build_client(
        shared_dir / "sfmc" / "etframework.wsdl", tmp_path_factory.mktemp("suds")
    )
    with fuelsdk_suds.fuelsdk_patches():
        yield client


@pytest.fixture
def sdk(emulator, sdk_client: suds.client.Client) -> suds.client.Client:
    """The client pointed at the freshly reset emulator with a token it issued."""
    fuelsdk_suds.point_at(sdk_client, emulator.soap_url, get_token(emulator.base_url))
    return sdk_client


def _memberships(sdk: suds.client.Client, key: str) -> dict[str, str]:
    code, body = fuelsdk_suds.get(
        sdk,
        "ListSubscriber",
        LS_PROPS,
        {"Property": "SubscriberKey", "SimpleOperator": "equals", "Value": key},
    )
    assert (code, body.OverallStatus) == (200, "OK")
    assert {result.SubscriberKey for result in body.Results} == {key}
    return {str(result.ListID): str(result.Status) for result in body.Results}


def test_execute_log_unsub_event(emulator, sdk: suds.client.Client) -> None:
    code, body = fuelsdk_suds.execute(
        sdk, "LogUnsubEvent", [("SubscriberKey", "demo-002"), ("JobID", "18099"), ("Reason", "suds")]
    )
    assert (code, body.OverallStatus, body.Results[0].StatusMessage) == (200, "OK", "Event posted")
    [event] = emulator.events()
    assert (event["subscriber_key"], event["list_id"], event["reason"]) == ("demo-002", "17914", "suds")
    assert membership(emulator.state(), "17914", "demo-002") == "Unsubscribed"


def test_retrieve_list_subscriber_with_a_simple_filter(emulator, sdk: suds.client.Client) -> None:
    assert _memberships(sdk, "demo-011") == {
        "1000": "Active",
        "17914": "Active",
        "17920": "Active",
        "17950": "Unsubscribed",
    }
    assert emulator.state()["stats"]["retrieve"]["ListSubscriber"] == 1


def test_update_subscriber_lists_then_read_it_back(emulator, sdk: suds.client.Client) -> None:
    change = {
        "SubscriberKey": "demo-001",
        "Lists": [{"ID": 17920, "Status": "Unsubscribed", "Action": "Update"}],
    }
    code, body = fuelsdk_suds.patch(sdk, "Subscriber", [change])
    assert (code, body.OverallStatus) == (200, "OK")
    [result] = body.Results
    assert (result.StatusCode, result.StatusMessage, result.OrdinalID) == ("OK", "Updated Subscriber.", 0)
    assert membership(emulator.state(), "17920", "demo-001") == "Unsubscribed"
    assert _memberships(sdk, "demo-001")["17920"] == "Unsubscribed"
    again = {"SubscriberKey": "demo-001", "Lists": [{"ID": 17920, "Status": "Active", "Action": "Update"}]}
    fuelsdk_suds.patch(sdk, "Subscriber", [again])
    assert membership(emulator.state(), "17920", "demo-001") == "Active"


def test_update_in_a_child_unit_and_an_error_code(emulator, sdk: suds.client.Client) -> None:
    child = {
        "Client": {"ID": int(CHILD_MID)},
        "SubscriberKey": "child-002",
        "Lists": [{"ID": 27920, "Status": "Unsubscribed", "Action": "Update"}],
    }
    unknown = {"SubscriberKey": "demo-001", "Lists": [{"ID": 99999, "Status": "Unsubscribed"}]}
    code, body = fuelsdk_suds.patch(sdk, "Subscriber", [child, unknown])
    assert (code, body.OverallStatus) == (200, "Has Errors")
    assert [(r.OrdinalID, r.StatusCode, getattr(r, "ErrorCode", None)) for r in body.Results] == [
        (0, "OK", None),
        (1, "Error", 13000),
    ]
    assert membership(emulator.state(), "27920", "child-002", CHILD_MID) == "Unsubscribed"


def test_get_more_results_with_continue_request_only(sdk_client: suds.client.Client) -> None:
    server = start_emulator("--page-size", "4")
    try:
        fuelsdk_suds.point_at(sdk_client, server.soap_url, get_token(server.base_url))
        code, body = fuelsdk_suds.get(sdk_client, "List", ["ID", "ListName"], None)
        ids = [str(r.ID) for r in body.Results]
        while body.OverallStatus == "MoreDataAvailable":
            code, body = fuelsdk_suds.get_more(sdk_client, body.RequestID)
            ids += [str(r.ID) for r in body.Results]
        assert (code, body.OverallStatus) == (200, "OK")
        assert ids == ["1000", "17914", "17920", "17930", "17940", "17950", "17960"]
    finally:
        server.stop()
