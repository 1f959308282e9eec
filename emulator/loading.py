"""Read the JSON data file into the account's records, checking it as it goes (``DataError`` on a problem).

The format is in docs/emulator.md ("Data file format"). Fields added for Retrieve (descriptions, list
visibility, categories, dates, MasterUnsubscribeBehavior) are optional, so older files (the benchmarks'
generated ones) load unchanged.
"""

from __future__ import annotations

import uuid
from typing import Any

from .model import (
    ACTIVE,
    BEHAVIOURS,
    DEFAULT_BEHAVIOUR,
    DEFAULT_CREATED,
    LIST_TYPES,
    UNSUBSCRIBED,
    VISIBILITIES,
    BusinessUnit,
    Job,
    MailingList,
    Membership,
    Send,
    Subscriber,
)

_KEY_NAMESPACE = uuid.UUID("6f1c8a52-3f57-4c1e-9a55-2d3f0e5b7a10")


def read_units(raw: dict[str, Any]) -> dict[int, BusinessUnit]:
    """Business units by MID; every parent must exist."""
    units = {}
    for item in raw["business_units"]:
        parent = item.get("parent_mid")
        permission = item.get("subscriber_key_permission")
        behaviour = str(item.get("master_unsubscribe_behavior") or DEFAULT_BEHAVIOUR)
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"business unit {item['mid']} has MasterUnsubscribeBehavior {behaviour!r}")
        unit = BusinessUnit(
            int(item["mid"]),
            str(item["name"]),
            None if parent is None else int(parent),
            None if permission is None else bool(permission),
            behaviour,
        )
        units[unit.mid] = unit
    for unit in units.values():
        if unit.parent_mid is not None and unit.parent_mid not in units:
            raise ValueError(f"business unit {unit.mid} has an unknown parent {unit.parent_mid}")
    return units


def read_subscribers(raw: dict[str, Any], units: dict[int, BusinessUnit]) -> dict[int, Subscriber]:
    """Subscribers by ID (IDs unique across units)."""
    subscribers = {}
    for item in raw["subscribers"]:
        sub = Subscriber(
            int(item["id"]),
            str(item["key"]),
            str(item["email"]),
            str(item.get("status", ACTIVE)),
            int(item["mid"]),
            created=str(item.get("created", DEFAULT_CREATED)),
        )
        if sub.status not in (ACTIVE, UNSUBSCRIBED):
            raise ValueError(f"subscriber {sub.id} has status {sub.status!r}")
        if sub.mid not in units or sub.id in subscribers:
            raise ValueError(f"subscriber {sub.id}: unknown unit or duplicate ID")
        if sub.status == UNSUBSCRIBED:
            sub.unsubscribed_date = str(item.get("unsubscribed_date", sub.created))
        subscribers[sub.id] = sub
    return subscribers


def read_lists(
    raw: dict[str, Any], units: dict[int, BusinessUnit], subscribers: dict[int, Subscriber]
) -> dict[int, MailingList]:
    """Lists by ID with their memberships (each unit at most one All Subscribers list)."""
    lists: dict[int, MailingList] = {}
    for item in raw["lists"]:
        kind = str(item["type"])
        created = str(item.get("created", DEFAULT_CREATED))
        statuses = {int(k): str(v) for k, v in item.get("members", {}).items()}
        default_visibility = "Public" if kind == "publication" else "Private"
        category = int(item.get("category", 0))
        mailing_list = MailingList(
            int(item["id"]),
            str(item["name"]),
            kind,
            int(item["mid"]),
            {sid: Membership(status, created, created) for sid, status in statuses.items()},
            description=str(item.get("description", "")),
            visibility=str(item.get("visibility", default_visibility)),
            category=category,
            created=created,
        )
        mailing_list.customer_key = str(
            item.get("customer_key")
            or (
                f"All Subscribers - {category}"
                if kind == "all_subscribers"
                else str(uuid.uuid5(_KEY_NAMESPACE, str(mailing_list.id))).upper()
            )
        )
        if kind not in LIST_TYPES:
            raise ValueError(f"list {mailing_list.id} has type {kind!r}")
        if mailing_list.visibility not in VISIBILITIES:
            raise ValueError(f"list {mailing_list.id} has visibility {mailing_list.visibility!r}")
        if mailing_list.mid not in units or mailing_list.id in lists:
            raise ValueError(f"list {mailing_list.id}: unknown unit or duplicate ID")
        if set(statuses) - set(subscribers) or set(statuses.values()) - {ACTIVE, UNSUBSCRIBED}:
            raise ValueError(f"list {mailing_list.id} has unknown members or statuses")
        if kind == "all_subscribers" and any(
            lst.type == kind and lst.mid == mailing_list.mid for lst in lists.values()
        ):
            raise ValueError(f"unit {mailing_list.mid} has two All Subscribers lists")
        lists[mailing_list.id] = mailing_list
    return lists


def read_jobs(
    raw: dict[str, Any], units: dict[int, BusinessUnit], lists: dict[int, MailingList]
) -> dict[int, Job]:
    """Jobs by ID; each names a known list and unit."""
    jobs = {}
    for item in raw["jobs"]:
        job = Job(
            int(item["id"]),
            str(item["name"]),
            int(item["list_id"]),
            int(item["mid"]),
            [int(b) for b in item["batches"]],
        )
        if job.list_id not in lists or job.mid not in units:
            raise ValueError(f"job {job.id}: unknown list or unit")
        jobs[job.id] = job
    return jobs


def read_sends(raw: dict[str, Any], subscribers: dict[int, Subscriber], jobs: dict[int, Job]) -> list[Send]:
    """Sends in file order; each names a known subscriber, job and batch of that job."""
    sends = []
    for item in raw["sends"]:
        send = Send(int(item["subscriber_id"]), int(item["job_id"]), int(item["batch_id"]), str(item["time"]))
        if send.subscriber_id not in subscribers or send.job_id not in jobs:
            raise ValueError(f"send {item}: unknown subscriber or job")
        if send.batch_id not in jobs[send.job_id].batches:
            raise ValueError(f"send {item}: batch not in job {send.job_id}")
        sends.append(send)
    return sends
