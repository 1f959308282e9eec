"""The manage page's plain values: the lists it offers, what the person changed, what the page said.

No Flask, no I/O: the reader (``reading.py``) makes them from Marketing Cloud's answers, the mapping
(``changes.py``) turns a submitted form into ``Change``s, the views render them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ChangeKind(StrEnum):
    """One change the person made, as the journal will carry it (docs/pages.md, "Manage page")."""

    #: Unticked the list the email was sent to: a LogUnsubEvent with the link's job context, as the
    #: landing form sends it, so the UnsubEvent stays tracked against the job.
    EMAIL_LIST_UNSUBSCRIBE = "email_list_unsubscribe"
    #: Unticked any other list: a Subscriber Update of that list to Unsubscribed.
    LIST_UNSUBSCRIBE = "list_unsubscribe"
    #: Ticked a list again (or pressed "subscribe again"): a Subscriber Update of that list to Active.
    LIST_RESUBSCRIBE = "list_resubscribe"
    #: "Unsubscribe from all email": a LogUnsubEvent for all (master unsubscribe).
    ALL = "all"

    @property
    def unsubscribes(self) -> bool:
        """True for the changes that stop email (the ones a result page offers to undo, for a list)."""
        return self is not ChangeKind.LIST_RESUBSCRIBE


@dataclass(frozen=True)
class OfferedList:
    """One box of the manage page: a list the person is on, named, and whether they get its email."""

    list_id: str
    name: str
    description: str = ""
    subscribed: bool = True  # Active on the list, as Marketing Cloud said when the page was shown
    is_email_list: bool = False  # the list the email with this link was sent to


@dataclass(frozen=True)
class Change:
    """One change to journal: its kind, the list it concerns (None for "all") and that list's name."""

    kind: ChangeKind
    list_id: str | None = None
    list_name: str | None = None


@dataclass(frozen=True)
class Preferences:
    """What the manage page shows of one person, read from Marketing Cloud within the page's budget."""

    lists: tuple[OfferedList, ...]
    #: Unsubscribed on All Subscribers: no list box can change that, so the page shows none.
    unsubscribed_from_all: bool = False
    #: What "all email" covers for this unit: every brand (True), only this one (False), unknown (None).
    all_covers_every_brand: bool | None = None
