"""Update of ``Subscriber`` objects: their list memberships (``Lists``) and their All Subscribers status.

Each object is checked whole before anything of it changes (one bad list entry fails that object and
changes nothing of it); objects are independent of each other. Codes are PROTOCOL.md's. Choices where no
capture shows Marketing Cloud's answer are marked [I] and listed in docs/emulator.md ("Update").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .memberships import list_status, master_unsubscribe, reactivate, set_list_status
from .model import ACTIVE, DELETED, UNSUBSCRIBED, MailingList, Subscriber, utc_now
from .unsub import to_int
from .wire_read import ListChange, UpdateObject

if TYPE_CHECKING:
    from .state import Account

MAX_OBJECTS = 50
UPDATED = "Updated Subscriber."
TOO_MANY = f"Too many objects in one call: a synchronous Update takes at most {MAX_OBJECTS}."  # [I]
_LIST_STATUSES = (ACTIVE, UNSUBSCRIBED, DELETED)
_ACTIONS = ("Update", "Upsert", "Create", "Delete")


@dataclass
class UpdateOutcome:
    """One ``UpdateResult``: what happened to one object (``mid``: the unit it acted in, when known)."""

    status_code: str
    message: str
    error_code: int | None
    sent: UpdateObject
    subscriber: Subscriber | None = None
    mid: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the object was updated."""
        return self.status_code == "OK"


class _Refused(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def update(account: Account, token_mid: int, objects: list[UpdateObject]) -> list[UpdateOutcome]:
    """Apply an UpdateRequest's objects in order; one outcome per object, in the same order."""
    if len(objects) > MAX_OBJECTS:
        return [UpdateOutcome("Error", TOO_MANY, None, sent) for sent in objects]
    outcomes = []
    for sent in objects:
        try:
            outcomes.append(_update_one(account, token_mid, sent))
        except _Refused as refused:
            outcomes.append(UpdateOutcome("Error", refused.message, refused.code, sent))
    return outcomes


def _update_one(account: Account, token_mid: int, sent: UpdateObject) -> UpdateOutcome:
    if sent.xsi_type != "Subscriber":
        raise _Refused(f"Update of {sent.xsi_type or 'an untyped object'} is not emulated: only Subscriber.")
    mid = token_mid
    if sent.client_id:
        wanted = to_int(sent.client_id)
        if wanted is None or not account.may_act_in(token_mid, wanted):
            raise _Refused(f"Client ID {sent.client_id} is not a business unit this token may act in.")
        mid = wanted
    subscriber = _find(account, mid, sent)
    if sent.email is not None and sent.email.strip() and not _plausible_email(sent.email):
        raise _Refused("InvalidEmailAddress", 12000)
    if sent.status not in (None, "", ACTIVE, UNSUBSCRIBED):
        raise _Refused(f"Subscriber Status {sent.status} cannot be set: use Active or Unsubscribed.")
    changes = [_check_list(account, mid, subscriber, change) for change in sent.lists]

    if sent.email is not None and sent.email.strip() and sent.email.strip() != subscriber.email:
        subscriber.email = sent.email.strip()
        account.forget_lookups()  # the email index is built from the addresses
    if sent.status == UNSUBSCRIBED:
        master_unsubscribe(account, subscriber)
    elif sent.status == ACTIVE:
        reactivate(subscriber)
    for mailing_list, status in changes:
        set_list_status(mailing_list, subscriber, status)
        account.updates.append(
            {
                "subscriber_id": str(subscriber.id),
                "subscriber_key": subscriber.key,
                "list_id": str(mailing_list.id),
                "status": status,
                "mid": str(mid),
                "time": utc_now(),
            }
        )
    return UpdateOutcome("OK", UPDATED, None, sent, subscriber, mid)


def _find(account: Account, mid: int, sent: UpdateObject) -> Subscriber:
    """By SubscriberKey, else by ID, else (SubscriberKey permission off) by EmailAddress."""
    found = None
    if sent.subscriber_key:
        found = account.find_subscriber(mid, "SubscriberKey", sent.subscriber_key)
    elif sent.id:
        found = account.find_subscriber(mid, "SubscriberID", sent.id)
    elif sent.email and not account.permission(mid):
        found = account.find_subscriber(mid, "EmailAddress", sent.email.strip())
    if found is None:
        raise _Refused("SubscriberNotFound", 12001)
    return found


def _check_list(
    account: Account, mid: int, subscriber: Subscriber, change: ListChange
) -> tuple[MailingList, str]:
    """The list and the status it gets, or ``_Refused`` with the code of what is wrong."""
    if not change.id:
        raise _Refused("List ID Not Specified", 13001)
    list_id = to_int(change.id)
    if list_id is None:
        raise _Refused("Unknown List ID", 13004)
    mailing_list = account.lists.get(list_id)
    if mailing_list is None or mailing_list.mid != mid:
        raise _Refused("List Not Found", 13000)
    if mailing_list.type == "all_subscribers":
        # The All Subscribers status is the Subscriber's own Status, not a list entry [I].
        raise _Refused("List Cannot Be Updated", 13012)
    action = change.action or "Update"
    if action not in _ACTIONS:
        raise _Refused(f"List Action {action} is not one of {', '.join(_ACTIONS)}.")  # [I]
    current = list_status(subscriber, mailing_list)
    if action == "Delete":
        if current is None:
            raise _Refused("Not On List", 13007)
        return mailing_list, DELETED
    if action == "Create" and current is not None:
        raise _Refused("On List Already", 13006)
    status = change.status or ACTIVE
    if status not in _LIST_STATUSES:
        raise _Refused(f"List Status {status} cannot be set: use Active, Unsubscribed or Deleted.")  # [I]
    # Update on a list the person is not on yet adds them with that status, as Upsert does [I].
    return mailing_list, status


def _plausible_email(text: str) -> bool:
    local, at, domain = text.strip().rpartition("@")
    return bool(at and local and "." in domain and not any(c.isspace() for c in text.strip()))
