"""Read what the manage page shows of one person: their lists with names and states, within budgets.

Two budgets bound every read, so that a GET can never become a storm of SOAP calls or a slow page:
the process's token bucket (``budget.py``) and one deadline per page (``MANAGE_READ_TIMEOUT``) shared by
the calls. The person's memberships (``ListSubscriber``) and their status on All Subscribers
(``Subscriber``) are read side by side; list names come from the per-unit directory (a cache). Any
failure, or a budget used up, gives None: the view then shows the plain unsubscribe form, which needs no
read. Reading changes nothing in Marketing Cloud.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from app.identity import Recipient

from .budget import ReadBudget
from .units import UnitBehaviors
from .values import OfferedList, Preferences

logger = logging.getLogger(__name__)

#: The memberships a box can show: Active (ticked) and Unsubscribed (unticked). Held, Bounced and Deleted
#: are left out: a box could not truthfully say what ticking it does for them.
SHOWN_STATUSES = {"Active": True, "Unsubscribed": False}
#: At most this many boxes (one Subscriber Update call carries at most 50 list changes).
MAX_LISTS = 50


def unit_of(recipient: Recipient) -> int | None:
    """The link's business unit as Marketing Cloud's MID, or None (the unit the API tokens act in)."""
    try:
        return int(recipient.mid) if recipient.mid else None
    except ValueError:
        return None


class PreferenceReader:
    """Reads a person's ``Preferences``; one per app, shared by its threads."""

    def __init__(
        self,
        client: Callable[[], Any],
        lists_of: Callable[[int | None], Sequence[Any] | None],
        offered_ids: Callable[[int | None], tuple[str, ...] | None],
        units: UnitBehaviors,
        budget: ReadBudget,
        timeout: float,
    ) -> None:
        self._client = client
        self._lists_of = lists_of
        self._offered_ids = offered_ids
        self._units = units
        self.budget = budget
        self.timeout = timeout

    def read(self, recipient: Recipient) -> Preferences | None:
        """The person's lists as the manage page shows them, or None (the view shows the plain form)."""
        try:
            return self._read(recipient)
        except Exception:
            # Whatever Marketing Cloud answered, a GET of a good link gets a page: the plain form.
            logger.exception("manage page: reading the person's lists failed unexpectedly")
            return None

    def _read(self, recipient: Recipient) -> Preferences | None:
        if not recipient.subscriber_key:
            return None  # Marketing Cloud's memberships are read by SubscriberKey only
        mid = unit_of(recipient)
        if recipient.mid and mid is None:
            return None  # a MID that is not a number: never another unit's lists
        if not self.budget.take():
            logger.info("manage page: the process's read budget is used up; showing the plain form")
            return None
        deadline = time.monotonic() + self.timeout
        catalog = self._lists_of(mid)
        if not catalog:
            return None
        answers = self._read_person(recipient.subscriber_key, mid, deadline)
        if answers is None:
            return None
        memberships, subscriber = answers
        if subscriber is None:
            return None  # not a subscriber of this unit: the plain form's answer says so
        offered = self._offered(recipient, mid, catalog, memberships)
        return Preferences(
            lists=offered,
            unsubscribed_from_all=getattr(subscriber, "status", "") == "Unsubscribed",
            all_covers_every_brand=self._units.covers_every_brand(mid, timeout=_left(deadline)),
        )

    def _read_person(self, key: str, mid: int | None, deadline: float) -> tuple[Any, Any] | None:
        """Memberships and All Subscribers status, read at the same time; None if either fails or is late."""
        from app.sfmc import SfmcError

        client = self._client()
        found: dict[str, Any] = {}

        def read_subscriber() -> None:
            try:
                found["subscriber"] = client.retrieve_subscriber(key, mid, timeout=_left(deadline))
            except Exception as exc:  # an SfmcError, or anything else: either way the plain form
                found["failed"] = exc

        helper = threading.Thread(target=read_subscriber, name="manage-read", daemon=True)
        helper.start()
        try:
            memberships = client.retrieve_memberships(key, mid, timeout=_left(deadline))
        except SfmcError as exc:
            logger.info("manage page: memberships not read (%s); showing the plain form", type(exc).__name__)
            return None
        helper.join(_left(deadline))
        if helper.is_alive() or "failed" in found:
            logger.info("manage page: subscriber status not read in time; showing the plain form")
            return None
        return memberships, found.get("subscriber")

    def _offered(
        self, recipient: Recipient, mid: int | None, catalog: Iterable[Any], memberships: Iterable[Any]
    ) -> tuple[OfferedList, ...]:
        """The boxes: the email's own list first, then the lists marketers offer, each the person is on."""
        by_id = {str(item.id): item for item in catalog}
        status = {str(m.list_id): SHOWN_STATUSES[m.status] for m in memberships if m.status in SHOWN_STATUSES}
        chosen = self._offered_ids(mid)
        if chosen is None:
            chosen = tuple(key for key, item in by_id.items() if item.is_public_publication)
        email_list = recipient.list_id
        if email_list in by_id and _may_show_email_list(by_id[email_list]):
            chosen = (email_list, *(key for key in chosen if key != email_list))
        offered = []
        for key in chosen:
            if key in by_id and key in status and len(offered) < MAX_LISTS:
                item = by_id[key]
                offered.append(
                    OfferedList(
                        key,
                        item.name,
                        item.description or "",
                        subscribed=status[key],
                        is_email_list=key == email_list,
                    )
                )
        return tuple(offered)


def _may_show_email_list(item: Any) -> bool:
    """The list an email was sent to gets a box unless it is All Subscribers or a suppression list."""
    return not item.is_all_subscribers and item.classification != "SuppressionList"


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.001)
