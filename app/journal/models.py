"""The journal's values: what a person asked for, and where its delivery stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.identity import Recipient


class Scope(StrEnum):
    """What the person unsubscribes from."""

    LIST = "list"  # the list (publication or subscriber list) the email was sent to
    ALL = "all"  # all marketing email of the business unit (master unsubscribe)


class State(StrEnum):
    """Where an entry's delivery to Marketing Cloud stands."""

    PENDING = "pending"  # committed, not yet confirmed by Marketing Cloud
    DELIVERED = "delivered"  # Marketing Cloud said OK (for LIST_RESUBSCRIBE: resubscribed)
    ALREADY = "already"  # Marketing Cloud said it was so already (401, 12012; 13006 "On List Already")
    REJECTED = "rejected"  # Marketing Cloud refused it for good (400, 402-407)
    DEAD = "dead"  # kept failing past the attempt/age limit; visible, never deleted

    @property
    def finished(self) -> bool:
        """True once the entry left pending: nothing will be sent for it any more (unless retried)."""
        return self is not State.PENDING

    @property
    def unsubscribed(self) -> bool:
        """True when the person is unsubscribed as far as Marketing Cloud told us."""
        return self in (State.DELIVERED, State.ALREADY)


class Action(StrEnum):
    """What an entry changes in Marketing Cloud, and so which call delivers it (docs/journal.md)."""

    UNSUBSCRIBE = "unsubscribe"  # LogUnsubEvent: the link's list and job context (LIST) or all email (ALL)
    LIST_UNSUBSCRIBE = "list_unsubscribe"  # Subscriber Update: ``target_list_id`` -> Unsubscribed
    LIST_RESUBSCRIBE = "list_resubscribe"  # Subscriber Update: ``target_list_id`` -> Active

    @property
    def changes_a_list(self) -> bool:
        """True for the actions a Subscriber Update delivers (they need ``target_list_id``)."""
        return self is not Action.UNSUBSCRIBE


class Source(StrEnum):
    """How the request reached us."""

    FORM = "form"
    ONE_CLICK = "one-click"
    IMPORT = "import"
    SUPPORT = "support"


@dataclass(frozen=True)
class UnsubscribeRequest:
    """What a person asked for, as the signed link and the form say it. Written before anything else.

    ``recipient`` is who and which send, exactly as the link (or an import row) named them; the rest is
    what the form added. ``action`` says what changes: the link's own list or all email (``UNSUBSCRIBE``,
    a LogUnsubEvent as ever), or the status of ``target_list_id`` (a preference change of the manage
    page; ``recipient.list_id`` stays the email's own list). ``reason_label`` is the English report label
    chosen when the person posted (a marketer's own reason code); when set, the ``Reason`` sent uses it
    instead of ``REASON_LABELS[reason_code]``.
    """

    recipient: Recipient
    scope: Scope = Scope.LIST
    reason_code: str | None = None
    reason_text: str | None = None
    language: str | None = None
    source: Source = Source.FORM
    action: Action = Action.UNSUBSCRIBE
    target_list_id: str | None = None
    reason_label: str | None = None


@dataclass(frozen=True)
class JournalEntry:
    """One journaled request and its delivery state."""

    id: int
    request: UnsubscribeRequest
    state: State
    attempts: int
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None
    error_code: int | None
    sfmc_request_id: str | None
    sfmc_status_message: str | None
    duplicates: int = (
        0  # attempts that may have reached Marketing Cloud unanswered: a retry may repeat the event
    )
    claimed_by: str | None = None  # the claim (worker or inline attempt) currently delivering this entry
    claimed_until: datetime | None = None  # the claim's lease: after it, the entry is due again
    finished_at: datetime | None = None  # when the entry left pending
    purged_at: datetime | None = None  # when `journal purge` dropped its personal data


#: English labels of the reason codes, as Marketing Cloud's reports show them (``Reason`` parameter).
REASON_LABELS: dict[str, str] = {
    "too_many": "Too many emails",
    "not_relevant": "Content not relevant",
    "never_signed_up": "Never signed up",
    "no_longer_interested": "No longer interested",
    "other": "Other",
}
