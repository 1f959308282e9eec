"""Delivery to the emulator with the real client: outcomes, batching, faults, budgets, backoff, dead entries.

Every test runs on SQLite and on PostgreSQL. What reached "Marketing Cloud" is read from the emulator's
event list, never from our own records.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from journal_helpers import (
    ALREADY_OFF_NEWSLETTER,
    BRAND_EVENTS,
    BRAND_NEWSLETTER,
    CHILD_ACTIVE,
    NEWSLETTER,
    PARENT_ACTIVE,
    PRODUCT_NEWS,
    UNKNOWN_KEY,
    request_for,
    wait_until,
)

from app.identity import Recipient
from app.journal import delivery as delivery_module
from app.journal import get_delivery, get_journal, record_and_deliver
from app.journal.delivery import Delivery
from app.journal.delivery_values import DeliverySettings
from app.journal.events import AllSubscribersLists, reason_text, to_event, utf16_units
from app.journal.models import Scope, Source, State, UnsubscribeRequest
from app.journal.values import utcnow
from app.sfmc.models import LogUnsubEvent
from config import SETTINGS


def event_keys(emulator: Any) -> Counter:
    """(subscriber key, list) of every UnsubEvent Marketing Cloud logged, with how often."""
    return Counter((event["subscriber_key"], event["list_id"]) for event in emulator.events())


# -- mapping a request to LogUnsubEvent (pure) --------------------------------------------------------


@pytest.mark.parametrize(
    ("request_fields", "expected"),
    [
        ({"reason_code": "too_many"}, "Profile Center: Too many emails"),
        ({"reason_code": "not_relevant"}, "Profile Center: Content not relevant"),
        ({"reason_code": "never_signed_up"}, "Profile Center: Never signed up"),
        ({"reason_code": "no_longer_interested"}, "Profile Center: No longer interested"),
        ({"reason_code": "other"}, "Profile Center: Other"),
        (
            {"reason_code": "other", "reason_text": "  Moving\nabroad "},
            "Profile Center: Other: Moving abroad",
        ),
        ({"reason_code": "too_many", "reason_text": "ignored"}, "Profile Center: Too many emails"),
        ({"reason_code": "other", "reason_text": "bell\x07 here"}, "Profile Center: Other: bell here"),
        ({"reason_code": None}, "Profile Center: No reason given"),
        ({"source": Source.ONE_CLICK, "reason_code": None}, "One-click unsubscribe (RFC 8058)"),
    ],
)
def test_reason_sent_to_marketing_cloud_is_english_and_readable(
    request_fields: dict[str, Any], expected: str
) -> None:
    assert reason_text(UnsubscribeRequest(Recipient(subscriber_key="k"), **request_fields)) == expected


FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one cluster, 11 UTF-16 units
FLAG = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"  # England: tags


@pytest.mark.parametrize(
    ("free_text", "expected"),
    [
        ("x" * 1000, "x" * 76 + "…"),
        # 100 UTF-16 units: an astral emoji counts 2 (as in nvarchar), so 38 of them fit, not 76.
        ("\U0001f600" * 77, "\U0001f600" * 38 + "…"),
        ("x" * 70 + FAMILY, "x" * 70 + "…"),  # the family: whole or not at all
        ("x" * 66 + FAMILY, "x" * 66 + FAMILY),  # exactly 100 units: not cut
        ("e\u0301" * 60, "e\u0301" * 38 + "…"),  # accents stay with their letter
        ("\u202eevil\u202c \u2066iso\u2069 \u200fmark\u00ad\ufeff\x85x", "evil iso mark x"),
        (f"{FLAG} ok", f"{FLAG} ok"),  # a flag's tag characters stay
        ("stray\U000e0067 tag", "stray tag"),
    ],
    ids=["ascii", "astral", "family-cut", "family-fits", "combining", "format-controls", "flag", "stray-tag"],
)
def test_the_reason_fits_unsubreason_text_100_on_a_cluster_boundary(free_text: str, expected: str) -> None:
    reason = reason_text(UnsubscribeRequest(Recipient(), reason_code="other", reason_text=free_text))
    assert utf16_units(reason) <= 100
    assert reason == f"Profile Center: Other: {expected}"


@pytest.mark.parametrize(
    ("scope", "all_subscribers", "expected"),
    [
        (Scope.LIST, None, ("18099", "17914", "1")),
        (Scope.LIST, "1000", ("18099", "17914", "1")),
        (Scope.ALL, "1000", ("18099", "1000", "1")),
        (Scope.ALL, None, (None, None, None)),
    ],
)
def test_scope_decides_the_job_context_sent(
    scope: Scope, all_subscribers: str | None, expected: tuple[str | None, ...]
) -> None:
    request = UnsubscribeRequest(
        Recipient(
            subscriber_key="demo-002",
            email="demo002@example.com",
            job_id="18099",
            list_id="17914",
            batch_id="1",
            mid="510001000",
        ),
        scope=scope,
    )
    lists = AllSubscribersLists(token_unit_list=all_subscribers, token_mid="510001000")
    event = to_event(request, all_subscribers=lists)
    assert (event.recipient.job_id, event.recipient.list_id, event.recipient.batch_id) == expected
    assert event == LogUnsubEvent(
        Recipient(
            subscriber_key="demo-002",
            email="demo002@example.com",
            job_id=expected[0],
            list_id=expected[1],
            batch_id=expected[2],
            mid="510001000",
        ),
        reason="Profile Center: No reason given",
    )


MAKE_RUN = {"SFMC_ALL_SUBSCRIBERS_LISTS": ("510001000:1000", "510001001:2000")}
ONLY_THE_TOKENS = {"SFMC_ALL_SUBSCRIBERS_LIST_ID": "1000"}


@pytest.mark.parametrize(
    ("settings", "mid", "expected_list"),
    [
        # SFMC_ALL_SUBSCRIBERS_LIST_ID is the list of the unit tokens act in, never of another unit.
        (ONLY_THE_TOKENS, None, "1000"),
        (ONLY_THE_TOKENS, "510001001", None),
        (ONLY_THE_TOKENS, "510001000", None),  # without SFMC_ACCOUNT_ID: is that the token's unit? unknown
        ({**ONLY_THE_TOKENS, "SFMC_ACCOUNT_ID": 510001000}, "510001000", "1000"),
        ({**ONLY_THE_TOKENS, "SFMC_ACCOUNT_ID": 510001000}, "510001001", None),
        # SFMC_ALL_SUBSCRIBERS_LISTS names each unit's own list.
        (MAKE_RUN, "510001001", "2000"),
        (MAKE_RUN, "510001000", "1000"),
        (MAKE_RUN, "510009999", None),
        (MAKE_RUN, None, None),  # no MID and no SFMC_ACCOUNT_ID: the token's unit is not known
        ({**MAKE_RUN, "SFMC_ACCOUNT_ID": 510001001}, None, "2000"),
        ({**MAKE_RUN, **ONLY_THE_TOKENS}, None, "1000"),
        ({"SFMC_ALL_SUBSCRIBERS_LISTS": "510001001:2000"}, "0510001001", "2000"),
    ],
)
def test_all_email_uses_the_all_subscribers_list_of_the_entrys_own_unit_or_none(
    settings: dict[str, Any], mid: str | None, expected_list: str | None
) -> None:
    lists = AllSubscribersLists.from_config(settings)
    request = UnsubscribeRequest(
        Recipient(subscriber_key="k", job_id="28001", batch_id="0", mid=mid), scope=Scope.ALL
    )
    event = to_event(request, all_subscribers=lists)
    if expected_list is None:  # no job context at all: a plain master unsubscribe in the entry's unit
        assert (event.recipient.job_id, event.recipient.list_id, event.recipient.batch_id) == (
            None,
            None,
            None,
        )
    else:
        assert (event.recipient.job_id, event.recipient.list_id, event.recipient.batch_id) == (
            "28001",
            expected_list,
            "0",
        )
    assert event.recipient.mid == mid


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [(1, 5, 10), (2, 10, 20), (3, 20, 40), (7, 320, 640), (9, 900, 1800), (30, 900, 1800), (500, 900, 1800)],
)
def test_backoff_doubles_with_jitter_and_is_capped(attempts: int, low: float, high: float) -> None:
    defaults = {setting.name: setting.default for setting in SETTINGS}
    settings = DeliverySettings.from_config(
        {**defaults, "DELIVERY_BACKOFF_BASE_SECONDS": 10, "DELIVERY_BACKOFF_MAX_SECONDS": 1800}
    )
    delivery = Delivery(journal=None, client_factory=lambda: None, settings=settings, rng=random.Random(7))  # type: ignore[arg-type]
    delays = [delivery.backoff(attempts) for _ in range(200)]
    assert all(low <= delay <= high for delay in delays)
    assert max(delays) - min(delays) > (high - low) / 2  # spread out, not one moment for everybody


# -- inline delivery ----------------------------------------------------------------------------------


def test_inline_delivery_unsubscribes_and_records_marketing_clouds_answer(app: Flask, emulator: Any) -> None:
    delivered = record_and_deliver(
        request_for("demo-002", NEWSLETTER, reason_code="other", reason_text="Moving abroad", language="de")
    )
    assert delivered.state is State.DELIVERED
    assert delivered.sfmc_status_message == "Event posted"
    assert delivered.sfmc_request_id
    assert delivered.attempts == 1
    (event,) = emulator.events()
    assert (event["subscriber_key"], event["job_id"], event["list_id"], event["mid"]) == (
        "demo-002",
        "18099",
        "17914",
        "510001000",
    )
    assert event["reason"] == "Profile Center: Other: Moving abroad"


def test_inline_delivery_of_all_email_is_tracked_against_the_job(app: Flask, emulator: Any) -> None:
    entry = record_and_deliver(request_for("demo-003", NEWSLETTER, scope=Scope.ALL, source=Source.ONE_CLICK))
    assert entry.state is State.DELIVERED
    (event,) = emulator.events()
    assert (event["subscriber_key"], event["job_id"], event["list_id"]) == ("demo-003", "18099", "1000")
    assert event["reason"] == "One-click unsubscribe (RFC 8058)"


def test_already_unsubscribed_and_unknown_subscribers(app: Flask, emulator: Any) -> None:
    already = record_and_deliver(request_for(ALREADY_OFF_NEWSLETTER, NEWSLETTER))
    master = record_and_deliver(request_for("demo-021", NEWSLETTER))
    unknown = record_and_deliver(request_for(UNKNOWN_KEY, NEWSLETTER))
    assert (already.state, already.error_code) == (State.ALREADY, 401)
    assert (master.state, master.error_code) == (State.ALREADY, 12012)
    assert already.state.unsubscribed and master.state.unsubscribed
    assert (unknown.state, unknown.error_code) == (State.REJECTED, 400)
    # Marketing Cloud's own words (they say which identifier found nobody), then the code.
    assert unknown.last_error == "The subscriber could not be found by SubscriberKey. (ErrorCode 400)"
    assert emulator.events() == []


def test_double_submit_while_pending_is_delivered_once(make_app: Callable[..., Flask], emulator: Any) -> None:
    app = make_app()
    with app.app_context():
        emulator.faults(error_rate=1.0, errors=["outage"])
        first = record_and_deliver(request_for("demo-004", PRODUCT_NEWS))
        assert first.state is State.PENDING
        second = record_and_deliver(request_for("demo-004", PRODUCT_NEWS))
        assert second.id == first.id
        emulator.faults()
        time.sleep(0.25)  # past the (test-sized) backoff
        get_delivery().deliver_due()
        assert get_journal().get(first.id).state is State.DELIVERED
    assert event_keys(emulator) == Counter({("demo-004", "17920"): 1})


def test_record_and_deliver_journals_and_delivers_in_one_go(app: Flask, emulator: Any) -> None:
    entry = record_and_deliver(request_for("demo-010", NEWSLETTER))
    assert (entry.state, entry.attempts, entry.claimed_by) == (State.DELIVERED, 1, None)
    assert get_journal().get(entry.id) == entry
    # Asked again after delivery: a new entry, answered "already" by Marketing Cloud, no second event.
    again = record_and_deliver(request_for("demo-010", NEWSLETTER))
    assert again.id != entry.id and again.state is State.ALREADY
    assert event_keys(emulator) == Counter({("demo-010", "17914"): 1})


def test_record_and_deliver_with_slow_marketing_cloud_answers_within_budget_and_delivers_once(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app(INLINE_DELIVERY_BUDGET="0.3")
    with app.app_context():
        emulator.faults(latency_ms=1200)
        started = time.monotonic()
        entry = record_and_deliver(request_for("demo-011", NEWSLETTER))
        assert time.monotonic() - started < 1.0
        assert entry.state is State.PENDING
        # A double submit and the worker meanwhile: the inline attempt holds the entry, nothing is re-sent.
        assert record_and_deliver(request_for("demo-011", NEWSLETTER)).id == entry.id
        assert get_delivery().deliver_due().calls == 0
        assert wait_until(lambda: get_journal().get(entry.id).state is State.DELIVERED, timeout=8)
    assert event_keys(emulator) == Counter({("demo-011", "17914"): 1})


def test_an_inline_attempt_that_never_started_leaves_its_entry_to_the_worker_at_once(
    make_app: Callable[..., Flask], emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery_module, "INLINE_POOL_SIZE", 2)  # a small pool, quick to fill
    app = make_app(INLINE_DELIVERY_BUDGET="0.2", SFMC_TIMEOUT="6")
    busy = PARENT_ACTIVE[:2]  # as many slow attempts as the inline pool has threads
    with app.app_context():
        emulator.faults(latency_ms=2000)  # longer than the budgets of 0.2 s below
        for key in busy:
            assert record_and_deliver(request_for(key, PRODUCT_NEWS)).state is State.PENDING
        queued = record_and_deliver(request_for("demo-012", NEWSLETTER))
        assert queued.state is State.PENDING
        # Its attempt was cancelled before it began: no claim left behind, no attempt counted.
        assert (queued.claimed_by, queued.attempts) == (None, 0)
        emulator.faults()
        assert wait_until(
            lambda: (
                get_delivery().deliver_due().calls >= 0
                and get_journal().get(queued.id).state is State.DELIVERED
            ),
            timeout=8,
        )
        assert wait_until(lambda: get_journal().counts_by_state()["pending"] == 0, timeout=10)
    assert event_keys(emulator) == Counter({("demo-012", "17914"): 1, **{(key, "17920"): 1 for key in busy}})


# -- batching -----------------------------------------------------------------------------------------


def test_batches_per_business_unit_with_outcomes_matched_by_position(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app(DELIVERY_BATCH_SIZE="7")
    journal = app.extensions["journal"]
    parent = [request_for(key, NEWSLETTER) for key in PARENT_ACTIVE[:15]]
    parent[3] = request_for(UNKNOWN_KEY, NEWSLETTER)  # rejected, in the middle of a batch
    parent[9] = request_for(ALREADY_OFF_NEWSLETTER, NEWSLETTER)  # already
    parent += [request_for(key, PRODUCT_NEWS) for key in PARENT_ACTIVE[15:20]]
    child = [request_for(key, BRAND_NEWSLETTER) for key in CHILD_ACTIVE]
    # Interleave the business units: grouping is the delivery's job, not the order of arrival.
    entries = [
        journal.record(request)
        for pair in zip(parent, child + [None] * 12, strict=True)
        for request in pair
        if request
    ]
    assert len(entries) == 28

    report = app.extensions["journal_delivery"].deliver_due()

    stats = emulator.state()["stats"]
    assert report.calls == stats["soap_calls"] == 3 + 2  # ceil(20 / 7) parent + ceil(8 / 7) child
    assert stats["requests_executed"] == 28
    states = {entry.request.recipient.subscriber_key: journal.get(entry.id) for entry in entries}
    assert (states[UNKNOWN_KEY].state, states[UNKNOWN_KEY].error_code) == (State.REJECTED, 400)
    assert (states[ALREADY_OFF_NEWSLETTER].state, states[ALREADY_OFF_NEWSLETTER].error_code) == (
        State.ALREADY,
        401,
    )
    delivered = {key for key, entry in states.items() if entry.state is State.DELIVERED}
    assert len(delivered) == 26
    assert {key for key, _list in event_keys(emulator)} == delivered
    assert max(event_keys(emulator).values()) == 1
    events = {event["subscriber_key"]: event for event in emulator.events()}
    assert {events[key]["mid"] for key in CHILD_ACTIVE} == {"510001001"}


# -- faults: acceptance 1 -----------------------------------------------------------------------------

FAULT_REQUESTS = [
    request_for("demo-005", NEWSLETTER),
    request_for("demo-006", PRODUCT_NEWS, reason_code="other", reason_text="Too often"),
    request_for("child-004", BRAND_NEWSLETTER),
    request_for("child-005", BRAND_EVENTS),
    request_for("demo-007", NEWSLETTER, scope=Scope.ALL),
    request_for("demo-008", PRODUCT_NEWS, source=Source.ONE_CLICK, reason_code=None),
    request_for(UNKNOWN_KEY, NEWSLETTER),  # a permanent error: must end rejected, with its reason
]
EXPECTED_EVENTS = Counter(
    {
        ("demo-005", "17914"): 1,
        ("demo-006", "17920"): 1,
        ("child-004", "27914"): 1,
        ("child-005", "27920"): 1,
        ("demo-007", "1000"): 1,
        ("demo-008", "17920"): 1,
    }
)


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"error_rate": 1.0, "errors": ["outage"]}, id="down"),
        pytest.param({"error_rate": 1.0, "errors": ["rate_limited"]}, id="throttled"),
        pytest.param({"error_rate": 1.0, "errors": ["login_failed"]}, id="token-rejected"),
        pytest.param({"error_rate": 1.0, "errors": ["token_expired"]}, id="token-expired"),
        pytest.param({"error_rate": 1.0, "errors": ["drop"]}, id="connection-dropped"),
        pytest.param({"error_rate": 1.0, "errors": ["html_502"]}, id="proxy-502"),
    ],
)
def test_every_request_is_delivered_once_the_fault_clears(
    make_app: Callable[..., Flask], emulator: Any, fault: dict[str, Any]
) -> None:
    app = make_app()
    with app.app_context():
        journal = get_journal()
        emulator.faults(**fault)
        for request in FAULT_REQUESTS:
            started = time.monotonic()
            entry = record_and_deliver(request)
            # The page answers within its budget with "we have it", never an error.
            assert time.monotonic() - started < 2 + 0.5
            assert entry.state is State.PENDING
            assert entry.last_error

        time.sleep(0.25)
        report = get_delivery().deliver_due()
        assert report.failed_calls == 2  # one failed call per business unit, not one per batch or entry
        assert report.outcomes == {"retry": 7}
        # Noticed: everything is pending with its error and next attempt, and status shows its age.
        pending = journal.entries(state=State.PENDING)
        assert len(pending) == 7
        assert all(e.attempts == 2 and e.last_error and e.next_attempt_at > e.created_at for e in pending)
        assert journal.oldest_pending_age() > 0
        assert emulator.events() == []

        emulator.faults()  # Marketing Cloud is back
        time.sleep(0.25)
        report = get_delivery().deliver_due()
        assert report.outcomes == {"delivered": 6, "rejected": 1}
        counts = journal.counts_by_state()
        assert counts == {"pending": 0, "delivered": 6, "already": 0, "rejected": 1, "dead": 0}
        (rejected,) = journal.entries(state=State.REJECTED)
        assert rejected.request.recipient.subscriber_key == UNKNOWN_KEY
        assert (rejected.error_code, rejected.last_error) == (
            400,
            "The subscriber could not be found by SubscriberKey. (ErrorCode 400)",
        )
    assert event_keys(emulator) == EXPECTED_EVENTS


def test_slow_marketing_cloud_leaves_the_page_within_budget_and_delivers_once(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app(INLINE_DELIVERY_BUDGET="0.3")
    with app.app_context():
        emulator.faults(latency_ms=1200)
        started = time.monotonic()
        entry = answer = record_and_deliver(request_for("demo-009", NEWSLETTER))
        assert time.monotonic() - started < 1.0  # the budget (0.3 s), not Marketing Cloud's 1.2 s
        assert answer.state is State.PENDING  # "we have your request"
        # The worker runs meanwhile: the inline attempt still holds the entry, so it is not sent twice.
        assert get_delivery().deliver_due().calls == 0
        finished = wait_until(lambda: get_journal().get(entry.id).state is State.DELIVERED, timeout=8)
        assert finished
        assert get_delivery().deliver_due().calls == 0
    assert event_keys(emulator) == Counter({("demo-009", "17914"): 1})


def test_a_timeout_after_marketing_cloud_acted_is_counted_as_a_possible_duplicate(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app(SFMC_TIMEOUT="0.8", INLINE_DELIVERY_BUDGET="0.2")
    with app.app_context():
        journal = get_journal()
        emulator.faults(error_rate=1.0, errors=["timeout"], timeout_ms=2000)
        entry = record_and_deliver(request_for("demo-010", NEWSLETTER))
        assert entry.state is State.PENDING
        timed_out = wait_until(lambda: (e := journal.get(entry.id)).claimed_by is None and e, timeout=5)
        assert timed_out.duplicates == 1
        assert "0.8 s" in timed_out.last_error

        emulator.faults()
        time.sleep(0.25)
        get_delivery().deliver_due()
        retried = journal.get(entry.id)
        # Marketing Cloud had acted on the first call: the retry finds the person unsubscribed already.
        assert (retried.state, retried.error_code) == (State.ALREADY, 401)
        assert journal.possible_duplicates() == 1
    assert event_keys(emulator) == Counter({("demo-010", "17914"): 1})


# -- giving up: dead entries --------------------------------------------------------------------------


def test_entries_that_keep_failing_become_dead_and_can_be_retried(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app(DELIVERY_MAX_ATTEMPTS="2")
    with app.app_context():
        journal = get_journal()
        emulator.faults(error_rate=1.0, errors=["outage"])
        entry = record_and_deliver(request_for("demo-011", NEWSLETTER))
        assert entry.state is State.PENDING  # attempt 1
        time.sleep(0.25)
        get_delivery().deliver_due()  # attempt 2: the last allowed
        dead = journal.get(entry.id)
        assert dead.state is State.DEAD
        assert dead.last_error.startswith("gave up after 2 attempts")
        assert "Unplanned Outage" in dead.last_error
        assert get_delivery().deliver_due().calls == 0  # dead entries are not retried on their own

        emulator.faults()
        assert journal.retry_dead() == (1, 0)
        get_delivery().deliver_due()
        assert journal.get(entry.id).state is State.DELIVERED
    assert event_keys(emulator) == Counter({("demo-011", "17914"): 1})


def test_entries_past_the_age_limit_become_dead_after_a_failed_attempt(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app(DELIVERY_MAX_AGE_HOURS="1")
    with app.app_context():
        journal = get_journal()
        emulator.faults(error_rate=1.0, errors=["rate_limited"])
        old = journal.record(request_for("demo-012", NEWSLETTER), now=utcnow() - timedelta(hours=2))
        fresh = journal.record(request_for("demo-013", NEWSLETTER))
        get_delivery().deliver_due()
        assert journal.get(old.id).state is State.DEAD
        assert "Rate Limited" in journal.get(old.id).last_error
        assert journal.get(fresh.id).state is State.PENDING
