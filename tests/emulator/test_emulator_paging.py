"""Retrieve paging: ``MoreDataAvailable`` pages continued by ``ContinueRequest`` in both forms clients send,
2,500 rows per page by default and ``--page-size`` (a test-only knob) for small pages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from emu_helpers import get_token, post_soap
from wire_helpers import Page, read_page, retrieve, retrieve_request, simple_filter, wrap

from testkit.emulator import Emulator, start_emulator

LIST_PROPS = ["ID", "ListName", "Client.ID"]


@pytest.fixture(scope="module")
def small_pages() -> Iterator[Emulator]:
    """An emulator with the demo data and three rows per page."""
    server = start_emulator("--page-size", "3")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh(small_pages: Emulator) -> None:
    small_pages.reset()


def _continue(base_url: str, token: str, request_id: str | None, repeat: bool) -> Page:
    if repeat:  # ObjectType, Properties and Filter sent again with the ContinueRequest (one SDK's way)
        payload = retrieve_request("List", LIST_PROPS, continue_request=request_id, query_all_accounts=True)
    else:  # only ContinueRequest (the .NET sample, the Python and Ruby SDKs): schema-invalid, still taken
        payload = retrieve_request(None, continue_request=request_id)
    return read_page(post_soap(base_url, wrap(token, payload), action="Retrieve"))


@pytest.mark.parametrize("repeat", [False, True], ids=["continue-only", "continue-repeating-the-query"])
def test_pages_continue_to_the_end(emulator, small_pages: Emulator, repeat: bool) -> None:
    whole = retrieve(
        emulator.base_url, get_token(emulator.base_url), "List", LIST_PROPS, query_all_accounts=True
    )
    assert whole.overall_status == "OK" and len(whole.rows) == 13  # one page at 2,500 rows

    token = get_token(small_pages.base_url)
    page = retrieve(small_pages.base_url, token, "List", LIST_PROPS, query_all_accounts=True)
    pages = [page]
    while page.overall_status == "MoreDataAvailable":
        assert len(page.rows) == 3
        page = _continue(small_pages.base_url, token, page.request_id, repeat)
        pages.append(page)
    assert [p.overall_status for p in pages] == ["MoreDataAvailable"] * 4 + ["OK"]
    assert [row for p in pages for row in p.rows] == whole.rows
    assert small_pages.state()["stats"]["retrieve"]["List"] == 5  # every page is a call


def test_a_continue_request_is_used_once_and_unknown_ones_are_an_error(small_pages: Emulator) -> None:
    token = get_token(small_pages.base_url)
    first = retrieve(small_pages.base_url, token, "List", ["ID"])
    assert first.overall_status == "MoreDataAvailable"
    assert _continue(small_pages.base_url, token, first.request_id, False).rows
    again = _continue(small_pages.base_url, token, first.request_id, False)
    assert again.overall_status.startswith("Error: ") and again.rows == []
    assert _continue(small_pages.base_url, token, "made-up", False).overall_status.startswith("Error: ")


def test_filtered_rows_are_paged_too(small_pages: Emulator) -> None:
    token = get_token(small_pages.base_url)
    page = retrieve(
        small_pages.base_url, token, "ListSubscriber", ["ListID"], simple_filter("SubscriberKey", "demo-001")
    )
    rest = _continue(small_pages.base_url, token, page.request_id, False)
    assert (page.overall_status, rest.overall_status) == ("MoreDataAvailable", "OK")
    assert [r["ListID"] for r in page.rows + rest.rows] == ["1000", "17914", "17920", "17950", "17960"]


def test_default_page_is_2500_rows(tmp_path: Path) -> None:
    people = 2600
    data = {
        "account": {"subscriber_key_permission": True},
        "business_units": [{"mid": 1, "name": "Big", "parent_mid": None}],
        "lists": [{"id": 10, "name": "All Subscribers", "type": "all_subscribers", "mid": 1}],
        "jobs": [],
        "subscribers": [
            {"id": n, "key": f"k{n}", "email": f"p{n}@example.com", "mid": 1} for n in range(1, people + 1)
        ],
        "sends": [],
    }
    path = tmp_path / "big.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    server = start_emulator(data_file=path)
    try:
        token = get_token(server.base_url)
        first = retrieve(server.base_url, token, "Subscriber", ["ID"])
        assert (first.overall_status, len(first.rows)) == ("MoreDataAvailable", 2500)
        rest = _continue(server.base_url, token, first.request_id, False)
        assert (rest.overall_status, len(rest.rows)) == ("OK", people - 2500)
        assert [r["ID"] for r in first.rows + rest.rows] == [str(n) for n in range(1, people + 1)]
    finally:
        server.stop()
