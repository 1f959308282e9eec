"""A mail scanner fetching 1,000 valid links (GET, HEAD, OPTIONS) changes nothing anywhere."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from flow_helpers import journal_entries, link

JOBS = [("18099", "17914"), ("18100", "17920"), ("18101", "17914"), ("28001", "27914"), ("", "")]


def test_get_only_crawl_of_1000_valid_links_sends_nothing(
    app: Flask, client: FlaskClient, emulator: Any
) -> None:
    before = emulator.state()["stats"]
    for n in range(1000):
        job_id, list_id = JOBS[n % len(JOBS)]
        url = link(
            subscriber_key=f"demo-{n % 32 + 1:03d}",
            job_id=job_id or None,
            list_id=list_id or None,
            batch_id=str(n % 2),
            locale=("en", "de", "fr", "es")[n % 4],
        )
        response = client.get(url) if n % 10 else client.head(url)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
    after = emulator.state()
    assert after["events"] == []
    assert after["stats"]["soap_calls"] == before["soap_calls"]
    assert after["stats"]["token_requests"] == before["token_requests"]
    assert journal_entries(app) == []
    assert all(
        subscriber["status"] == "Active"
        for subscriber in after["subscribers"]
        if subscriber["key"] == "demo-001"
    )
