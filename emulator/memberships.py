"""List memberships and the All Subscribers status: two separate things, changed only here.

A subscriber's status on the unit's All Subscribers list is ``Subscriber.status`` (a "master" unsubscribe);
each other list keeps its own ``Membership``. An "all email" unsubscribe follows the acting unit's
``MasterUnsubscribeBehavior``: ``ENTIRE_ENTERPRISE`` unsubscribes the person (same SubscriberKey) in every
unit of the Enterprise, ``BUSINESS_UNIT_ONLY`` only in that unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .model import ACTIVE, DELETED, UNSUBSCRIBED, MailingList, Membership, Subscriber, server_now

if TYPE_CHECKING:
    from .state import Account


def all_subscribers_list(account: Account, mid: int) -> MailingList | None:
    """The unit's All Subscribers list (None when the data file gave it none)."""
    found = (lst for lst in account.lists.values() if lst.mid == mid and lst.type == "all_subscribers")
    return next(found, None)


def list_status(subscriber: Subscriber, mailing_list: MailingList) -> str | None:
    """The subscriber's status on that list, None when not on it."""
    if mailing_list.type == "all_subscribers":
        return subscriber.status if subscriber.mid == mailing_list.mid else None
    membership = mailing_list.members.get(subscriber.id)
    return None if membership is None else membership.status


def set_list_status(mailing_list: MailingList, subscriber: Subscriber, status: str) -> None:
    """Put the subscriber on the list with ``status`` (``Deleted`` takes them off); never All Subscribers."""
    assert mailing_list.type != "all_subscribers", "the All Subscribers status is the subscriber's status"
    now = server_now()
    if status == DELETED:
        mailing_list.members.pop(subscriber.id, None)
        return
    membership = mailing_list.members.get(subscriber.id)
    if membership is None:
        mailing_list.members[subscriber.id] = Membership(status, now, now)
    elif membership.status != status:
        membership.status = status
        membership.modified = now


def enterprise_root(account: Account, mid: int) -> int:
    """The top unit above ``mid``."""
    unit = account.business_units[mid]
    while unit.parent_mid is not None:
        unit = account.business_units[unit.parent_mid]
    return unit.mid


def master_unsubscribe(account: Account, subscriber: Subscriber) -> list[Subscriber]:
    """Unsubscribe from all email as the subscriber's unit is set up to; returns every record changed."""
    behaviour = account.business_units[subscriber.mid].master_unsubscribe_behavior
    if behaviour == "ENTIRE_ENTERPRISE":
        root = enterprise_root(account, subscriber.mid)
        people = [
            s
            for s in account.subscribers.values()
            if s.key == subscriber.key and enterprise_root(account, s.mid) == root
        ]
    else:
        people = [subscriber]
    now = server_now()
    changed = []
    for person in people:
        if person.status != UNSUBSCRIBED:
            person.status = UNSUBSCRIBED
            person.unsubscribed_date = now
            changed.append(person)
    return changed


def reactivate(subscriber: Subscriber) -> None:
    """``Subscriber.Status = Active`` on an Update: only the person's own request should ever send it."""
    subscriber.status = ACTIVE
    subscriber.unsubscribed_date = None


def memberships_of(account: Account, subscriber: Subscriber) -> Iterator[tuple[MailingList, Membership]]:
    """Every list of the subscriber's unit the subscriber is on (All Subscribers first, then by ID)."""
    for mailing_list in sorted(account.lists.values(), key=_list_order):
        if mailing_list.mid != subscriber.mid:
            continue
        if mailing_list.type == "all_subscribers":
            yield mailing_list, _all_subscribers_membership(subscriber)
        elif subscriber.id in mailing_list.members:
            yield mailing_list, mailing_list.members[subscriber.id]


def memberships_json(account: Account) -> list[dict[str, str]]:
    """Every membership, All Subscribers included, as ``GET /_emulator/state`` shows them (list by list)."""
    shown = []
    for mailing_list in sorted(account.lists.values(), key=_list_order):
        if mailing_list.type == "all_subscribers":
            people = (s for s in account.subscribers.values() if s.mid == mailing_list.mid)
            pairs = [(s, _all_subscribers_membership(s)) for s in people]
        else:
            pairs = [(account.subscribers[sid], m) for sid, m in mailing_list.members.items()]
        shown.extend(
            {
                "list_id": str(mailing_list.id),
                "list_name": mailing_list.name,
                "subscriber_id": str(subscriber.id),
                "subscriber_key": subscriber.key,
                "mid": str(mailing_list.mid),
                "status": membership.status,
                "modified": membership.modified,
            }
            for subscriber, membership in pairs
        )
    return shown


def _list_order(mailing_list: MailingList) -> tuple[int, bool, int]:
    return mailing_list.mid, mailing_list.type != "all_subscribers", mailing_list.id


def _all_subscribers_membership(subscriber: Subscriber) -> Membership:
    changed = subscriber.unsubscribed_date or subscriber.created
    return Membership(subscriber.status, subscriber.created, changed)
