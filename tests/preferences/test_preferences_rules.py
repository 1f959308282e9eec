"""The manage page's rules as plain functions: which changes a form makes, the read budget, the signed
state it carries, what each journal state says, and what "all email" covers per unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from app.identity import Recipient
from app.journal.models import JournalEntry, Scope, State, UnsubscribeRequest
from app.preferences.budget import ReadBudget
from app.preferences.changes import changes_between
from app.preferences.forms import ManageForm, ResubscribeForm
from app.preferences.outcomes import ChangeOutcome, headline, landing_undo, outcome_of, results_of
from app.preferences.shown import ShownStateError, read_shown, sign_shown
from app.preferences.units import UnitBehaviors
from app.preferences.values import Change, ChangeKind, OfferedList
from app.sfmc.errors import SfmcTransientError
from config import ConfigError, load_config

NEWSLETTER = OfferedList("17914", "Newsletter", subscribed=True, is_email_list=True)
PRODUCT_NEWS = OfferedList("17920", "Product news", subscribed=True)
OFFERS = OfferedList("17930", "Weekly offers", subscribed=False)
SHOWN = (NEWSLETTER, PRODUCT_NEWS, OFFERS)
KEY = "manage-test-key-0123456789abcdef"


@pytest.mark.parametrize(
    ("ticked", "expected"),
    [
        ({"17914", "17920"}, []),  # as shown: nothing is sent
        ({"17914"}, [(ChangeKind.LIST_UNSUBSCRIBE, "17920")]),
        ({"17920"}, [(ChangeKind.EMAIL_LIST_UNSUBSCRIBE, "17914")]),  # the email's own list: LogUnsubEvent
        ({"17914", "17920", "17930"}, [(ChangeKind.LIST_RESUBSCRIBE, "17930")]),
        (set(), [(ChangeKind.EMAIL_LIST_UNSUBSCRIBE, "17914"), (ChangeKind.LIST_UNSUBSCRIBE, "17920")]),
        ({"17914", "17920", "99999"}, []),  # a list the page did not show is ignored
        (
            {"17930"},
            [
                (k, i)
                for k, i in [
                    (ChangeKind.EMAIL_LIST_UNSUBSCRIBE, "17914"),
                    (ChangeKind.LIST_UNSUBSCRIBE, "17920"),
                    (ChangeKind.LIST_RESUBSCRIBE, "17930"),
                ]
            ],
        ),
    ],
)
def test_only_boxes_changed_from_what_was_shown_become_changes(ticked: set[str], expected: list) -> None:
    changes = changes_between(SHOWN, ticked)
    assert [(change.kind, change.list_id) for change in changes] == expected
    assert all(change.list_name for change in changes)


def test_the_read_budget_allows_a_burst_then_its_rate() -> None:
    now = [100.0]
    budget = ReadBudget(rate=2.0, burst=3, clock=lambda: now[0])
    assert [budget.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5  # one token back at 2 per second
    assert [budget.take(), budget.take()] == [True, False]
    now[0] += 60  # never more than the burst
    assert sum(budget.take() for _ in range(10)) == 3


def test_the_shown_state_comes_back_only_for_its_own_link_and_unchanged() -> None:
    signed = sign_shown(SHOWN, "token-a", [KEY])
    assert read_shown(signed, "token-a", [KEY]) == (
        OfferedList("17914", "Newsletter", subscribed=True, is_email_list=True),
        OfferedList("17920", "Product news", subscribed=True),
        OfferedList("17930", "Weekly offers", subscribed=False),
    )
    assert read_shown(signed, "token-a", ["new-key-0123456789abcdef", KEY])  # a rotated key still reads
    for value, token in ((signed, "token-b"), (signed[:-2] + "xx", "token-a"), ("", "token-a")):
        with pytest.raises(ShownStateError):
            read_shown(value, token, [KEY])
    with pytest.raises(ShownStateError):
        read_shown(signed, "token-a", ["another-key-0123456789abcdef"])


def test_the_form_reads_ticked_boxes_and_the_resubscribe_button_needs_a_list_id() -> None:
    form = ManageForm.for_lists(MultiDict([("lists", "17914"), ("lists", "x"), ("shown", "s")]), SHOWN)
    assert form.ticked == {"17914", "x"}
    assert changes_between(SHOWN, form.ticked) == [
        Change(ChangeKind.LIST_UNSUBSCRIBE, "17920", "Product news")
    ]
    fresh = ManageForm.for_lists(None, SHOWN)
    assert [fresh.is_ticked(item.list_id) for item in SHOWN] == [True, True, False]
    assert ResubscribeForm(MultiDict({"resubscribe": "17920"})).validate()
    for bad in ("", "0", "17920; DROP", "1" * 19, "-1"):
        assert not ResubscribeForm(MultiDict({"resubscribe": bad})).validate(), bad


def _entry(state: State, error_code: int | None = None, scope: Scope = Scope.LIST) -> JournalEntry:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    request = UnsubscribeRequest(Recipient(subscriber_key="demo-001", list_id="17914"), scope=scope)
    return JournalEntry(1, request, state, 1, now, now, None, None, error_code, None, None)


@pytest.mark.parametrize(
    ("kind", "state", "code", "expected"),
    [
        (ChangeKind.LIST_UNSUBSCRIBE, State.DELIVERED, None, ChangeOutcome.DONE),
        (ChangeKind.LIST_UNSUBSCRIBE, State.ALREADY, None, ChangeOutcome.ALREADY),
        (ChangeKind.LIST_UNSUBSCRIBE, State.PENDING, None, ChangeOutcome.PROCESSING),
        (ChangeKind.LIST_UNSUBSCRIBE, State.DEAD, None, ChangeOutcome.STALLED),
        (ChangeKind.LIST_UNSUBSCRIBE, State.REJECTED, 13007, ChangeOutcome.NOT_FOUND),
        (ChangeKind.LIST_RESUBSCRIBE, State.REJECTED, 12012, ChangeOutcome.BLOCKED_BY_ALL),
        (ChangeKind.LIST_RESUBSCRIBE, State.REJECTED, 13000, ChangeOutcome.NOT_FOUND),
        (ChangeKind.LIST_RESUBSCRIBE, State.DELIVERED, None, ChangeOutcome.DONE),
    ],
)
def test_each_journal_state_has_one_truthful_outcome(kind, state, code, expected) -> None:
    assert outcome_of(Change(kind, "17920"), _entry(state, code)) == expected


def test_the_result_offers_subscribe_again_only_for_list_unsubscribes_that_went_through() -> None:
    changes = [
        Change(ChangeKind.LIST_UNSUBSCRIBE, "17920", "Product news"),
        Change(ChangeKind.EMAIL_LIST_UNSUBSCRIBE, "17914", "Newsletter"),
        Change(ChangeKind.LIST_RESUBSCRIBE, "17930", "Weekly offers"),
        Change(ChangeKind.ALL),
    ]
    entries = [
        _entry(State.DELIVERED),
        _entry(State.PENDING),
        _entry(State.DELIVERED),
        _entry(State.DELIVERED),
    ]
    results = results_of(changes, entries)
    assert [result.undo for result in results] == [True, True, False, False]
    assert headline(results) == "processing"
    assert headline(results[:1]) == "saved"
    assert headline(results_of(changes[:1], [_entry(State.REJECTED, 400)])) == "problem"
    assert landing_undo(_entry(State.DELIVERED), "/manage?t=x", "Newsletter") == {
        "action": "/manage?t=x",
        "list_id": "17914",
        "list_name": "Newsletter",
    }
    assert landing_undo(_entry(State.REJECTED, 400), "/manage?t=x", None) is None
    assert landing_undo(_entry(State.DELIVERED, scope=Scope.ALL), "/manage?t=x", None) is None


@dataclass
class _Unit:
    master_unsubscribe_behavior: str | None


class _UnitsClient:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls: list[int | None] = []

    def retrieve_business_unit(self, mid: int | None, *, timeout: float) -> Any:
        self.calls.append(mid)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_what_all_email_covers_is_read_once_per_unit_and_falls_back_when_marketing_cloud_fails() -> None:
    now = [0.0]
    client = _UnitsClient(
        [
            _Unit("ENTIRE_ENTERPRISE"),
            SfmcTransientError("down", maybe_sent=False),
            _Unit("BUSINESS_UNIT_ONLY"),
        ]
    )
    units = UnitBehaviors(
        lambda: client, {510001001: "BUSINESS_UNIT_ONLY"}, keep_seconds=3600, clock=lambda: now[0]
    )
    assert units.covers_every_brand(510001000, timeout=1) is True
    assert units.covers_every_brand(510001000, timeout=1) is True
    assert units.covers_every_brand(510001001, timeout=1) is False  # failed: the setting answers
    assert units.covers_every_brand(510001001, timeout=1) is False  # and no second call for a minute
    assert client.calls == [510001000, 510001001]
    now[0] += 61
    assert units.covers_every_brand(510001001, timeout=1) is False
    assert client.calls == [510001000, 510001001, 510001001]
    assert UnitBehaviors(lambda: _UnitsClient([_Unit(None)]), {}).covers_every_brand(None, timeout=1) is None


def test_the_settings_of_the_manage_page_are_checked_at_start() -> None:
    base = {
        "SFMC_AUTH_URL": "https://a.example",
        "SFMC_CLIENT_ID": "i",
        "SFMC_CLIENT_SECRET": "s",
        "LINK_SIGNING_KEYS": KEY,
    }
    loaded = load_config(
        {
            **base,
            "PREFERENCE_LISTS": "510001000:17920, 510001000:17930,510001001:27920",
            "SFMC_MASTER_UNSUBSCRIBE_BEHAVIOR": "510001000:entire_enterprise",
        }
    )
    assert loaded["PREFERENCE_LISTS"] == ("510001000:17920", "510001000:17930", "510001001:27920")
    assert loaded["SFMC_MASTER_UNSUBSCRIBE_BEHAVIOR"] == ("510001000:ENTIRE_ENTERPRISE",)
    for name, value in (
        ("PREFERENCE_LISTS", "17920"),
        ("SFMC_MASTER_UNSUBSCRIBE_BEHAVIOR", "510001000:ALL"),
        ("MANAGE_READ_RATE", "0"),
        ("MANAGE_READ_BURST", "0"),
    ):
        with pytest.raises(ConfigError, match=name):
            load_config({**base, name: value})
