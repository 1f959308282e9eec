"""The preference soak's figures and its verdict (``bench.soak_preferences`` prints and exits on it;
``tests/soak/test_prefs_verdict.py`` proves every gate can fail).

A person's changes of one list alternate (``Unsubscribed``, ``Active``, ``Unsubscribed``, …), so the order
they reached Marketing Cloud in is plain to check: the statuses the emulator's Updates set for that person
and list (``updates``, in the order processed), with consecutive repeats folded (a call answered too late
is sent again: the same status twice in a row, counted by the journal as a possible duplicate), must be
exactly the person's acknowledged changes; the journal's entries of that person and list, in id order,
too. The membership Marketing Cloud ends with must be the last change. The manage page's result page
names no journal entry, so a change counts as lost unless its run of the journal's entries (a save sent
again after a lost answer is journaled twice: the same status twice in a row) holds one that reached
Marketing Cloud.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

Key = tuple[str, str]  # (subscriber key, list ID)
STATUS_OF_ACTION = {"list_unsubscribe": "Unsubscribed", "list_resubscribe": "Active"}
#: Journal states of an entry Marketing Cloud has applied ("already": it was so already).
REACHED = {"delivered", "already"}


def folded(statuses: Iterable[str]) -> list[str]:
    """``statuses`` without consecutive repeats."""
    out: list[str] = []
    for status in statuses:
        if not out or out[-1] != status:
            out.append(status)
    return out


@dataclass
class OrderFigures:
    """How the acknowledged changes compare with what the journal and Marketing Cloud hold."""

    changes: int = 0
    lost: int = 0  # acknowledged, but not in the journal or not delivered
    wrong_final: int = 0  # the membership Marketing Cloud ends with is not the last change
    out_of_order: int = 0  # Marketing Cloud's sequence of statuses is not the changes' sequence
    journal_out_of_order: int = 0  # the journal's entries are not the changes' sequence
    examples: list[str] = field(default_factory=list)

    def _bad(self, what: str, key: Key, detail: Any) -> None:
        if len(self.examples) < 5:
            self.examples.append(f"{what} {key[0]}/{key[1]}: {detail}")


def _lost(statuses: list[str], entries: list[tuple[str, str]]) -> int:
    """Changes of ``statuses`` (alternating, as the soak plans them) whose run of journal ``entries``
    ((status, state), in id order) is missing or holds no entry that reached Marketing Cloud."""
    runs = [(status, {state for _, state in run}) for status, run in groupby(entries, key=lambda e: e[0])]
    lost = 0
    for n, status in enumerate(statuses):
        if n >= len(runs) or runs[n][0] != status or not runs[n][1] & REACHED:
            lost += 1
    return lost


def judge_order(
    intended: Mapping[Key, list[str]],
    rows: Iterable[Mapping[str, Any]],
    state: Mapping[str, Any],
) -> OrderFigures:
    """Compare each (person, list)'s acknowledged changes with the journal's export ``rows`` and the
    emulator's ``state`` (its ``updates`` and ``memberships``)."""
    figures = OrderFigures()
    entries: dict[Key, list[tuple[str, str]]] = {}
    for row in sorted(rows, key=lambda r: int(r["id"])):
        if row.get("action") in STATUS_OF_ACTION:
            key = (row["subscriber_key"], row["target_list_id"])
            entries.setdefault(key, []).append((STATUS_OF_ACTION[row["action"]], row["state"]))
    journal = {key: [status for status, _ in found] for key, found in entries.items()}
    applied: dict[Key, list[str]] = {}
    for update in state.get("updates", []):
        applied.setdefault((update["subscriber_key"], update["list_id"]), []).append(update["status"])
    final = {(m["subscriber_key"], m["list_id"]): m["status"] for m in state.get("memberships", [])}
    for key, statuses in intended.items():
        figures.changes += len(statuses)
        lost = _lost(statuses, entries.get(key, []))
        if lost:
            figures.lost += lost
            figures._bad("lost", key, f"{lost} of {statuses}; journal {entries.get(key, [])}")
        if final.get(key) != statuses[-1]:
            figures.wrong_final += 1
            figures._bad("final", key, f"{final.get(key)} after {statuses}")
        if folded(applied.get(key, [])) != folded(statuses):
            figures.out_of_order += 1
            figures._bad("Marketing Cloud order", key, f"{applied.get(key, [])} for {statuses}")
        if folded(journal.get(key, [])) != folded(statuses):
            figures.journal_out_of_order += 1
            figures._bad("journal order", key, f"{journal.get(key, [])} for {statuses}")
    return figures


@dataclass
class PrefsReport:
    """Everything a finished preference soak hands to the verdict."""

    db: str
    people: int
    saves_planned: int
    saves_acknowledged: int
    order: OrderFigures
    unclear_5xx: int = 0  # any 5xx but the clear 503 "try again" (the journal could not be written)
    try_again_503: int = 0
    connection_errors: int = 0
    refused: int = 0
    given_up: int = 0
    kills_asked: int = 0
    app_kills: int = 0
    worker_kills: int = 0
    died_by_themselves: dict[str, int] = field(default_factory=dict)
    soap_calls_under_faults: int = 0
    faults_under_faults: int = 0
    #: Calls Marketing Cloud processed while down that drew no fault (processed calls minus the ``timeout``
    #: faults, which are processed and answered too late): must be 0.
    calls_through_while_down: int = 0
    journal_states: dict[str, int] = field(default_factory=dict)
    possible_duplicates: int = 0
    load_seconds: float = 0.0
    drain_seconds: float = 0.0

    def lines(self) -> list[str]:
        """The figures, one per line, for people reading the run."""
        order = self.order
        return [
            f"database                 {self.db}",
            f"people / saves planned   {self.people} / {self.saves_planned}",
            f"saves acknowledged       {self.saves_acknowledged}   ({order.changes} list changes)",
            f"lost                     {order.lost}",
            f"final membership wrong   {order.wrong_final}",
            f"out of order in MC       {order.out_of_order}",
            f"out of order in journal  {order.journal_out_of_order}",
            f"examples                 {order.examples}",
            f"503 'try again' (retried) {self.try_again_503}; other 5xx {self.unclear_5xx}",
            f"connection errors        {self.connection_errors}   (while the app was killed; retried)",
            f"refused / given up       {self.refused} / {self.given_up}",
            f"SIGKILLs app / worker    {self.app_kills} / {self.worker_kills}   "
            f"(asked {self.kills_asked} each)",
            f"died by themselves       {self.died_by_themselves}",
            f"MC down: faults          {self.faults_under_faults} in {self.soap_calls_under_faults} calls; "
            f"{self.calls_through_while_down} got through",
            f"journal after the drain  {self.journal_states}   "
            f"possible duplicates {self.possible_duplicates}",
            f"load / drain             {self.load_seconds:.0f} s / {self.drain_seconds:.0f} s",
        ]


def verdict(report: PrefsReport) -> list[str]:
    """Why the run failed; empty when it passed."""
    order = report.order
    failures: list[str] = []
    if report.saves_acknowledged == 0:
        failures.append("no save was acknowledged")
    if order.lost:
        failures.append(f"{order.lost} acknowledged changes lost (not journaled, or not delivered)")
    if order.wrong_final:
        failures.append(
            f"{order.wrong_final} memberships in Marketing Cloud are not the person's last change"
        )
    if order.out_of_order:
        failures.append(f"{order.out_of_order} person/list sequences reached Marketing Cloud out of order")
    if order.journal_out_of_order:
        failures.append(f"{order.journal_out_of_order} person/list sequences were journaled out of order")
    if report.unclear_5xx:
        failures.append(f"{report.unclear_5xx} 5xx answers other than a clear 503 'try again'")
    if report.refused or report.given_up:
        failures.append(f"{report.refused} saves refused and {report.given_up} people gave up")
    for state in ("pending", "dead", "rejected"):
        if report.journal_states.get(state):
            failures.append(f"{report.journal_states[state]} entries {state} after the drain")
    if report.app_kills < report.kills_asked or report.worker_kills < report.kills_asked:
        failures.append("fewer kills than asked")
    if report.died_by_themselves:
        failures.append(f"processes died without being killed: {report.died_by_themselves}")
    if not report.faults_under_faults:
        failures.append("Marketing Cloud was never called while it was down")
    if report.calls_through_while_down > 0:
        failures.append(f"{report.calls_through_while_down} calls got through while Marketing Cloud was down")
    return failures
