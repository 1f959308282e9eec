"""The emulated Marketing Cloud account: one Enterprise with its business units, held in memory.

Loaded from a JSON data file (``data/demo.json`` unless ``--data`` names another; ``loading.py`` reads it).
The calls live in their own modules: ``unsub.py`` (LogUnsubEvent), ``retrieve.py`` and ``update.py``; list
memberships and the All Subscribers status in ``memberships.py``. Not thread-safe by itself: the server holds
one lock around it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import loading
from .memberships import memberships_json
from .model import BusinessUnit, DataError, Job, MailingList, Send, Subscriber
from .soap import OBJECT_REFERENCE, ExecuteResult
from .unsub import SUBSCRIBER_ID, SUBSCRIBER_KEY, log_unsub_event, to_int

DEMO_DATA = Path(__file__).resolve().parent / "data" / "demo.json"

__all__ = ["DEMO_DATA", "Account", "DataError"]


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
    #: Every list status an Update set, in the order it was processed (tests read the order of changes).
    updates: list[dict[str, str]] = field(default_factory=list)
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
        units = loading.read_units(raw)
        subscribers = loading.read_subscribers(raw, units)
        lists = loading.read_lists(raw, units, subscribers)
        jobs = loading.read_jobs(raw, units, lists)
        return cls(
            subscriber_key_permission=bool(raw.get("account", {}).get("subscriber_key_permission", True)),
            business_units=units,
            subscribers=subscribers,
            lists=lists,
            jobs=jobs,
            sends=loading.read_sends(raw, subscribers, jobs),
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
                    "master_unsubscribe_behavior": u.master_unsubscribe_behavior,
                }
                for u in self.business_units.values()
            ],
            "subscribers": [
                {
                    "id": str(s.id),
                    "key": s.key,
                    "email": s.email,
                    "status": s.status,
                    "mid": str(s.mid),
                    "unsubscribed_date": s.unsubscribed_date,
                }
                for s in self.subscribers.values()
            ],
            "lists": [
                {
                    "id": str(lst.id),
                    "name": lst.name,
                    "type": lst.type,
                    "mid": str(lst.mid),
                    "description": lst.description,
                    "visibility": lst.visibility,
                    "classification": lst.classification,
                    "members": self._members(lst),
                }
                for lst in self.lists.values()
            ],
            "memberships": memberships_json(self),
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
            "updates": [dict(u) for u in self.updates],
        }

    def _members(self, mailing_list: MailingList) -> dict[str, str]:
        if mailing_list.type == "all_subscribers":
            return {str(s.id): s.status for s in self.subscribers.values() if s.mid == mailing_list.mid}
        return {str(sid): m.status for sid, m in mailing_list.members.items()}

    def permission(self, mid: int) -> bool:
        """The SubscriberKey permission of a unit: its own setting, else the account's."""
        own = self.business_units[mid].subscriber_key_permission
        return self.subscriber_key_permission if own is None else own

    def is_known_unit(self, mid: int) -> bool:
        """Whether ``mid`` is a business unit of this account."""
        return mid in self.business_units

    def may_act_in(self, token_mid: int, mid: int) -> bool:
        """A token acts in its own unit and, through ``Client/ID``, in the units below it; never above."""
        unit: BusinessUnit | None = self.business_units.get(mid)
        while unit is not None:
            if unit.mid == token_mid:
                return True
            unit = self.business_units.get(unit.parent_mid) if unit.parent_mid is not None else None
        return False

    def units_below(self, mid: int) -> list[int]:
        """``mid`` and every unit under it, parents before children (QueryAllAccounts' reach)."""
        return [m for m in self.business_units if self.may_act_in(mid, m)]

    # ----------------------------------------------------------------------------------------- Execute
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
            wanted = to_int(client_id)
            if wanted is None or not self.may_act_in(token_mid, wanted):
                # [I] Marketing Cloud's words for this are not documented; like its other refusals of a
                # request it could read but not act on, the result carries no ErrorCode.
                text = f"Client ID {client_id} is not a business unit this token may act in."
                return ExecuteResult("Error", text)
            mid = wanted
        return log_unsub_event(self, mid, parameters)

    def log_unsub_event(self, mid: int, parameters: list[tuple[str, str]]) -> ExecuteResult:
        """LogUnsubEvent in unit ``mid`` (``unsub.py`` has the rules)."""
        return log_unsub_event(self, mid, parameters)

    def find_subscriber(self, mid: int, name: str, value: str) -> Subscriber | None:
        """The unit's subscriber that identifier ``name`` (SubscriberID/SubscriberKey/EmailAddress) names."""
        index = self._index()
        if name == SUBSCRIBER_ID:
            found = self.subscribers.get(to_int(value))  # type: ignore[arg-type]
            return found if found is not None and found.mid == mid else None
        if name == SUBSCRIBER_KEY:
            return index.by_key.get((mid, value))
        # Email lookups (permission off): the subscriber with the lowest ID holding that address.
        return index.by_email.get((mid, value.lower()))

    def sends_of(self, subscriber: Subscriber, job: Job) -> list[Send]:
        """The subscriber's sends of ``job``, oldest first."""
        return self._index().sends_by_job.get((subscriber.id, job.id), [])

    def latest_send(self, subscriber: Subscriber) -> Send | None:
        """The most recent send to the subscriber (any job), None if never sent anything."""
        return self._index().latest_send.get(subscriber.id)

    def forget_lookups(self) -> None:
        """Drop the lookup index (an identifying field changed); the next lookup builds it again."""
        self._lookup = None

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
