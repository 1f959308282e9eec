"""The soak's verdict can fail: each way a run can go wrong, fed to the same function `bench.soak` uses.

A run that passes (``good_run``) is changed in one way at a time; the verdict must name that change. The
figures are what a finished soak hands over (what clients saw, Marketing Cloud's state, the journal's
export), so the split of 5xx into journaled and unjournaled is computed here from those raw inputs too.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bench._soak_clients import ServerError, classify_page, is_clear_try_again
from bench._soak_verdict import (
    ServerErrorFigures,
    SoakReport,
    first_journaled,
    judge_server_errors,
    marketing_cloud_figures,
    verdict,
)

FAULTS = ["outage", "timeout", "token_expired", "login_failed", "rate_limited", "drop", "html_502"]


def good_run(**changes: object) -> SoakReport:
    report = SoakReport(
        db="postgres",
        requests=300,
        accepted=300,
        delivered=300,
        lost=0,
        server_errors=ServerErrorFigures(seen=2, journaled=2, people=1, statuses={"503": 2}),
        retries_after_5xx=2,
        connection_errors=40,
        rate_limited=0,
        refused={},
        given_up=0,
        kills_asked=1,
        app_kills=1,
        worker_kills=1,
        died_by_themselves={},
        drops_asked=5,
        drops_done=5,
        backends_terminated=40,
        faults_asked=FAULTS,
        fault_rate_asked=0.5,
        soap_calls=400,
        faults_by_kind={kind: 25 for kind in FAULTS},
        journal_states={"delivered": 280, "already": 20, "pending": 0, "rejected": 0, "dead": 0},
        possible_duplicates=80,
        re_executions=20,
        duplicate_events=0,
        pages={"unsubscribed (list)": 300},
    )
    return replace(report, **changes)


def test_a_good_run_passes() -> None:
    assert verdict(good_run()) == []


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"server_errors": ServerErrorFigures(seen=5, unjournaled=5)}, "did not hold"),
        ({"server_errors": ServerErrorFigures(seen=1, journaled_not_clear=1)}, "clear 503"),
        ({"given_up": 3}, "gave up"),
        ({"refused": {"400 raw_8bit": 30}}, "refused"),
        ({"lost": 1, "delivered": 299}, "lost"),
        ({"accepted": 0, "delivered": 0}, "no POST was accepted"),
        ({"journal_states": {"delivered": 290, "pending": 10}}, "pending after the drain"),
        ({"journal_states": {"delivered": 290, "dead": 10}}, "dead after the drain"),
        ({"journal_states": {"delivered": 290, "rejected": 10}}, "rejected after the drain"),
        ({"app_kills": 0}, "fewer kills"),
        ({"worker_kills": 0}, "fewer kills"),
        ({"drops_done": 4}, "fewer connection drops"),
        ({"died_by_themselves": {"worker exit 1": 1}}, "died without being killed"),
        ({"faults_by_kind": {kind: 25 for kind in FAULTS if kind != "html_502"}}, "never injected: html_502"),
        ({"faults_by_kind": {kind: 5 for kind in FAULTS}}, "fewer faults than asked"),
        ({"re_executions": 81}, "re-executions"),
        ({"re_executions": 3, "possible_duplicates": 0}, "re-executions"),
        ({"duplicate_events": 1}, "duplicate UnsubEvents"),
    ],
)
def test_each_broken_figure_fails_the_run(changes: dict, named: str) -> None:
    failures = verdict(good_run(**changes))
    assert len(failures) == 1, failures
    assert named in failures[0]


def test_the_issues_run_fails_many_ways() -> None:
    """The run of the hardening issue: 90 % of POSTs got a 503 before anything was journaled; the old
    soak printed 'nothing lost' and exited 0."""
    report = good_run(
        accepted=267,
        delivered=267,
        server_errors=ServerErrorFigures(seen=2311, unjournaled=2311, people=300),
        given_up=33,
    )
    failures = verdict(report)
    assert any("2311 5xx answers to requests the journal did not hold" in f for f in failures)
    assert any("33 people gave up" in f for f in failures)


# -- 5xx: journaled or not, from the journal's own export --------------------------------------------


def test_a_5xx_counts_as_journaled_only_when_the_entry_existed_when_it_arrived() -> None:
    rows = [
        {"subscriber_key": "bench-000001", "created_at": "2026-12-01T10:00:05.000000+00:00"},
        {"subscriber_key": "bench-000002", "created_at": "2026-12-01T10:00:01.000000+00:00"},
        {"subscriber_key": "bench-000002", "created_at": "2026-12-01T10:00:09.000000+00:00"},
        {"subscriber_key": "someone-else", "created_at": "2026-12-01T09:00:00.000000+00:00"},
        {"subscriber_key": "bench-000004", "created_at": "2026-12-01T10:00:01"},  # no zone: the journal's UTC
    ]
    first = first_journaled(
        rows, {"bench-000001": 1, "bench-000002": 2, "bench-000003": 3, "bench-000004": 4}
    )
    ten = datetime(2026, 12, 1, 10, tzinfo=UTC).timestamp()
    errors = [
        ServerError(person=1, at=ten + 2, status=503, clear_try_again=True),  # entry made by a later retry
        ServerError(person=2, at=ten + 2, status=503, clear_try_again=True),  # held since 10:00:01
        ServerError(person=2, at=ten + 3, status=500, clear_try_again=False),  # held, but a 500 page
        ServerError(person=3, at=ten + 2, status=503, clear_try_again=True),  # never journaled
        ServerError(person=4, at=ten + 2, status=503, clear_try_again=True),  # held since 10:00:01 UTC
    ]
    figures = judge_server_errors(errors, first)
    assert (figures.seen, figures.journaled, figures.unjournaled, figures.journaled_not_clear) == (5, 2, 2, 1)
    assert figures.people == 4
    assert figures.statuses == {"503": 4, "500": 1}


def test_only_a_503_that_says_try_again_is_a_clear_try_again_page() -> None:
    assert is_clear_try_again(503, "<h1>Please try again</h1>")
    assert not is_clear_try_again(503, "<h1>Service Unavailable</h1>")
    # The app's 500 page also says "try again later": the status decides.
    assert not is_clear_try_again(500, "An unexpected error occurred on our side. Please try again later.")


def test_the_one_click_answer_is_read_as_processing() -> None:
    assert classify_page("Your unsubscribe request was received and is being processed.\n") == "processing"
    assert classify_page("You are unsubscribed.\n") == "unsubscribed"


# -- re-executions: requests executed minus the people Marketing Cloud unsubscribed ------------------


def test_re_executions_are_executions_beyond_one_per_person() -> None:
    state = {
        "subscribers": [
            {"id": "1", "key": "a", "status": "Unsubscribed"},  # "all email"
            {"id": "2", "key": "b", "status": "Active"},
            {"id": "3", "key": "c", "status": "Active"},
        ],
        "lists": [{"id": "8000001", "members": {"1": "Active", "2": "Unsubscribed", "3": "Active"}}],
        "events": [
            {"subscriber_key": "b", "job_id": "9"},
            {"subscriber_key": "b", "job_id": "9"},
        ],
        "stats": {"requests_executed": 5},
        "faults_injected_by_kind": {"timeout": 2},
    }
    mc = marketing_cloud_figures(state, "8000001")
    assert mc.people_unsubscribed == 2
    assert mc.re_executions == 3
    assert mc.duplicate_events == 1
    assert mc.faults_by_kind == {"timeout": 2}
