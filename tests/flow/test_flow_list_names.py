"""The landing page names the email's list, from the list directory (one List Retrieve per business unit),
and never shows a bare list ID; with Marketing Cloud slow or down it answers at once with the generic
wording, and an unsubscribe made meanwhile is journaled and delivered once Marketing Cloud is back."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from flow_helpers import BRAND_NEWSLETTER, NEWSLETTER, link, main_of, names_no_list, names_the_list

from testkit.cli import start_worker
from testkit.processes import stop_group
from tests.conftest import ROOT, app_builder, base_test_config, start_emulator
from tests.ops.ops_helpers import app_environment, form_fields, start_gunicorn, stop_process

#: Marketing Cloud refusing every call without doing anything (``timeout`` would process the call).
DOWN = {"error_rate": 1.0, "errors": ["outage", "drop", "html_502", "rate_limited"]}


@pytest.mark.parametrize("locale", ["en", "de", "fr", "es"])
def test_the_landing_page_names_the_emails_list_in_every_language(client: FlaskClient, locale: str) -> None:
    html = client.get(link(locale=locale, subscriber_key="demo-001", **NEWSLETTER)).get_data(as_text=True)
    assert names_the_list(html, "Newsletter")
    assert "17914" not in main_of(html)  # never the bare ID


def test_a_child_units_link_names_the_child_units_list(client: FlaskClient) -> None:
    html = client.get(link(subscriber_key="child-001", **BRAND_NEWSLETTER)).get_data(as_text=True)
    assert names_the_list(html, "Brand newsletter")
    assert "27914" not in main_of(html)


def test_a_list_the_unit_does_not_have_keeps_the_generic_wording(client: FlaskClient) -> None:
    # The parent's newsletter on a child unit's link: the child has no list 17914, so no name and no ID.
    foreign = {**BRAND_NEWSLETTER, "list_id": "17914"}
    html = client.get(link(subscriber_key="child-001", **foreign)).get_data(as_text=True)
    assert names_no_list(html)


def test_named_and_unnamed_pages_come_from_the_page_cache_without_mixing(
    client: FlaskClient, app: Flask
) -> None:
    pages = [
        client.get(link(subscriber_key=f"demo-{n:03d}", **(NEWSLETTER if n % 2 else BRAND_NEWSLETTER)))
        for n in range(1, 21)
    ]
    for n, page in enumerate(pages, 1):
        html = page.get_data(as_text=True)
        assert names_the_list(html, "Newsletter") is (n % 2 == 1), n
        assert names_the_list(html, "Brand newsletter") is (n % 2 == 0), n
    assert app.extensions["unsubscribe_page_cache"].cached_shapes() >= 1  # filled in, not rendered anew


def test_with_list_names_off_the_page_is_generic_and_marketing_cloud_is_not_asked(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app(LIST_NAMES="false")
    html = app.test_client().get(link(subscriber_key="demo-001", **NEWSLETTER)).get_data(as_text=True)
    assert names_no_list(html)
    assert emulator.state()["stats"]["soap_calls"] == 0


def test_a_slow_marketing_cloud_shows_the_form_at_once_and_the_name_once_it_answered(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app(LIST_NAMES_WAIT_SECONDS="0.3")
    client = app.test_client()
    emulator.faults(latency_ms=1500)
    started = time.monotonic()
    html = client.get(link(subscriber_key="demo-001", **NEWSLETTER)).get_data(as_text=True)
    assert time.monotonic() - started < 1.0
    assert names_no_list(html)
    deadline = time.monotonic() + 10
    while not names_the_list(html, "Newsletter") and time.monotonic() < deadline:
        time.sleep(0.2)
        html = client.get(link(subscriber_key="demo-003", **NEWSLETTER)).get_data(as_text=True)
    assert names_the_list(html, "Newsletter")
    assert emulator.state()["stats"]["soap_calls"] == 1  # the one read, however many pages asked


def test_marketing_cloud_down_the_page_answers_at_once_and_the_unsubscribe_is_delivered_when_it_is_back(
    emulator: Any, tmp_path: Path
) -> None:
    """Real HTTP through gunicorn and the delivery worker: Marketing Cloud first not answering at all (every
    call hangs past SFMC_TIMEOUT), then refusing every call, then back."""
    emulator.faults(error_rate=1.0, errors=["timeout"], timeout_ms=5000)
    env = app_environment(
        emulator,
        tmp_path,
        LIST_NAMES_RETRY_SECONDS="0.5",
        DELIVERY_BACKOFF_BASE_SECONDS="0.5",
        DELIVERY_BACKOFF_MAX_SECONDS="1",
        WORKER_POLL_SECONDS="0.2",
    )
    server = start_gunicorn(env, tmp_path)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        assert emulator.state()["stats"]["soap_calls"] == 0  # nothing is read at start-up
        links = [("demo-001", NEWSLETTER), ("child-001", BRAND_NEWSLETTER), ("demo-003", NEWSLETTER)]
        for key, context in links:
            started = time.monotonic()
            page = requests.get(server.base_url + link(subscriber_key=key, **context), timeout=10)
            assert time.monotonic() - started < 1.0
            assert page.status_code == 200
            assert names_no_list(page.text)
        emulator.faults(**DOWN)
        url = server.base_url + link(subscriber_key="demo-003", **NEWSLETTER)
        action, fields = form_fields(requests.get(url, timeout=10).text)
        assert fields["scope"] == "list"
        done = requests.post(requests.compat.urljoin(url, action), data=fields, timeout=10)
        assert done.status_code == 200 and "We have your request" in done.text
        assert emulator.events() == []
        emulator.faults()  # Marketing Cloud is back
        deadline = time.monotonic() + 30
        while not emulator.events() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [(e["subscriber_key"], e["list_id"]) for e in emulator.events()] == [("demo-003", "17914")]
        deadline = time.monotonic() + 10
        page = requests.get(url, timeout=10)
        while not names_the_list(page.text, "Newsletter") and time.monotonic() < deadline:
            time.sleep(0.2)
            page = requests.get(url, timeout=10)
        assert names_the_list(page.text, "Newsletter")  # and the names come back with it
    finally:
        stop_group(worker)
        stop_process(server.process)
    assert "Traceback" not in server.output.read_text()


def test_a_list_name_with_markup_is_printed_as_text(tmp_path: Path) -> None:
    """A marketer may name a list anything: the page prints it escaped, never as HTML."""
    data = json.loads((ROOT / "emulator" / "data" / "demo.json").read_text(encoding="utf-8"))
    newsletter = next(item for item in data["lists"] if str(item["id"]) == "17914")
    newsletter["name"] = 'Deals <b>&</b> "more" <script>x</script>'
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(data), encoding="utf-8")
    server = start_emulator(data_file=data_file)
    try:
        settings = base_test_config(server, tmp_path, LIST_NAMES_WAIT_SECONDS="5")
        with app_builder(lambda **_: settings) as build:
            page = build().test_client().get(link(subscriber_key="demo-001", **NEWSLETTER))
            html = page.get_data(as_text=True)
    finally:
        server.stop()
    assert names_the_list(
        html, "Deals &lt;b&gt;&amp;&lt;/b&gt; &#34;more&#34; &lt;script&gt;x&lt;/script&gt;"
    )
    assert "<b>&</b>" not in html and "<script>" not in html
