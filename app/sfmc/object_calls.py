"""``SfmcClient``'s Retrieve and Update calls: lists, memberships, subscribers, business units, list changes.

A mixin of ``SfmcClient`` (``client.py``), using its ``_send`` (token, one refresh and retry, faults) and
``_observe``. Each public method is one observed call, labelled ``retrieve_<outcome>`` or
``update_<outcome>`` so that metrics tell it from Execute.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import object_envelopes as builders
from .errors import SfmcError, SfmcProtocolError, SfmcRequestError, SfmcRetrieveError, SfmcTransientError
from .models import SoapFault, with_refusals
from .object_response import parse_datetime, parse_retrieve_response, parse_update_response
from .objects import (
    BusinessUnitInfo,
    ListMembership,
    ListStatusChange,
    MailingList,
    RetrievedObject,
    RetrievePage,
    RetrieveQuery,
    RetrieveResult,
    SimpleFilter,
    SubscriberStatus,
    UpdateResult,
)
from .transport import DEADLINE_FACTOR, HttpReply

logger = logging.getLogger(__name__)

#: Pages one Retrieve may read (2,500 rows each: 100,000 rows); beyond, it fails rather than loop.
MAX_RETRIEVE_PAGES = 40

LIST_PROPERTIES = ("ID", "ListName", "Description", "Category", "Type", "CustomerKey", "ListClassification")
MEMBERSHIP_PROPERTIES = ("ListID", "SubscriberKey", "Status")
SUBSCRIBER_PROPERTIES = ("SubscriberKey", "Status", "UnsubscribedDate")
BUSINESS_UNIT_PROPERTIES = ("ID", "Name", "MasterUnsubscribeBehavior")


class ObjectCalls:
    """Retrieve (paged to the end) and Update (list statuses) for ``SfmcClient``."""

    # Provided by SfmcClient.
    transport: Any
    tokens: Any
    _send: Callable[..., Any]
    _observe: Callable[[str, float], None]

    def retrieve(
        self, query: RetrieveQuery, *, timeout: float | None = None, max_pages: int = MAX_RETRIEVE_PAGES
    ) -> RetrieveResult:
        """Every object ``query`` finds, following ``MoreDataAvailable`` with ``ContinueRequest`` to the end.

        ``timeout`` is the total deadline: the **whole** Retrieve (every page, the retry after a token
        refresh; not a token request itself) ends within it; each HTTP call waits SFMC_TIMEOUT at most, cut
        to what is left. Default: ``DEADLINE_FACTOR`` x SFMC_TIMEOUT, what one Execute call may take. Raises
        ``SfmcRetrieveError`` (``Error: …``, or more than ``max_pages`` pages), ``SfmcTransientError``,
        ``SfmcAuthError``, ``SfmcProtocolError``, ``SfmcRequestError``. A Retrieve changes nothing: any
        failure may be retried by the caller.
        """
        started = time.monotonic()
        try:
            result = self._retrieve_pages(query, timeout=timeout, max_pages=max_pages, started=started)
        except SfmcError as exc:
            self._observe(f"retrieve_{exc.outcome}", time.monotonic() - started)
            raise
        seconds = time.monotonic() - started
        self._observe("retrieve_ok", seconds)
        logger.info(
            "sfmc retrieve %s: %d object(s) in %d page(s), RequestID %s, %.3f s",
            query.object_type,
            len(result.objects),
            result.pages,
            result.request_ids[0],
            seconds,
        )
        return result

    def _retrieve_pages(
        self, query: RetrieveQuery, *, timeout: float | None, max_pages: int, started: float
    ) -> RetrieveResult:
        seconds = self.transport.timeout * DEADLINE_FACTOR if timeout is None else timeout
        deadline = started + seconds
        read = _read_retrieve
        objects: list[RetrievedObject] = []
        request_ids: list[str | None] = []
        continue_request: str | None = None
        for _ in range(max_pages):
            if time.monotonic() >= deadline:
                raise SfmcTransientError(
                    f"Retrieve {query.object_type} not finished within {seconds:g} s "
                    f"({len(request_ids)} page(s) read)",
                    maybe_sent=False,
                )
            page: RetrievePage = self._send(
                "Retrieve",
                functools.partial(builders.retrieve_envelope, query=query, continue_request=continue_request),
                read,
                timeout=None,
                deadline=deadline,
            )
            objects.extend(page.objects)
            request_ids.append(page.request_id)
            if not page.more:
                return RetrieveResult(objects=objects, request_ids=request_ids, pages=len(request_ids))
            if not page.request_id:
                raise SfmcProtocolError("MoreDataAvailable without a RequestID to continue from")
            continue_request = page.request_id
        raise SfmcRetrieveError(
            f"Retrieve {query.object_type} has more than {max_pages} pages: refused to read further"
        )

    def retrieve_lists(self, mid: int | None = None, *, timeout: float | None = None) -> list[MailingList]:
        """Every ``List`` of the unit ``mid`` (None: the token's own), its All Subscribers list included."""
        found = self.retrieve(RetrieveQuery("List", LIST_PROPERTIES, mid=mid), timeout=timeout)
        lists = []
        for item in found.objects:
            list_id = _int(item.get("ID"))
            if list_id is None:
                logger.warning("sfmc retrieve List: a result without a readable ID was left out")
                continue
            lists.append(
                MailingList(
                    id=list_id,
                    name=item.get("ListName") or "",
                    description=item.get("Description") or "",
                    type=item.get("Type"),
                    classification=item.get("ListClassification"),
                    customer_key=item.get("CustomerKey"),
                    category=_int(item.get("Category")),
                )
            )
        return lists

    def retrieve_memberships(
        self, subscriber_key: str, mid: int | None = None, *, timeout: float | None = None
    ) -> list[ListMembership]:
        """The person's status on each list of the unit (``ListSubscriber``; groups included, as Marketing
        Cloud returns them). A row of another SubscriberKey is never returned, whatever came back.
        ``timeout``: the whole call's deadline, as for ``retrieve``."""
        query = RetrieveQuery("ListSubscriber", MEMBERSHIP_PROPERTIES, _by_key(subscriber_key), mid=mid)
        memberships = []
        for item in self.retrieve(query, timeout=timeout).objects:
            list_id, status = _int(item.get("ListID")), item.get("Status")
            if item.values.get("SubscriberKey") not in (None, subscriber_key):
                continue  # another person's row: never shown to this one
            if list_id is None or not status:
                continue
            memberships.append(ListMembership(list_id=list_id, status=status))
        return memberships

    def retrieve_subscriber(
        self, subscriber_key: str, mid: int | None = None, *, timeout: float | None = None
    ) -> SubscriberStatus | None:
        """The person's status on All Subscribers (``Subscriber``); None when Marketing Cloud has nobody
        with that SubscriberKey in the unit."""
        query = RetrieveQuery("Subscriber", SUBSCRIBER_PROPERTIES, _by_key(subscriber_key), mid=mid)
        for item in self.retrieve(query, timeout=timeout).objects:
            status = item.get("Status")
            if item.values.get("SubscriberKey") in (None, subscriber_key) and status:
                return SubscriberStatus(
                    subscriber_key=subscriber_key,
                    status=status,
                    unsubscribed_date=parse_datetime(item.get("UnsubscribedDate")),
                )
        return None

    def retrieve_business_unit(
        self, mid: int | None = None, *, timeout: float | None = None
    ) -> BusinessUnitInfo | None:
        """The unit ``mid`` (None: the token's own) with its ``MasterUnsubscribeBehavior``.

        Filtered on ``ID`` = ``mid`` or, without one, SFMC_ACCOUNT_ID; with neither, the one unit the
        answer holds (None when it holds several: which is ours cannot be told).
        """
        own = mid if mid is not None else self.tokens.account_id
        condition = SimpleFilter("ID", str(own)) if own is not None else None
        found = self.retrieve(
            RetrieveQuery("BusinessUnit", BUSINESS_UNIT_PROPERTIES, condition, mid=mid), timeout=timeout
        ).objects
        units = [item for item in found if _int(item.get("ID")) is not None]
        if own is not None:
            units = [item for item in units if _int(item.get("ID")) == own]
        if len(units) != 1:
            if len(units) > 1:
                logger.warning("sfmc retrieve BusinessUnit: %d units and no MID to choose by", len(units))
            return None
        (unit,) = units
        return BusinessUnitInfo(
            mid=_int(unit.get("ID")) or 0,
            name=unit.get("Name"),
            master_unsubscribe_behavior=unit.get("MasterUnsubscribeBehavior"),
        )

    def update_list_statuses(
        self, changes: Sequence[ListStatusChange], *, timeout: float | None = None
    ) -> UpdateResult:
        """Set 1..50 list statuses in one Update call; ``outcomes[i]`` answers ``changes[i]``.

        More than ``MAX_REQUESTS_PER_CALL`` changes are refused (``SfmcRequestError``): the caller batches,
        as for Execute. A change that cannot be sent as it is (no SubscriberKey, a MID or list ID that is
        not a number, a status other than Active/Unsubscribed) is answered REJECTED ``not sent: …`` and the
        others still go. Failures as Execute: a ``SfmcTransientError`` with ``maybe_sent=True`` may have
        changed the statuses (sending it again sets the same statuses: harmless). ``timeout`` is Execute's:
        the HTTP call's connect/read timeout, its whole answer due within ``DEADLINE_FACTOR`` x it.
        """
        changes = list(changes)
        builders.check_update_size(changes)
        started = time.monotonic()
        try:
            result = self._update_sendable(changes, timeout=timeout)
        except SfmcError as exc:
            self._observe(f"update_{exc.outcome}", time.monotonic() - started)
            raise
        seconds = time.monotonic() - started
        self._observe("update_ok", seconds)
        counts: dict[str, int] = {}
        for outcome in result.outcomes:
            counts[outcome.kind.value] = counts.get(outcome.kind.value, 0) + 1
        logger.info(
            "sfmc update: %d change(s), OverallStatus %s, RequestID %s, %s in %.3f s",
            len(changes),
            result.overall_status,
            result.request_id,
            " ".join(f"{kind}={count}" for kind, count in sorted(counts.items())),
            seconds,
        )
        return result

    def _update_sendable(self, changes: list[ListStatusChange], *, timeout: float | None) -> UpdateResult:
        refusals = [builders.change_refusal(change) for change in changes]
        sendable = [change for change, refusal in zip(changes, refusals, strict=True) if refusal is None]
        if len(sendable) < len(changes):
            logger.warning(
                "sfmc: %d of %d change(s) refused before sending", len(changes) - len(sendable), len(changes)
            )
        sent = (
            self._send(
                "Update",
                functools.partial(builders.update_envelope, changes=sendable),
                functools.partial(_read_update, changes=sendable),
                timeout=timeout,
            )
            if sendable
            else None
        )
        return UpdateResult(
            overall_status=sent.overall_status if sent else "Not sent",
            request_id=sent.request_id if sent else None,
            outcomes=with_refusals(refusals, sent.outcomes if sent else []),
        )


def _read_retrieve(reply: HttpReply) -> RetrievePage | SoapFault:
    return parse_retrieve_response(reply.body, http_status=reply.status, content_type=reply.content_type)


def _read_update(reply: HttpReply, *, changes: list[ListStatusChange]) -> UpdateResult | SoapFault:
    return parse_update_response(
        reply.body, http_status=reply.status, content_type=reply.content_type, changes=changes
    )


def _by_key(subscriber_key: str) -> SimpleFilter:
    if not isinstance(subscriber_key, str) or not subscriber_key.strip():
        raise SfmcRequestError("a SubscriberKey is needed to look a person up")
    return SimpleFilter("SubscriberKey", subscriber_key)


def _int(text: str | None) -> int | None:
    """A 32-bit ID as Marketing Cloud writes it, or None (absent, nil, empty, not a number)."""
    if text is None or not text.isascii() or not text.isdigit() or int(text) >= 2**31:
        return None
    return int(text)
