"""The calls one delivery attempt makes for its claimed entries, in which order, and what each answered.

Unsubscribes go out as LogUnsubEvents in an Execute call, list changes as Subscriber objects in an Update
call (``SfmcClient.update_list_statuses``), at most ``limit`` per call. A person's entries keep their order
across the calls (head of line): an entry never goes in an earlier call than an older entry of its person,
and a call holds at most one entry per person and subscription (``keys.target_key``). No journal here:
``Delivery.attempt`` applies the answers, and holds back the entries whose older entry did not finish.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from app.sfmc.errors import SfmcProtocolError
from app.sfmc.models import OutcomeKind, UnsubOutcome

from .events import AllSubscribersLists, to_change, to_event
from .keys import person_key, target_key
from .models import JournalEntry


class CallKind(StrEnum):
    """Which Marketing Cloud call delivers an entry."""

    EXECUTE = "execute"  # LogUnsubEvent
    UPDATE = "update"  # Subscriber Update of one list's status


def call_kind(entry: JournalEntry) -> CallKind:
    """The call that delivers ``entry``: list changes by Update, unsubscribes by Execute."""
    return CallKind.UPDATE if entry.request.action.changes_a_list else CallKind.EXECUTE


def person_of(entry: JournalEntry) -> str:
    """The entry's person for ordering (an entry naming nobody is its own person)."""
    return person_key(entry.request) or f"entry:{entry.id}"


@dataclass
class PlannedCall:
    """One call of an attempt: its kind and its entries, in the order they are sent."""

    kind: CallKind
    entries: list[JournalEntry] = field(default_factory=list)
    _slots: set[tuple[str, str]] = field(default_factory=set)

    def takes(self, entry: JournalEntry, limit: int) -> bool:
        """True when ``entry`` may join this call: the same kind, room left, its subscription not in it."""
        slot = (person_of(entry), target_key(entry.request))
        return call_kind(entry) is self.kind and len(self.entries) < limit and slot not in self._slots

    def add(self, entry: JournalEntry) -> None:
        """Put ``entry`` at the end of this call."""
        self.entries.append(entry)
        self._slots.add((person_of(entry), target_key(entry.request)))


def plan_calls(entries: Sequence[JournalEntry], limit: int) -> list[PlannedCall]:
    """The calls for ``entries``, oldest entry first: each entry joins the first call that can take it
    and is not before the call of its person's previous entry (fewest calls, order kept per person)."""
    calls: list[PlannedCall] = []
    latest: dict[str, int] = {}  # person -> index of the call holding their latest entry so far
    for entry in sorted(entries, key=lambda e: e.id):
        start = latest.get(person_of(entry), 0)
        index = next((i for i in range(start, len(calls)) if calls[i].takes(entry, limit)), len(calls))
        if index == len(calls):
            calls.append(PlannedCall(call_kind(entry)))
        calls[index].add(entry)
        latest[person_of(entry)] = index
    return calls


@dataclass(frozen=True)
class CallAnswer:
    """Marketing Cloud's answer to one call: one outcome per entry, in the entries' order."""

    request_id: str | None
    outcomes: list[UnsubOutcome]


def send_call(
    client: Any, call: PlannedCall, *, all_subscribers: AllSubscribersLists | None = None
) -> CallAnswer:
    """Send ``call`` with ``client``; raises what the client raises for a whole-call failure.

    A list change that cannot be sent (no SubscriberKey, a list ID that is not a number) is answered
    REJECTED without being sent, as the client does for an unsendable LogUnsubEvent; the rest still go.
    """
    if call.kind is CallKind.EXECUTE:
        events = [to_event(entry.request, all_subscribers=all_subscribers) for entry in call.entries]
        result = client.log_unsub_events(events)
        return _matched(result.request_id, result.outcomes, len(events))
    changes = [to_change(entry.request) for entry in call.entries]
    sendable = [change for change in changes if not isinstance(change, str)]
    if not sendable:
        return CallAnswer(None, [_refused(str(change)) for change in changes])
    result = client.update_list_statuses(sendable)
    sent = iter(_matched(result.request_id, result.outcomes, len(sendable)).outcomes)
    outcomes = [_refused(change) if isinstance(change, str) else next(sent) for change in changes]
    return CallAnswer(result.request_id, outcomes)


def _matched(request_id: str | None, outcomes: list[UnsubOutcome], sent: int) -> CallAnswer:
    """The answer, if it has one outcome per object sent (otherwise nothing can be matched)."""
    if len(outcomes) != sent:
        raise SfmcProtocolError(f"{len(outcomes)} results for {sent} requests; cannot match by position")
    return CallAnswer(request_id, list(outcomes))


def _refused(why: str) -> UnsubOutcome:
    return UnsubOutcome(kind=OutcomeKind.REJECTED, meaning=f"not sent: {why}")
