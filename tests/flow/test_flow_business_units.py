"""Business units: "all marketing email" acts on the person's own unit, and a refusal says what failed.

Every business unit has its own All Subscribers list (demo: 1000 in the parent 510001000, 2000 in the
child 510001001). Sending one unit's ListID with another unit's ``Client/ID`` is refused by Marketing Cloud,
so the page would say "could not find that subscription" while the person stays subscribed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flow_helpers import ALL_SUBSCRIBERS, BRAND_NEWSLETTER, CHILD_MID, NEWSLETTER, journal_entries, link

from app.journal import get_delivery
from app.journal.models import State
from scripts.demo import demo_environment
from testkit.cli import flask_cli
from tests.conftest import stop_process
from tests.ops.ops_helpers import app_environment, form_fields, start_gunicorn

CHILD_ALL_SUBSCRIBERS = "2000"
UNKNOWN_MID = "510009999"  # a number, so it is sent as Client/ID, but no unit of the account


def make_run_settings() -> dict[str, str]:
    """The business-unit settings `make run` gives the app and the worker (scripts/demo.py)."""
    env = demo_environment("http://127.0.0.1:1", 5000, Path("instance"))
    wanted = ("SFMC_ACCOUNT_ID", "SFMC_ALL_SUBSCRIBERS_LIST_ID", "SFMC_ALL_SUBSCRIBERS_LISTS")
    return {name: env[name] for name in wanted if name in env}


def subscriber_status(emulator: Any, key: str) -> str:
    [subscriber] = [s for s in emulator.state()["subscribers"] if s["key"] == key]
    return subscriber["status"]


def test_child_unit_all_email_with_the_make_run_settings_is_tracked_on_the_childs_list(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app(**make_run_settings())
    response = app.test_client().post(
        link(subscriber_key="child-003", **BRAND_NEWSLETTER), data={"scope": "all"}
    )
    assert "You will no longer receive marketing email" in response.get_data(as_text=True)
    assert subscriber_status(emulator, "child-003") == "Unsubscribed"
    [event] = emulator.events()
    assert (event["subscriber_key"], event["job_id"], event["list_id"], event["mid"]) == (
        "child-003",
        "28001",
        CHILD_ALL_SUBSCRIBERS,
        CHILD_MID,
    )
    [entry] = journal_entries(app)
    assert entry.state is State.DELIVERED


def test_the_token_units_list_is_never_sent_with_a_child_mid(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    # Only the parent's list is known (SFMC_ALL_SUBSCRIBERS_LIST_ID, as `make run` used to set it): the
    # child's "all email" becomes a plain master unsubscribe in the child unit (no job context).
    app = make_app(SFMC_ALL_SUBSCRIBERS_LIST_ID=ALL_SUBSCRIBERS)
    client = app.test_client()
    response = client.post(link(subscriber_key="child-003", **BRAND_NEWSLETTER), data={"scope": "all"})
    assert "You will no longer receive marketing email" in response.get_data(as_text=True)
    assert subscriber_status(emulator, "child-003") == "Unsubscribed"
    assert emulator.events() == []  # no job context, so no UnsubEvent (the documented rule)
    # The parent's own people (links without a MID: the token's unit) are still tracked on list 1000.
    client.post(link(subscriber_key="demo-001", **NEWSLETTER), data={"scope": "all"})
    assert [(e["subscriber_key"], e["list_id"]) for e in emulator.events()] == [("demo-001", ALL_SUBSCRIBERS)]
    assert [entry.state for entry in journal_entries(app)] == [State.DELIVERED, State.DELIVERED]


def test_a_list_of_another_unit_is_named_in_the_error_not_the_job(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app()
    foreign_list = {**BRAND_NEWSLETTER, "list_id": ALL_SUBSCRIBERS}  # the child's job, the parent's list
    app.test_client().post(link(subscriber_key="child-003", **foreign_list), data={"scope": "list"})
    [entry] = journal_entries(app)
    assert (entry.state, entry.error_code) == (State.REJECTED, 400)
    assert "ListID" in entry.last_error and "JobID" not in entry.last_error, entry.last_error
    assert subscriber_status(emulator, "child-003") == "Active"


def test_an_unknown_business_unit_is_rejected_with_marketing_clouds_words_not_retried(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app()
    response = app.test_client().post(
        link(subscriber_key="child-003", **{**BRAND_NEWSLETTER, "mid": UNKNOWN_MID}), data={"scope": "list"}
    )
    assert "We could not find that subscription" in response.get_data(as_text=True)
    [entry] = journal_entries(app)
    assert entry.state is State.REJECTED and entry.error_code is None
    assert f"Client ID {UNKNOWN_MID} is not a business unit" in entry.last_error, entry.last_error
    assert entry.sfmc_status_message.startswith(f"Client ID {UNKNOWN_MID}")
    calls = emulator.state()["stats"]["soap_calls"]
    with app.app_context():
        get_delivery().deliver_due()
    assert emulator.state()["stats"]["soap_calls"] == calls  # nothing left to retry
    assert journal_entries(app)[0].attempts == 1


def test_the_issues_steps_over_real_http_gunicorn_and_the_mint_link_cli(
    emulator: Any, tmp_path: Path
) -> None:
    """`make run`'s settings, a link from `flask mint-link --mid 510001001`, the form over HTTP."""
    env = app_environment(emulator, tmp_path, **make_run_settings(), INLINE_DELIVERY_BUDGET="3")
    server = start_gunicorn(env, tmp_path)
    try:
        link_of_the_issue = ["--subscriber-key", "child-003", "--job-id", "28001", "--list-id", "27914"]
        link_of_the_issue += ["--batch-id", "0", "--mid", CHILD_MID, "--base-url", server.base_url]
        minted = flask_cli(env, "mint-link", *link_of_the_issue)
        assert minted.returncode == 0, minted.stderr
        url = minted.stdout.strip().splitlines()[-1]
        action, fields = form_fields(requests.get(url, timeout=10).text)
        fields["scope"] = "all"
        done = requests.post(requests.compat.urljoin(url, action), data=fields, timeout=10)
        assert done.status_code == 200
        assert "You will no longer receive marketing email" in done.text
        assert subscriber_status(emulator, "child-003") == "Unsubscribed"
        assert [(e["subscriber_key"], e["list_id"], e["mid"]) for e in emulator.events()] == [
            ("child-003", CHILD_ALL_SUBSCRIBERS, CHILD_MID)
        ]
    finally:
        stop_process(server.process)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("510001000=1000", "'510001000=1000' is not MID:ListID"),
        ("510001000:1000,510001000:2000", "MID 510001000 is given twice"),
        ("510001000:", "'510001000:' is not MID:ListID"),
    ],
)
def test_a_malformed_list_per_unit_stops_start_up_with_one_line(
    emulator: Any, tmp_path: Path, value: str, problem: str
) -> None:
    env = app_environment(emulator, tmp_path, SFMC_ALL_SUBSCRIBERS_LISTS=value)
    checked = flask_cli(env, "check-config")
    assert checked.returncode == 2
    assert f"SFMC_ALL_SUBSCRIBERS_LISTS is invalid: {problem}" in checked.stderr + checked.stdout


def test_check_config_shows_the_list_of_each_unit(emulator: Any, tmp_path: Path) -> None:
    env = app_environment(emulator, tmp_path, SFMC_ALL_SUBSCRIBERS_LISTS=" 510001001:2000 , 510001000:1000")
    checked = flask_cli(env, "check-config", "--json")
    assert checked.returncode == 0, checked.stderr
    shown = json.loads(checked.stdout)
    assert shown["SFMC_ALL_SUBSCRIBERS_LISTS"] == "510001001:2000,510001000:1000"
