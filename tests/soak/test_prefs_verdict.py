"""The preference soak's verdict can fail: each way a run can go wrong, fed to the function
``bench.soak_preferences`` uses, and the order check on raw journal rows and emulator state."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench._prefs_verdict import OrderFigures, PrefsReport, folded, judge_order, verdict

OFF, ON = "Unsubscribed", "Active"


def good_run(**changes: object) -> PrefsReport:
    report = PrefsReport(
        db="sqlite",
        people=40,
        saves_planned=160,
        saves_acknowledged=160,
        order=OrderFigures(changes=210),
        connection_errors=30,
        kills_asked=1,
        app_kills=1,
        worker_kills=1,
        soap_calls_under_faults=150,
        faults_under_faults=150,
        journal_states={"pending": 0, "delivered": 210, "already": 0, "rejected": 0, "dead": 0},
        possible_duplicates=90,
    )
    return replace(report, **changes)


def test_a_good_run_passes() -> None:
    assert verdict(good_run()) == []


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"saves_acknowledged": 0}, "no save was acknowledged"),
        ({"order": OrderFigures(changes=210, lost=1)}, "lost"),
        ({"order": OrderFigures(changes=210, wrong_final=2)}, "not the person's last change"),
        ({"order": OrderFigures(changes=210, out_of_order=1)}, "reached Marketing Cloud out of order"),
        ({"order": OrderFigures(changes=210, journal_out_of_order=1)}, "journaled out of order"),
        ({"unclear_5xx": 1}, "other than a clear 503"),
        ({"refused": 1}, "refused"),
        ({"given_up": 1}, "gave up"),
        ({"journal_states": {"pending": 3}}, "pending after the drain"),
        ({"journal_states": {"dead": 1}}, "dead after the drain"),
        ({"journal_states": {"rejected": 1}}, "rejected after the drain"),
        ({"app_kills": 0}, "fewer kills"),
        ({"worker_kills": 0}, "fewer kills"),
        ({"died_by_themselves": {"worker exit 1": 1}}, "died without being killed"),
        ({"calls_through_while_down": 1}, "got through while Marketing Cloud was down"),
        ({"soap_calls_under_faults": 0, "faults_under_faults": 0}, "never called while it was down"),
    ],
)
def test_each_broken_figure_fails_the_run(changes: dict, named: str) -> None:
    failures = verdict(good_run(**changes))
    assert len(failures) == 1, failures
    assert named in failures[0]


def rows(*entries: tuple[int, str, str, str, str]) -> list[dict[str, str]]:
    return [
        {"id": str(i), "subscriber_key": key, "target_list_id": lst, "action": action, "state": state}
        for i, key, lst, action, state in entries
    ]


def state(updates: list[tuple[str, str, str]], final: dict[tuple[str, str], str]) -> dict:
    return {
        "updates": [{"subscriber_key": k, "list_id": lst, "status": s} for k, lst, s in updates],
        "memberships": [{"subscriber_key": k, "list_id": lst, "status": s} for (k, lst), s in final.items()],
    }


INTENDED = {("a", "1"): [OFF, ON, OFF]}
JOURNAL = rows(
    (1, "a", "1", "list_unsubscribe", "delivered"),
    (2, "a", "1", "list_resubscribe", "delivered"),
    (3, "a", "1", "list_unsubscribe", "delivered"),
)


def test_in_order_with_a_repeated_call_is_judged_right() -> None:
    # The first Update was answered too late and sent again: the same status twice in a row is no fault.
    mc = state([("a", "1", OFF), ("a", "1", OFF), ("a", "1", ON), ("a", "1", OFF)], {("a", "1"): OFF})
    figures = judge_order(INTENDED, JOURNAL, mc)
    assert (figures.changes, figures.lost, figures.wrong_final, figures.out_of_order) == (3, 0, 0, 0)
    assert figures.journal_out_of_order == 0


def test_swapped_changes_a_lost_one_and_a_wrong_end_are_each_found() -> None:
    swapped = state([("a", "1", ON), ("a", "1", OFF), ("a", "1", OFF)], {("a", "1"): OFF})
    assert judge_order(INTENDED, JOURNAL, swapped).out_of_order == 1
    wrong_end = state([("a", "1", OFF), ("a", "1", ON), ("a", "1", OFF), ("a", "1", ON)], {("a", "1"): ON})
    figures = judge_order(INTENDED, JOURNAL, wrong_end)
    assert (figures.wrong_final, figures.out_of_order) == (1, 1)
    undelivered = [*JOURNAL[:2], {**JOURNAL[2], "state": "pending"}]
    ok = state([("a", "1", OFF), ("a", "1", ON), ("a", "1", OFF)], {("a", "1"): OFF})
    assert judge_order(INTENDED, undelivered, ok).lost == 1
    assert judge_order(INTENDED, JOURNAL[:2], ok).lost == 1  # acknowledged, not journaled
    # A save sent again after its answer was lost is journaled twice: one delivered copy is enough.
    assert (
        judge_order(
            INTENDED,
            rows(
                (1, "a", "1", "list_unsubscribe", "pending"),
                (2, "a", "1", "list_unsubscribe", "delivered"),
                (3, "a", "1", "list_resubscribe", "delivered"),
                (4, "a", "1", "list_unsubscribe", "already"),
            ),
            ok,
        ).lost
        == 0
    )
    assert judge_order(INTENDED, [JOURNAL[1], JOURNAL[0], JOURNAL[2]], ok).journal_out_of_order == 0
    reordered = rows(
        (1, "a", "1", "list_resubscribe", "delivered"),
        (2, "a", "1", "list_unsubscribe", "delivered"),
        (3, "a", "1", "list_unsubscribe", "delivered"),
    )
    assert judge_order(INTENDED, reordered, ok).journal_out_of_order == 1


def test_folding_keeps_changes_and_drops_repeats() -> None:
    assert folded([OFF, OFF, ON, ON, OFF]) == [OFF, ON, OFF]
    assert folded([]) == []
