"""List changes (the manage page's saves) delivered by Subscriber Update to the emulator with the real
client, on SQLite and PostgreSQL: outcomes, one call per kind, order while Marketing Cloud is down.

What Marketing Cloud did is read from the emulator: its list memberships and its log of the statuses each
Update set, in the order it processed them (``updates``), never from our own records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from journal_helpers import NEWSLETTER, PARENT_ACTIVE, request_for, wait_until

from app.identity import Recipient
from app.journal import get_delivery, get_journal, record_and_deliver, record_and_deliver_many
from app.journal.models import Action, State, UnsubscribeRequest

PRODUCT_NEWS_LIST = "17920"
EVENTS_LIST = "17950"  # demo-011 is Unsubscribed from it; demo-001…010 Active


def change(key: str, action: Action, list_id: str, **who: str) -> UnsubscribeRequest:
    """A change of the manage page opened from a newsletter link."""
    identity = {"subscriber_key": key, **NEWSLETTER, **who}
    return UnsubscribeRequest(Recipient(**identity), action=action, target_list_id=list_id)


def off(key: str, list_id: str = PRODUCT_NEWS_LIST, **who: str) -> UnsubscribeRequest:
    return change(key, Action.LIST_UNSUBSCRIBE, list_id, **who)


def on(key: str, list_id: str = PRODUCT_NEWS_LIST, **who: str) -> UnsubscribeRequest:
    return change(key, Action.LIST_RESUBSCRIBE, list_id, **who)


def statuses(emulator: Any, key: str, list_id: str = PRODUCT_NEWS_LIST) -> list[str]:
    """Every status Marketing Cloud's Updates gave ``key`` on ``list_id``, in the order processed."""
    return [u["status"] for u in emulator.updates() if (u["subscriber_key"], u["list_id"]) == (key, list_id)]


def calls(emulator: Any) -> dict[str, int]:
    stats = emulator.state()["stats"]
    return {"execute": stats["execute"], "update": stats["update"], "objects": stats["update_objects"]}


def test_a_list_unsubscribe_and_its_undo_change_only_that_membership(app: Flask, emulator: Any) -> None:
    left = record_and_deliver(off("demo-001"))
    assert (left.state, left.attempts) == (State.DELIVERED, 1)
    assert left.sfmc_request_id and left.sfmc_status_message == "Updated Subscriber."
    assert emulator.membership("demo-001", PRODUCT_NEWS_LIST) == "Unsubscribed"
    assert (
        emulator.membership("demo-001", NEWSLETTER["list_id"]) == "Active"
    )  # the email's own list: as it was
    assert emulator.events() == []  # no LogUnsubEvent: a list change is not an unsubscribe from the email
    back = record_and_deliver(on("demo-001"))
    assert back.state is State.DELIVERED  # "delivered" = resubscribed
    assert emulator.membership("demo-001", PRODUCT_NEWS_LIST) == "Active"
    assert statuses(emulator, "demo-001") == ["Unsubscribed", "Active"]
    # Ticking a list the person had left: Events for demo-011.
    assert record_and_deliver(on("demo-011", EVENTS_LIST)).state is State.DELIVERED
    assert emulator.membership("demo-011", EVENTS_LIST) == "Active"


def test_a_save_is_one_execute_and_one_update_call(app: Flask, emulator: Any) -> None:
    before = calls(emulator)
    save = [
        request_for("demo-002", NEWSLETTER),  # the email's own list: LogUnsubEvent with the job
        off("demo-002", PRODUCT_NEWS_LIST),
        off("demo-002", EVENTS_LIST),
    ]
    entries = record_and_deliver_many(save)
    assert [e.state for e in entries] == [State.DELIVERED] * 3
    after = calls(emulator)
    assert {k: after[k] - before[k] for k in after} == {"execute": 1, "update": 1, "objects": 2}
    assert [(e["subscriber_key"], e["job_id"]) for e in emulator.events()] == [("demo-002", "18099")]
    assert [emulator.membership("demo-002", i) for i in ("17914", PRODUCT_NEWS_LIST, EVENTS_LIST)] == [
        "Unsubscribed"
    ] * 3


@pytest.mark.parametrize(
    ("request_", "code", "words"),
    [
        (off("demo-003", "99999"), 13000, "List Not Found"),
        (off("demo-003", "27914"), 13000, "List Not Found"),  # the child unit's list, for a parent person
        (off("demo-003", "1000"), 13012, "List Cannot Be Updated"),  # All Subscribers: not a list change
        (off("nobody-at-all"), 12001, "SubscriberNotFound"),
    ],
    ids=["unknown-list", "other-units-list", "all-subscribers", "unknown-subscriber"],
)
def test_marketing_clouds_refusals_are_rejected_with_its_words(
    app: Flask, emulator: Any, request_: UnsubscribeRequest, code: int, words: str
) -> None:
    entry = record_and_deliver(request_)
    assert (entry.state, entry.error_code) == (State.REJECTED, code)
    assert words in entry.last_error
    assert emulator.updates() == []


def test_a_change_that_cannot_be_sent_is_rejected_without_a_call(app: Flask, emulator: Any) -> None:
    before = calls(emulator)
    no_key = record_and_deliver(off("", subscriber_key="", email="demo004@example.com"))
    not_a_number = record_and_deliver(off("demo-004", "17920-x"))
    assert [(e.state, e.error_code) for e in (no_key, not_a_number)] == [(State.REJECTED, None)] * 2
    assert "not sent" in no_key.last_error and "SubscriberKey" in no_key.last_error
    assert calls(emulator) == before


def test_unsubscribe_resubscribe_unsubscribe_made_while_down_arrive_in_that_order(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    """Acceptance 2 of issue 12: Marketing Cloud down (every call faulted), a person changes one list
    three times and another list once; when it is back, the worker delivers all, in order."""
    app = make_app(INLINE_DELIVERY_BUDGET="0.5")
    with app.app_context():
        emulator.faults(error_rate=1.0, errors=["outage"])
        made = [
            record_and_deliver(off("demo-005")),
            record_and_deliver(on("demo-005")),
            record_and_deliver(off("demo-005")),
            record_and_deliver(on("demo-005", EVENTS_LIST)),
            record_and_deliver(off("demo-006")),
        ]
        assert [e.state for e in made] == [State.PENDING] * 5
        assert len({e.id for e in made}) == 5
        assert emulator.updates() == []
        emulator.faults()
        assert wait_until(
            lambda: (
                get_delivery().deliver_due() is not None and get_journal().counts_by_state()["pending"] == 0
            ),
            timeout=20,
        )
        assert [get_journal().get(e.id).state for e in made] == [State.DELIVERED] * 5
    assert statuses(emulator, "demo-005") == ["Unsubscribed", "Active", "Unsubscribed"]
    assert statuses(emulator, "demo-005", EVENTS_LIST) == ["Active"]
    assert emulator.membership("demo-005", PRODUCT_NEWS_LIST) == "Unsubscribed"  # the last change won
    assert statuses(emulator, "demo-006") == ["Unsubscribed"]


def test_an_undo_of_the_emails_own_list_then_a_new_unsubscribe_keep_their_order(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    """The result page's undo resubscribes the email's own list (Update), then the person unsubscribes
    again from the email (LogUnsubEvent): two kinds of call, one line, the last one wins."""
    app = make_app(INLINE_DELIVERY_BUDGET="0.5")
    with app.app_context():
        emulator.faults(error_rate=1.0, errors=["outage"])
        first = record_and_deliver(request_for("demo-007", NEWSLETTER))
        undo = record_and_deliver(on("demo-007", NEWSLETTER["list_id"]))
        again = record_and_deliver(request_for("demo-007", NEWSLETTER))
        assert len({first.id, undo.id, again.id}) == 3
        emulator.faults()
        assert wait_until(
            lambda: (
                get_delivery().deliver_due() is not None and get_journal().counts_by_state()["pending"] == 0
            ),
            timeout=20,
        )
        states = [get_journal().get(e.id) for e in (first, undo, again)]
    assert [e.state for e in states] == [State.DELIVERED, State.DELIVERED, State.DELIVERED]
    assert statuses(emulator, "demo-007", "17914") == ["Active"]
    assert len(emulator.events()) == 2
    assert emulator.membership("demo-007", "17914") == "Unsubscribed"


def test_after_a_failed_call_an_attempt_sends_nothing_more(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    app = make_app()
    with app.app_context():
        emulator.faults(error_rate=1.0, errors=["outage"])
        soap_before = emulator.state()["stats"]["soap_calls"]
        entries = record_and_deliver_many(
            [off("demo-008"), request_for("demo-008", NEWSLETTER), on("demo-008")]
        )
        assert [e.state for e in entries] == [State.PENDING] * 3
        # The Update failed as a whole: the Execute and the second Update were not tried, and not counted.
        assert emulator.state()["stats"]["soap_calls"] - soap_before == 1
        assert [e.attempts for e in entries] == [1, 0, 0]
        assert all(e.claimed_by is None for e in entries)


def test_the_worker_batches_list_changes_per_call(make_app: Callable[..., Flask], emulator: Any) -> None:
    app = make_app(DELIVERY_BATCH_SIZE="7")
    journal = app.extensions["journal"]
    for key in PARENT_ACTIVE:  # 20 people, two changes each: heads first, then the second changes
        journal.record(off(key))
        journal.record(off(key, "17914"))
    before = calls(emulator)
    with app.app_context():
        report = get_delivery().deliver_due()
    after = calls(emulator)
    assert (after["update"] - before["update"], after["objects"] - before["objects"]) == (6, 40)
    assert report.calls == 6 and report.outcomes == {"delivered": 40}
    for key in PARENT_ACTIVE:
        assert [u["list_id"] for u in emulator.updates() if u["subscriber_key"] == key] == ["17920", "17914"]


def test_a_marketers_reason_label_reaches_marketing_clouds_report(app: Flask, emulator: Any) -> None:
    entry = record_and_deliver(
        request_for("demo-009", NEWSLETTER, reason_code="moved", reason_label="Moved to another country")
    )
    assert entry.state is State.DELIVERED
    (event,) = emulator.events()
    assert event["reason"] == "Profile Center: Moved to another country"
