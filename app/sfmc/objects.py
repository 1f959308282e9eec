"""Values of the Retrieve and Update calls: what we ask about lists and memberships, what came back.

The Execute values (``LogUnsubEvent``, ``UnsubOutcome``, ``OutcomeKind``) live in ``models``; Update
outcomes reuse them, so the journal reads a list change's answer as it reads an unsubscribe's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.identity import Recipient

from .models import UnsubOutcome

#: The name Marketing Cloud gives every business unit's own master list (PROTOCOL.md).
ALL_SUBSCRIBERS = "All Subscribers"
#: The statuses a list change may set: ``Deleted`` is settable too, but never by us (a later import would
#: re-add the person; PROTOCOL.md says to leave people on a list as Unsubscribed).
SETTABLE_STATUSES = frozenset({"Active", "Unsubscribed"})


@dataclass(frozen=True)
class SimpleFilter:
    """A ``SimpleFilterPart``: ``Property`` ``SimpleOperator`` ``Value`` (only ``equals`` is used today)."""

    property: str
    value: str
    operator: str = "equals"


@dataclass(frozen=True)
class RetrieveQuery:
    """One Retrieve: the object type, the properties asked for, an optional filter, the unit it reads.

    ``mid`` becomes ``ClientIDs/ID``: the child business unit to read (None: the token's own unit).
    """

    object_type: str
    properties: tuple[str, ...]
    filter: SimpleFilter | None = None
    mid: int | None = None


@dataclass(frozen=True)
class RetrievedObject:
    """One ``Results`` of a RetrieveResponseMsg: its ``xsi:type`` (prefix removed) and its values.

    ``values`` maps a property to its text; a nested one by dotted path (``Client.ID``); ``xsi:nil`` is
    None and an empty element ``""``.
    """

    type: str | None
    values: dict[str, str | None]

    def get(self, name: str) -> str | None:
        """The value of property ``name`` with surrounding blanks removed; None when absent, nil or empty."""
        value = self.values.get(name)
        if value is None:
            return None
        return value.strip() or None


@dataclass(frozen=True)
class RetrievePage:
    """One parsed RetrieveResponseMsg: ``more`` is True for ``MoreDataAvailable``."""

    overall_status: str
    request_id: str | None
    objects: list[RetrievedObject] = field(default_factory=list)

    @property
    def more(self) -> bool:
        """Marketing Cloud has another page: send ``request_id`` back as ``ContinueRequest``."""
        return self.overall_status.casefold() == "moredataavailable"


@dataclass(frozen=True)
class RetrieveResult:
    """Every page of one Retrieve, read to the end: the objects in the order they came."""

    objects: list[RetrievedObject]
    request_ids: list[str | None]
    pages: int


@dataclass(frozen=True)
class MailingList:
    """A ``List`` object of a business unit (``ListName`` is ``name``)."""

    id: int
    name: str
    description: str = ""
    type: str | None = None  # "Public" / "Private" / ...
    classification: str | None = None  # "ExactTargetList" / "PublicationList" / "SuppressionList"
    customer_key: str | None = None
    category: int | None = None

    @property
    def is_all_subscribers(self) -> bool:
        """The unit's own All Subscribers list (the person's status there is the Subscriber's)."""
        return self.name == ALL_SUBSCRIBERS

    @property
    def is_public_publication(self) -> bool:
        """A list a subscription center offers: ``Type`` Public and ``ListClassification`` PublicationList."""
        return self.type == "Public" and self.classification == "PublicationList"


@dataclass(frozen=True)
class ListMembership:
    """A person's status on one list (a ``ListSubscriber``): Active, Unsubscribed, Held, Bounced, Deleted."""

    list_id: int
    status: str


@dataclass(frozen=True)
class SubscriberStatus:
    """A person's status on All Subscribers (a ``Subscriber``), kept apart from their list statuses.

    ``unsubscribed_date`` is as Marketing Cloud gives it: without a zone it is a naive datetime in
    Marketing Cloud's own server time, not UTC.
    """

    subscriber_key: str
    status: str
    unsubscribed_date: datetime | None = None


@dataclass(frozen=True)
class ListStatusChange:
    """Set one person's status on one list: an ``Objects xsi:type="Subscriber"`` with one ``Lists``.

    ``recipient.subscriber_key`` is required; ``recipient.mid`` becomes ``Client/ID`` (a child unit).
    """

    recipient: Recipient
    list_id: int
    status: str  # "Active" | "Unsubscribed"


@dataclass(frozen=True)
class UpdateResult:
    """A parsed UpdateResponse: ``outcomes[i]`` answers ``changes[i]`` (matched by ``OrdinalID``)."""

    overall_status: str
    request_id: str | None
    outcomes: list[UnsubOutcome] = field(default_factory=list)


@dataclass(frozen=True)
class BusinessUnitInfo:
    """A business unit and its ``MasterUnsubscribeBehavior`` (what an "all email" unsubscribe covers)."""

    mid: int
    name: str | None
    master_unsubscribe_behavior: str | None  # "ENTIRE_ENTERPRISE" | "BUSINESS_UNIT_ONLY" | None
