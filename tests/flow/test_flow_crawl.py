"""A mail scanner fetching 1,000 distinct valid links (GET, HEAD, OPTIONS) changes nothing anywhere, and
costs Marketing Cloud one List Retrieve per business unit (the list names), nothing else."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from flow_helpers import CHILD_MID, journal_entries, link, names_the_list, soap_calls_of

from app.preferences.directory import EXTENSION_KEY as DIRECTORY

#: (JobID, ListID, MID, SubscriberKey prefix, the list's name): both business units, and links without a job.
SENDS = [
    ("18099", "17914", None, "demo", "Newsletter"),
    ("18100", "17920", None, "demo", "Product news"),
    ("18101", "17914", None, "demo", "Newsletter"),
    ("28001", "27914", CHILD_MID, "child", "Brand newsletter"),
    ("28002", "27920", CHILD_MID, "child", "Brand events"),
    ("", "", None, "demo", None),
]


def _without_stats(state: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in state.items() if name != "stats"}


def test_get_only_crawl_of_1000_distinct_links_changes_nothing_and_reads_each_units_lists_once(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    before = emulator.state()
    urls = set()
    for n in range(1000):
        job_id, list_id, mid, prefix, name = SENDS[n % len(SENDS)]
        url = link(
            subscriber_key=f"{prefix}-{n % 10 + 1:03d}",
            email=f"reader{n:04d}@example.com",
            job_id=job_id or None,
            list_id=list_id or None,
            batch_id=str(n % 2),
            mid=mid,
            locale=("en", "de", "fr", "es")[n % 4],
        )
        urls.add(url)
        method = ("get", "get", "get", "get", "get", "get", "get", "get", "head", "options")[n % 10]
        response = getattr(client, method)(url)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        if method == "get" and name:
            assert names_the_list(response.get_data(as_text=True), name), n
    assert len(urls) == 1000
    after = emulator.state()
    assert _without_stats(after) == _without_stats(before)  # no event, no status, no membership changed
    assert after["events"] == []
    assert journal_entries(app) == []
    calls = soap_calls_of(after)
    assert calls.get("Retrieve List", 0) <= 2  # one per business unit at most
    assert app.extensions[DIRECTORY].cached_units() == 2
    assert calls.get("Retrieve ListSubscriber", 0) == 0
    assert sum(calls.values()) == calls.get("Retrieve List", 0)  # no Execute, no Update, nothing else
    assert after["stats"]["soap_calls"] == calls.get("Retrieve List", 0)
