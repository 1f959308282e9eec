"""From the boxes the page showed and the boxes the person sent back to the changes to journal.

Pure functions. Only a real change becomes a ``Change``: a box left as it was shown sends nothing, and a
list the page did not show (a tampered or stale form) is ignored, never journaled.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from .values import Change, ChangeKind, OfferedList


def changes_between(shown: Iterable[OfferedList], ticked: Collection[str]) -> list[Change]:
    """One ``Change`` per list whose box the person changed, in the page's order.

    ``shown`` is what the page showed (each list with its state then), ``ticked`` the list IDs whose box
    came back ticked (an unticked checkbox is not sent at all).
    """
    changes = []
    for offered in shown:
        ticked_now = offered.list_id in ticked
        if offered.subscribed and not ticked_now:
            kind = ChangeKind.EMAIL_LIST_UNSUBSCRIBE if offered.is_email_list else ChangeKind.LIST_UNSUBSCRIBE
        elif not offered.subscribed and ticked_now:
            kind = ChangeKind.LIST_RESUBSCRIBE
        else:
            continue
        changes.append(Change(kind, offered.list_id, offered.name))
    return changes


def resubscribe(list_id: str, list_name: str | None) -> Change:
    """The "subscribe to this list again" button of a result page: one list back to Active."""
    return Change(ChangeKind.LIST_RESUBSCRIBE, list_id, list_name)


def unsubscribe_from_all() -> Change:
    """The manage page's separate "unsubscribe from all email" button."""
    return Change(ChangeKind.ALL)
