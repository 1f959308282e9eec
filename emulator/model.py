"""The emulated account's records: business units, subscribers, lists with their memberships, jobs, sends.

Plain dataclasses shared by the loader, LogUnsubEvent, Retrieve and Update. Times shown on the SOAP wire are
Marketing Cloud's server time (Central Standard Time, UTC-6 all year, no zone written); the inspection API's
``time`` fields stay UTC with a ``Z``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

ACTIVE = "Active"
UNSUBSCRIBED = "Unsubscribed"
DELETED = "Deleted"
LIST_TYPES = ("subscriber", "publication", "suppression", "all_subscribers")
# Marketing Cloud's ListClassification for each of the emulator's list types.
CLASSIFICATION = {
    "subscriber": "ExactTargetList",
    "publication": "PublicationList",
    "suppression": "SuppressionList",
    "all_subscribers": "ExactTargetList",
}
VISIBILITIES = ("Public", "Private")
BEHAVIOURS = ("ENTIRE_ENTERPRISE", "BUSINESS_UNIT_ONLY")
DEFAULT_BEHAVIOUR = "BUSINESS_UNIT_ONLY"  # a data file that does not say: an unsubscribe stays in its unit
DEFAULT_CREATED = "2026-09-01T08:00:00"  # data without dates: everything was made at this (server) time

_SERVER_ZONE = timezone(timedelta(hours=-6))


class DataError(Exception):
    """The data file is missing, not JSON, or inconsistent; the message names the problem."""


def utc_now() -> str:
    """UTC with ``Z``: the inspection API's event times."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def server_now() -> str:
    """Marketing Cloud's server time without a zone and with hundredths, as in ``2017-02-16T01:59:27.29``."""
    now = datetime.now(_SERVER_ZONE)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 10000:02d}"


@dataclass
class BusinessUnit:
    """One unit of the Enterprise; ``master_unsubscribe_behavior`` says how far an "all email" goes."""

    mid: int
    name: str
    parent_mid: int | None
    subscriber_key_permission: bool | None  # None: the account's setting
    master_unsubscribe_behavior: str = DEFAULT_BEHAVIOUR


@dataclass
class Subscriber:
    """A subscriber record of one unit; ``status`` is the status on that unit's All Subscribers list."""

    id: int
    key: str
    email: str
    status: str
    mid: int
    created: str = DEFAULT_CREATED
    unsubscribed_date: str | None = None
    email_type: str = "HTML"


@dataclass
class Membership:
    """A subscriber's place on one list: kept apart from the All Subscribers status."""

    status: str
    created: str = DEFAULT_CREATED
    modified: str = DEFAULT_CREATED


@dataclass
class MailingList:
    """A list; ``members``: subscriber ID -> membership (unused on All Subscribers: see memberships.py)."""

    id: int
    name: str
    type: str
    mid: int
    members: dict[int, Membership] = field(default_factory=dict)
    description: str = ""
    visibility: str = "Private"  # Marketing Cloud's List.Type
    category: int = 0
    customer_key: str = ""
    created: str = DEFAULT_CREATED

    @property
    def classification(self) -> str:
        """Marketing Cloud's ``ListClassification``."""
        return CLASSIFICATION[self.type]


@dataclass
class Job:
    """A send job of one unit to one list, in numbered batches."""

    id: int
    name: str
    list_id: int
    mid: int
    batches: list[int]


@dataclass
class Send:
    """One subscriber sent one job in one batch at ``time`` (UTC, ISO 8601)."""

    subscriber_id: int
    job_id: int
    batch_id: int
    time: str
