"""A person's entries reach Marketing Cloud in the order they were made, and a save of several changes is
one commit and one attempt: planned calls (pure), then the real client against the emulator.

What reached "Marketing Cloud" is read from the emulator's state, never from our own records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from journal_helpers import NEWSLETTER, PRODUCT_NEWS, request_for, wait_until

from app.identity import Recipient
from app.journal import get_delivery, get_journal, record_and_deliver, record_and_deliver_many
from app.journal.delivery_calls import CallKind, plan_calls
from app.journal.events import reason_text
from app.journal.models import Action, JournalEntry, Scope, State, UnsubscribeRequest
from app.journal.store import open_journal

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def entry(entry_id: int, request: UnsubscribeRequest) -> JournalEntry:
    return JournalEntry(entry_id, request, State.PENDING, 1, T0, T0, T0, None, None, None, None)


def list_change(key: str, action: Action, list_id: str) -> UnsubscribeRequest:
    return UnsubscribeRequest(
        Recipient(subscriber_key=key, **NEWSLETTER), action=action, target_list_id=list_id
    )


# -- planning the calls of one attempt (pure) ---------------------------------------------------------


def test_one_save_is_one_update_call_and_one_execute_call() -> None:
    entries = [
        entry(1, list_change("a", Action.LIST_UNSUBSCRIBE, "17920")),
        entry(2, list_change("a", Action.LIST_RESUBSCRIBE, "17930")),
        entry(3, request_for("a", NEWSLETTER)),
        entry(4, list_change("b", Action.LIST_UNSUBSCRIBE, "17920")),
    ]
    calls = plan_calls(entries, 50)
    assert [(call.kind, [e.id for e in call.entries]) for call in calls] == [
        (CallKind.UPDATE, [1, 2, 4]),
        (CallKind.EXECUTE, [3]),
    ]


def test_a_persons_changes_of_one_list_go_in_separate_calls_in_their_order() -> None:
    entries = [
        entry(1, list_change("a", Action.LIST_UNSUBSCRIBE, "17920")),
        entry(2, list_change("a", Action.LIST_RESUBSCRIBE, "17920")),
        entry(3, request_for("b", NEWSLETTER)),
        entry(4, list_change("a", Action.LIST_UNSUBSCRIBE, "17920")),
        entry(5, request_for("a", NEWSLETTER, scope=Scope.ALL)),
        entry(6, list_change("c", Action.LIST_UNSUBSCRIBE, "17920")),
    ]
    calls = plan_calls(entries, 50)
    assert [(call.kind, [e.id for e in call.entries]) for call in calls] == [
        (CallKind.UPDATE, [1, 6]),
        (CallKind.UPDATE, [2]),
        (CallKind.EXECUTE, [3]),
        (CallKind.UPDATE, [4]),
        (CallKind.EXECUTE, [5]),  # after the person's last list change: never before an older entry
    ]


def test_calls_hold_at_most_the_batch_size() -> None:
    entries = [entry(n, list_change(f"p{n}", Action.LIST_UNSUBSCRIBE, "17920")) for n in range(1, 121)]
    assert [len(call.entries) for call in plan_calls(entries, 50)] == [50, 50, 20]


def test_a_marketers_own_reason_label_is_the_reason_sent() -> None:
    base = Recipient(subscriber_key="k")
    custom = UnsubscribeRequest(base, reason_code="moved", reason_label="Moved\u202e abroad")
    assert reason_text(custom) == "Profile Center: Moved abroad"
    labelled_other = UnsubscribeRequest(base, reason_code="other", reason_text="x", reason_label="Else")
    assert reason_text(labelled_other) == "Profile Center: Else: x"
    assert reason_text(UnsubscribeRequest(base, reason_code="too_many")) == "Profile Center: Too many emails"


# -- against the emulator -----------------------------------------------------------------------------


def events_of(emulator: Any, key: str) -> list[tuple[str | None, str | None]]:
    """(job, list) of every UnsubEvent of ``key``, in the order Marketing Cloud logged them."""
    return [(e["job_id"], e["list_id"]) for e in emulator.events() if e["subscriber_key"] == key]


def test_a_newer_entry_is_not_sent_while_the_persons_older_one_waits_for_its_retry(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    # Retries wait 2-4 s: long enough to look while the older entry is still backing off.
    app = make_app(DELIVERY_BACKOFF_BASE_SECONDS="4", DELIVERY_BACKOFF_MAX_SECONDS="4")
    with app.app_context():
        journal, delivery = get_journal(), get_delivery()
        emulator.faults(error_rate=1.0, errors=["outage"])
        older = record_and_deliver(request_for("demo-001", NEWSLETTER))
        assert older.state is State.PENDING and older.next_attempt_at is not None
        emulator.faults()
        newer = journal.record(request_for("demo-001", PRODUCT_NEWS))
        unrelated = journal.record(request_for("demo-002", PRODUCT_NEWS))
        report = delivery.deliver_due()
        assert journal.get(older.id).next_attempt_at > datetime.now(UTC)  # still backing off
        # Marketing Cloud is back, the newer entry is due by its own time, yet it waits for the older.
        assert (report.calls, report.sent) == (1, 1)
        assert events_of(emulator, "demo-001") == []
        assert journal.get(newer.id).state is State.PENDING
        assert journal.get(unrelated.id).state is State.DELIVERED
        time.sleep(max(0.0, (older.next_attempt_at - datetime.now(UTC)).total_seconds()) + 0.05)
        report = delivery.deliver_due()
        assert report.calls == 2  # the older entry, then (once it finished) the newer one
        assert [journal.get(e.id).state for e in (older, newer)] == [State.DELIVERED] * 2
    assert events_of(emulator, "demo-001") == [("18099", "17914"), ("18100", "17920")]


def test_a_post_sends_the_persons_older_pending_entries_first(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app(DELIVERY_BACKOFF_BASE_SECONDS="600", DELIVERY_BACKOFF_MAX_SECONDS="600")
    with app.app_context():
        emulator.faults(error_rate=1.0, errors=["outage"])
        older = record_and_deliver(request_for("demo-003", NEWSLETTER))
        assert older.state is State.PENDING  # and now backing off for minutes
        emulator.faults()
        newer = record_and_deliver(request_for("demo-003", PRODUCT_NEWS))
        assert newer.state is State.DELIVERED
        assert get_journal().get(older.id).state is State.DELIVERED
    assert events_of(emulator, "demo-003") == [("18099", "17914"), ("18100", "17920")]


def test_a_save_is_one_commit_then_one_attempt_within_the_budget(
    make_app: Callable[..., Flask], emulator: Any, database_url: str, tmp_path: Path
) -> None:
    app = make_app()
    save = [
        request_for("demo-004", NEWSLETTER),
        request_for("demo-004", PRODUCT_NEWS),
        request_for("demo-004", NEWSLETTER, scope=Scope.ALL),
    ]
    with app.app_context():
        calls_before = emulator.state()["stats"]["soap_calls"]
        entries = record_and_deliver_many(save)
        assert [e.state for e in entries] == [State.DELIVERED] * 3
        assert emulator.state()["stats"]["soap_calls"] - calls_before == 1  # one Execute for the three
        assert [e.request for e in entries] == save
        assert record_and_deliver_many([]) == []  # a save that changed nothing writes nothing
    assert events_of(emulator, "demo-004") == [("18099", "17914"), ("18100", "17920"), ("18099", "1000")]


def test_a_save_while_marketing_cloud_is_down_is_committed_whole_and_delivered_later(
    make_app: Callable[..., Flask], emulator: Any, database_url: str, tmp_path: Path
) -> None:
    app = make_app(INLINE_DELIVERY_BUDGET="0.5")
    save = [request_for("demo-005", NEWSLETTER), request_for("demo-005", PRODUCT_NEWS)]
    with app.app_context():
        emulator.faults(error_rate=1.0, errors=["outage"])
        started = time.monotonic()
        entries = record_and_deliver_many(save)
        assert time.monotonic() - started < 1.5
        assert [e.state for e in entries] == [State.PENDING] * 2
        other = open_journal(database_url, tmp_path)  # another process sees both committed
        try:
            assert [other.get(e.id).request for e in entries] == save
        finally:
            other.close()
        # A double submit while pending: the same entries.
        assert [e.id for e in record_and_deliver_many(save)] == [e.id for e in entries]
        emulator.faults()
        assert wait_until(
            lambda: (
                get_delivery().deliver_due() is not None and get_journal().counts_by_state()["pending"] == 0
            ),
            timeout=10,
        )
        assert [get_journal().get(e.id).state for e in entries] == [State.DELIVERED] * 2
    assert events_of(emulator, "demo-005") == [("18099", "17914"), ("18100", "17920")]


def test_what_a_save_does_not_finish_in_the_budget_is_finished_in_the_background(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app(INLINE_DELIVERY_BUDGET="0.3")
    with app.app_context():
        emulator.faults(latency_ms=1200)
        started = time.monotonic()
        entries = record_and_deliver_many(
            [request_for("demo-006", NEWSLETTER), request_for("demo-006", PRODUCT_NEWS)]
        )
        assert time.monotonic() - started < 1.0
        assert [e.state for e in entries] == [State.PENDING] * 2
        assert wait_until(
            lambda: all(get_journal().get(e.id).state is State.DELIVERED for e in entries), timeout=10
        )
    assert len(events_of(emulator, "demo-006")) == 2
