"""What the result pages say about each journaled change, and which of them offer "subscribe again".

The same states as the landing form's result (done / already / processing / stalled / not found), one per
change, plus one that only a "subscribe again" can meet: Marketing Cloud refused it because the person is
unsubscribed from all email (12003 / 12012), which no list box can lift — the page says so plainly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.journal.models import JournalEntry, Scope, State

from .values import Change, ChangeKind

#: Marketing Cloud's codes for "this person is on the global / master unsubscribe list".
UNSUBSCRIBED_EVERYWHERE_CODES = frozenset({12003, 12012})


class ChangeOutcome(StrEnum):
    """What a result page can truthfully say about one change."""

    DONE = "done"
    ALREADY = "already"
    PROCESSING = "processing"
    STALLED = "stalled"
    NOT_FOUND = "not_found"
    BLOCKED_BY_ALL = "blocked_by_all"


def outcome_of(change: Change, entry: JournalEntry) -> ChangeOutcome:
    """The outcome of ``change`` from its journal entry's state after the inline attempt."""
    if entry.state is State.DELIVERED:
        return ChangeOutcome.DONE
    if entry.state is State.ALREADY:
        return ChangeOutcome.ALREADY
    if entry.state is State.DEAD:
        return ChangeOutcome.STALLED
    if entry.state is State.REJECTED:
        if change.kind is ChangeKind.LIST_RESUBSCRIBE and entry.error_code in UNSUBSCRIBED_EVERYWHERE_CODES:
            return ChangeOutcome.BLOCKED_BY_ALL
        return ChangeOutcome.NOT_FOUND
    return ChangeOutcome.PROCESSING


@dataclass(frozen=True)
class ChangeResult:
    """One line of the result page: the change, what became of it, and whether "subscribe again" fits."""

    kind: str
    list_id: str | None
    list_name: str | None
    outcome: str

    @property
    def undo(self) -> bool:
        """A list unsubscribe that went through (or is on its way) can be taken back with one button."""
        return (
            self.kind in (ChangeKind.LIST_UNSUBSCRIBE, ChangeKind.EMAIL_LIST_UNSUBSCRIBE)
            and self.outcome in (ChangeOutcome.DONE, ChangeOutcome.PROCESSING)
            and self.list_id is not None
        )


def results_of(changes: Sequence[Change], entries: Sequence[JournalEntry]) -> list[ChangeResult]:
    """The result page's lines, one per change, in the order the person saw the lists."""
    return [
        ChangeResult(str(change.kind), change.list_id, change.list_name, str(outcome_of(change, entry)))
        for change, entry in zip(changes, entries, strict=True)
    ]


def headline(results: Sequence[ChangeResult]) -> str:
    """The result page's heading: every change done (``saved``), some on their way (``processing``),
    or some that could not be made (``problem``)."""
    outcomes = {result.outcome for result in results}
    if outcomes & {ChangeOutcome.NOT_FOUND, ChangeOutcome.BLOCKED_BY_ALL, ChangeOutcome.STALLED}:
        return "problem"
    if ChangeOutcome.PROCESSING in outcomes:
        return "processing"
    return "saved"


def landing_undo(entry: JournalEntry, action: str | None, list_name: str | None) -> dict[str, object] | None:
    """``undo`` for the landing form's result page (contract D): after an "only this list" unsubscribe
    that went through or is on its way, a POST to the manage page with ``resubscribe`` = that list."""
    list_id = entry.request.recipient.list_id
    if action is None or not list_id or entry.request.scope is not Scope.LIST:
        return None
    if entry.state not in (State.DELIVERED, State.PENDING):
        return None
    return {"action": action, "list_id": list_id, "list_name": list_name}
