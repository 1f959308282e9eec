"""The emulated Marketing Cloud account: business units, subscribers, lists, jobs, sends, and LogUnsubEvent.

Everything lives in memory, loaded from a JSON data file (``data/demo.json`` unless ``--data`` names another).
``Account.log_unsub_event`` applies the rules of the seed pages; docs/emulator.md lists them with the choices
the emulator makes where the pages are silent. Not thread-safe by itself: the server holds one lock around it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .soap import OBJECT_REFERENCE, ExecuteResult

DEMO_DATA = Path(__file__).resolve().parent / "data" / "demo.json"

DEFAULT_REASON = "Unsubscribed via Log Unsub Event Execute call"
LIST_TYPES = ("subscriber", "publication", "suppression", "all_subscribers")
ACTIVE = "Active"
UNSUBSCRIBED = "Unsubscribed"

SUBSCRIBER_ID, SUBSCRIBER_KEY, EMAIL = "SubscriberID", "SubscriberKey", "EmailAddress"
IDENTIFIERS = (SUBSCRIBER_ID, SUBSCRIBER_KEY, EMAIL)
PARAMETERS = (*IDENTIFIERS, "JobID", "ListID", "BatchID", "Reason")
_PARAMETERS_BY_LOWER = {name.lower(): name for name in PARAMETERS}
# The code for "the identifiers refer to different subscribers" names the identifier used for the lookup.
MISMATCH_CODES = {SUBSCRIBER_ID: 405, SUBSCRIBER_KEY: 406, EMAIL: 407}


class DataError(Exception):
    """The data file is missing, not JSON, or inconsistent; the message names the problem."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(code: int, message: str) -> ExecuteResult:
    return ExecuteResult("Error", message, code)


def _int(value: str) -> int | None:
    try:
        return int(value.strip())
    except ValueError:
        return None


@dataclass
class BusinessUnit:
    mid: int
    name: str
    parent_mid: int | None
    subscriber_key_permission: bool | None  # None: the account's setting


@dataclass
class Subscriber:
    id: int
    key: str
    email: str
    status: str
    mid: int


@dataclass
class MailingList:
    id: int
    name: str
    type: str
    mid: int
    members: dict[int, str]  # subscriber ID -> Active / Unsubscribed (All Subscribers: the subscriber status)


@dataclass
class Job:
    id: int
    name: str
    list_id: int
    mid: int
    batches: list[int]


@dataclass
class Send:
    subscriber_id: int
    job_id: int
    batch_id: int
    time: str


@dataclass
class Account:
    """The whole emulated account (one Enterprise with its business units)."""

    subscriber_key_permission: bool
    business_units: dict[int, BusinessUnit]
    subscribers: dict[int, Subscriber]
    lists: dict[int, MailingList]
    jobs: dict[int, Job]
    sends: list[Send]
    events: list[dict[str, str]] = field(default_factory=list)
    _lookup: _Index | None = field(default=None, repr=False, compare=False)

    # ----------------------------------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: Path | None = None) -> Account:
        """Read and check a data file; raise ``DataError`` with one readable line on any problem."""
        path = path or DEMO_DATA
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise DataError(f"cannot read data file {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise DataError(f"data file {path} is not valid JSON: {exc}") from None
        try:
            return cls._from_raw(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"data file {path} is inconsistent: {exc!r}") from None

    @classmethod
    def _from_raw(cls, raw: dict[str, Any]) -> Account:
        units = {}
        for item in raw["business_units"]:
            parent = item.get("parent_mid")
            permission = item.get("subscriber_key_permission")
            unit = BusinessUnit(
                int(item["mid"]),
                str(item["name"]),
                None if parent is None else int(parent),
                None if permission is None else bool(permission),
            )
            units[unit.mid] = unit
        for unit in units.values():
            if unit.parent_mid is not None and unit.parent_mid not in units:
                raise ValueError(f"business unit {unit.mid} has an unknown parent {unit.parent_mid}")

        subscribers = {}
        for item in raw["subscribers"]:
            sub = Subscriber(
                int(item["id"]),
                str(item["key"]),
                str(item["email"]),
                str(item.get("status", ACTIVE)),
                int(item["mid"]),
            )
            if sub.status not in (ACTIVE, UNSUBSCRIBED):
                raise ValueError(f"subscriber {sub.id} has status {sub.status!r}")
            if sub.mid not in units or sub.id in subscribers:
                raise ValueError(f"subscriber {sub.id}: unknown unit or duplicate ID")
            subscribers[sub.id] = sub

        lists = {}
        for item in raw["lists"]:
            members = {int(k): str(v) for k, v in item.get("members", {}).items()}
            mailing_list = MailingList(
                int(item["id"]), str(item["name"]), str(item["type"]), int(item["mid"]), members
            )
            if mailing_list.type not in LIST_TYPES:
                raise ValueError(f"list {mailing_list.id} has type {mailing_list.type!r}")
            if mailing_list.mid not in units or mailing_list.id in lists:
                raise ValueError(f"list {mailing_list.id}: unknown unit or duplicate ID")
            if set(members) - set(subscribers) or set(members.values()) - {ACTIVE, UNSUBSCRIBED}:
                raise ValueError(f"list {mailing_list.id} has unknown members or statuses")
            lists[mailing_list.id] = mailing_list

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

        sends = []
        for item in raw["sends"]:
            send = Send(
                int(item["subscriber_id"]), int(item["job_id"]), int(item["batch_id"]), str(item["time"])
            )
            if send.subscriber_id not in subscribers or send.job_id not in jobs:
                raise ValueError(f"send {item}: unknown subscriber or job")
            if send.batch_id not in jobs[send.job_id].batches:
                raise ValueError(f"send {item}: batch not in job {send.job_id}")
            sends.append(send)

        return cls(
            subscriber_key_permission=bool(raw.get("account", {}).get("subscriber_key_permission", True)),
            business_units=units,
            subscribers=subscribers,
            lists=lists,
            jobs=jobs,
            sends=sends,
        )

    # ----------------------------------------------------------------------------------------- views
    def to_json(self) -> dict[str, Any]:
        """The state as ``GET /_emulator/state`` shows it (IDs as strings)."""
        return {
            "account": {"subscriber_key_permission": self.subscriber_key_permission},
            "business_units": [
                {
                    "mid": str(u.mid),
                    "name": u.name,
                    "parent_mid": None if u.parent_mid is None else str(u.parent_mid),
                    "subscriber_key_permission": self.permission(u.mid),
                }
                for u in self.business_units.values()
            ],
            "subscribers": [
                {"id": str(s.id), "key": s.key, "email": s.email, "status": s.status, "mid": str(s.mid)}
                for s in self.subscribers.values()
            ],
            "lists": [
                {
                    "id": str(lst.id),
                    "name": lst.name,
                    "type": lst.type,
                    "mid": str(lst.mid),
                    "members": self._members(lst),
                }
                for lst in self.lists.values()
            ],
            "jobs": [
                {
                    "id": str(j.id),
                    "name": j.name,
                    "list_id": str(j.list_id),
                    "mid": str(j.mid),
                    "batches": [str(b) for b in j.batches],
                }
                for j in self.jobs.values()
            ],
            "sends": [
                {
                    "subscriber_id": str(s.subscriber_id),
                    "job_id": str(s.job_id),
                    "batch_id": str(s.batch_id),
                    "time": s.time,
                }
                for s in self.sends
            ],
            "events": [dict(e) for e in self.events],
        }

    def _members(self, mailing_list: MailingList) -> dict[str, str]:
        if mailing_list.type == "all_subscribers":
            return {str(s.id): s.status for s in self.subscribers.values() if s.mid == mailing_list.mid}
        return {str(sid): status for sid, status in mailing_list.members.items()}

    def permission(self, mid: int) -> bool:
        """The SubscriberKey permission of a unit: its own setting, else the account's."""
        own = self.business_units[mid].subscriber_key_permission
        return self.subscriber_key_permission if own is None else own

    def is_known_unit(self, mid: int) -> bool:
        return mid in self.business_units

    def _may_act_in(self, token_mid: int, mid: int) -> bool:
        """A token acts in its own unit and, through ``Client/ID``, in the units below it; never above."""
        unit: BusinessUnit | None = self.business_units.get(mid)
        while unit is not None:
            if unit.mid == token_mid:
                return True
            unit = self.business_units.get(unit.parent_mid) if unit.parent_mid is not None else None
        return False

    # ----------------------------------------------------------------------------------------- the call
    def execute(
        self, token_mid: int, name: str | None, client_id: str | None, parameters: list[tuple[str, str]]
    ) -> ExecuteResult:
        """One ExecuteRequest. Only ``LogUnsubEvent`` is emulated."""
        if name != "LogUnsubEvent":
            if name is not None and name.lower() == "logunsubevent":
                return ExecuteResult("Error", OBJECT_REFERENCE)
            # Marketing Cloud's text (documented observation), and like it no ErrorCode.
            return ExecuteResult("Error", f"Unable to find a handler for the {name or ''} method.")
        mid = token_mid
        if client_id is not None and client_id.strip():
            wanted = _int(client_id)
            if wanted is None or not self._may_act_in(token_mid, wanted):
                # [I] Marketing Cloud's words for this are not documented; like its other refusals of a
                # request it could read but not act on, the result carries no ErrorCode.
                text = f"Client ID {client_id} is not a business unit this token may act in."
                return ExecuteResult("Error", text)
            mid = wanted
        return self.log_unsub_event(mid, parameters)

    def log_unsub_event(self, mid: int, parameters: list[tuple[str, str]]) -> ExecuteResult:
        """Unsubscribe a subscriber of unit ``mid`` and log the UnsubEvent, per the seed pages."""
        values: dict[str, str] = {}
        for raw_name, raw_value in parameters:
            name = _PARAMETERS_BY_LOWER.get(raw_name.lower())
            if name is not None and name != raw_name:
                return ExecuteResult("Error", OBJECT_REFERENCE)  # Names are case-sensitive.
            value = raw_value.strip()
            if name is not None and value and name not in values:  # the first non-empty occurrence counts
                values[name] = value
        if not values:
            return _error(402, "The Parameters array held no values, or none of the parameters looked for.")
        identifiers = [name for name in values if name in IDENTIFIERS]  # in document order
        if not identifiers:
            return _error(403, "EmailAddress, SubscriberKey and SubscriberID are all missing or empty.")
        key_permission = self.permission(mid)
        if key_permission and identifiers == [EMAIL]:
            return _error(
                404, "The SubscriberKey permission is on: supply SubscriberKey or SubscriberID too."
            )

        # The lookup key is the first identifier in the request; with the SubscriberKey permission on, email
        # addresses are not unique, so EmailAddress is never the lookup key then.
        lookup = next(n for n in identifiers if not (key_permission and n == EMAIL))
        subscriber = self._find_subscriber(mid, lookup, values[lookup])
        if subscriber is None:
            return _error(400, f"The subscriber could not be found by {lookup}.")
        for other in identifiers:
            if other != lookup and not _matches(subscriber, other, values[other]):
                return _error(
                    MISMATCH_CODES[lookup],
                    f"{other} does not refer to the subscriber found by {lookup}.",
                )
        if subscriber.status == UNSUBSCRIBED:
            return _error(12012, "OnMasterUnsubscribeList")

        reason = values.get("Reason", DEFAULT_REASON)
        job_text, list_text, batch_text = values.get("JobID"), values.get("ListID"), values.get("BatchID")
        job: Job | None = None
        batch: int | None = None
        if job_text is not None:
            job_id = _int(job_text)
            job = self.jobs.get(job_id) if job_id is not None else None
            sends = self._sends(subscriber, job) if job is not None and job.mid == mid else []
            if batch_text is not None:
                sends = [s for s in sends if s.batch_id == _int(batch_text)]
            if not sends:
                return _error(400, "The subscriber could not be found on the specified JobID.")
            batch = sends[-1].batch_id
        elif list_text is not None:
            # ListID without JobID: the most recent job the subscriber was sent (maybe not the one acted on).
            latest = self._latest_send(subscriber)
            if latest is not None:
                job = self.jobs[latest.job_id]
                batch = _int(batch_text) if batch_text is not None else latest.batch_id
        else:
            # No job context (nothing, or BatchID alone): master unsubscribe, no UnsubEvent.
            subscriber.status = UNSUBSCRIBED
            return ExecuteResult("OK", "Event posted")

        if list_text is not None:
            list_id = _int(list_text)
            mailing_list = self.lists.get(list_id) if list_id is not None else None
            if mailing_list is None or mailing_list.mid != mid:
                return _error(400, "The specified ListID could not be found.")
        else:
            assert job is not None  # JobID given: the list is the one the job was sent to
            mailing_list = self.lists[job.list_id]
        if mailing_list.type == "suppression":
            text = f"List {mailing_list.id} is a suppression list: use a subscriber or publication list."
            return _error(400, text)

        if mailing_list.type == "all_subscribers":
            subscriber.status = UNSUBSCRIBED  # the All Subscribers list: a master unsubscribe
        elif mailing_list.members.get(subscriber.id) == UNSUBSCRIBED:
            return _error(401, "Subscriber is already unsubscribed")
        else:
            mailing_list.members[subscriber.id] = UNSUBSCRIBED
        if job is not None:
            self.events.append(
                {
                    "subscriber_id": str(subscriber.id),
                    "subscriber_key": subscriber.key,
                    "email": subscriber.email,
                    "job_id": str(job.id),
                    "list_id": str(mailing_list.id),
                    "batch_id": "" if batch is None else str(batch),
                    "mid": str(mid),
                    "reason": reason,
                    "time": _now(),
                }
            )
        return ExecuteResult("OK", "Event posted")

    def _find_subscriber(self, mid: int, name: str, value: str) -> Subscriber | None:
        index = self._index()
        if name == SUBSCRIBER_ID:
            found = self.subscribers.get(_int(value))  # type: ignore[arg-type]
            return found if found is not None and found.mid == mid else None
        if name == SUBSCRIBER_KEY:
            return index.by_key.get((mid, value))
        # Email lookups (permission off): the subscriber with the lowest ID holding that address.
        return index.by_email.get((mid, value.lower()))

    def _sends(self, subscriber: Subscriber, job: Job) -> list[Send]:
        return self._index().sends_by_job.get((subscriber.id, job.id), [])

    def _latest_send(self, subscriber: Subscriber) -> Send | None:
        return self._index().latest_send.get(subscriber.id)

    def _index(self) -> _Index:
        """Lookups by key, email and (subscriber, job), built on first use and again whenever subscribers or
        sends were added or removed (their identifying fields never change), so a call costs the same with
        12 or 12,000 subscribers."""
        signature = (id(self.subscribers), len(self.subscribers), id(self.sends), len(self.sends))
        index = self._lookup
        if index is None or index.signature != signature:
            index = self._lookup = _Index.build(signature, self.subscribers, self.sends)
        return index


@dataclass
class _Index:
    signature: tuple[int, int, int, int]
    by_key: dict[tuple[int, str], Subscriber]
    by_email: dict[tuple[int, str], Subscriber]
    sends_by_job: dict[tuple[int, int], list[Send]]
    latest_send: dict[int, Send]

    @classmethod
    def build(
        cls, signature: tuple[int, int, int, int], subscribers: dict[int, Subscriber], sends: list[Send]
    ) -> _Index:
        by_key: dict[tuple[int, str], Subscriber] = {}
        by_email: dict[tuple[int, str], Subscriber] = {}
        for sub in subscribers.values():
            by_key.setdefault((sub.mid, sub.key), sub)  # the first one, as a scan in ID-file order finds
            holder = by_email.get((sub.mid, sub.email.lower()))
            if holder is None or sub.id < holder.id:
                by_email[(sub.mid, sub.email.lower())] = sub
        sends_by_job: dict[tuple[int, int], list[Send]] = {}
        latest_send: dict[int, Send] = {}
        for send in sends:
            sends_by_job.setdefault((send.subscriber_id, send.job_id), []).append(send)
            latest = latest_send.get(send.subscriber_id)
            if latest is None or send.time > latest.time:  # ties: the first in file order, as max() does
                latest_send[send.subscriber_id] = send
        for own in sends_by_job.values():
            own.sort(key=lambda s: s.time)  # stable: equal times keep file order
        return cls(signature, by_key, by_email, sends_by_job, latest_send)


def _matches(subscriber: Subscriber, name: str, value: str) -> bool:
    if name == SUBSCRIBER_ID:
        return _int(value) == subscriber.id
    if name == SUBSCRIBER_KEY:
        return value == subscriber.key
    return value.lower() == subscriber.email.lower()
