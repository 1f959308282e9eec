"""The changes of the manage page as journal requests, and the one journal call that records them.

The mapping (docs/pages.md, "Manage page"): the email's own list → a LogUnsubEvent with the link's job
context, as the landing form sends it (the UnsubEvent stays tracked against the job); any other list →
a Subscriber Update of that list (``Action.LIST_UNSUBSCRIBE``); a list ticked again or "subscribe again"
→ ``Action.LIST_RESUBSCRIBE``; "all email" → a LogUnsubEvent for all (scope ALL), which Marketing Cloud
applies as the unit's MasterUnsubscribeBehavior says. ``recipient.list_id`` always stays the email's own
list; the list a change concerns is ``target_list_id``.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.identity import Recipient
from app.journal import record_and_deliver_many
from app.journal.models import Action, JournalEntry, Scope, Source, UnsubscribeRequest

from .values import Change, ChangeKind


def request_for(change: Change, recipient: Recipient, language: str | None) -> UnsubscribeRequest:
    """What the journal records for one change of the person identified by the signed link."""
    if change.kind is ChangeKind.ALL:
        return UnsubscribeRequest(recipient, scope=Scope.ALL, language=language, source=Source.FORM)
    if change.kind is ChangeKind.EMAIL_LIST_UNSUBSCRIBE:
        return UnsubscribeRequest(recipient, scope=Scope.LIST, language=language, source=Source.FORM)
    resubscribes = change.kind is ChangeKind.LIST_RESUBSCRIBE
    action = Action.LIST_RESUBSCRIBE if resubscribes else Action.LIST_UNSUBSCRIBE
    return UnsubscribeRequest(
        recipient,
        scope=Scope.LIST,
        language=language,
        source=Source.FORM,
        action=action,
        target_list_id=change.list_id,
    )


def record_changes(
    changes: Sequence[Change], recipient: Recipient, language: str | None
) -> list[JournalEntry]:
    """Journal every change in one commit, then deliver within the inline budget; one entry per change.

    Raises the journal's ``JournalError`` when nothing could be recorded (the views answer 503).
    """
    return record_and_deliver_many([request_for(change, recipient, language) for change in changes])
