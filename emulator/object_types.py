"""The objects Retrieve can read: their retrievable properties, rows and the WSDL order of their elements.

Each type lists its ``slots`` in the order the WSDL's type (with its base types, ``APIObject`` first) puts the
elements, so every answer passes the schema: ``(property, element path, mode)``. Modes: ``value`` (written
when asked for and set; ``""`` gives ``<Description />``), ``nil`` (always ``xsi:nil="true"``, as
Marketing Cloud writes ``PartnerKey``), ``value_or_nil`` (the value when asked for, else nil: ``ObjectID``),
``always`` (required by the schema: ``Account.AccountType``). Rows map property names to text (None: unset).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .memberships import memberships_of
from .model import Subscriber

if TYPE_CHECKING:
    from .state import Account

Row = dict[str, str | None]
Slot = tuple[str | None, str, str]
_OBJECT_IDS = uuid.UUID("0b6c7f0e-5c1a-4f7e-8d0a-52e4b5f0c001")

# APIObject's head: Client (ID, then PartnerClientKey, never set here) and PartnerKey (always nil).
_API_HEAD: list[Slot] = [
    ("Client.ID", "Client/ID", "value"),
    ("Client.PartnerClientKey", "Client/PartnerClientKey", "value"),
    ("PartnerKey", "PartnerKey", "nil"),
]


@dataclass(frozen=True)
class ObjectType:
    """One retrievable object type."""

    name: str
    slots: list[Slot]
    rows: Callable[[Account, list[int], set[str] | None], Iterable[Row]]
    numeric: frozenset[str]  # properties compared as numbers by filters

    @property
    def properties(self) -> list[str]:
        """The retrievable property names, in WSDL order."""
        return [p for p, _, mode in self.slots if p is not None and mode != "always"]


def object_id(*parts: object) -> str:
    """A stable GUID for an object (the same row always has the same ObjectID)."""
    return str(uuid.uuid5(_OBJECT_IDS, "/".join(str(p) for p in parts)))


def _list_rows(account: Account, mids: list[int], keys: set[str] | None) -> Iterator[Row]:
    for mid in mids:
        for lst in sorted((x for x in account.lists.values() if x.mid == mid), key=lambda x: x.id):
            yield {
                "Client.ID": str(lst.mid),
                "CreatedDate": lst.created,
                "ModifiedDate": lst.created,
                "ID": str(lst.id),
                "ObjectID": object_id("list", lst.id),
                "CustomerKey": lst.customer_key,
                "ListName": lst.name,
                "Category": str(lst.category),
                "Type": lst.visibility,
                "Description": lst.description,
                "ListClassification": lst.classification,
            }


def _people(account: Account, mids: list[int], keys: set[str] | None) -> Iterator[Subscriber]:
    """Subscribers of those units, unit by unit in ID order; only the given keys' when a filter pins them."""
    for mid in mids:
        if keys is not None:
            found = (account.find_subscriber(mid, "SubscriberKey", key) for key in keys)
            yield from sorted((s for s in found if s is not None), key=lambda s: s.id)
        else:
            yield from sorted((s for s in account.subscribers.values() if s.mid == mid), key=lambda s: s.id)


def _list_subscriber_rows(account: Account, mids: list[int], keys: set[str] | None) -> Iterator[Row]:
    for subscriber in _people(account, mids, keys):
        for mailing_list, membership in memberships_of(account, subscriber):
            yield {
                "Client.ID": str(subscriber.mid),
                "CreatedDate": membership.created,
                "ModifiedDate": membership.modified,
                "ObjectID": object_id("member", mailing_list.id, subscriber.id),
                "Status": membership.status,
                "ListID": str(mailing_list.id),
                "SubscriberKey": subscriber.key,
            }


def _subscriber_rows(account: Account, mids: list[int], keys: set[str] | None) -> Iterator[Row]:
    for subscriber in _people(account, mids, keys):
        yield {
            "Client.ID": str(subscriber.mid),
            "CreatedDate": subscriber.created,
            "ID": str(subscriber.id),
            "ObjectID": object_id("subscriber", subscriber.id),
            "EmailAddress": subscriber.email,
            "SubscriberKey": subscriber.key,
            "UnsubscribedDate": subscriber.unsubscribed_date,
            "Status": subscriber.status,
            "EmailTypePreference": subscriber.email_type,
        }


def _business_unit_rows(account: Account, mids: list[int], keys: set[str] | None) -> Iterator[Row]:
    for mid in mids:
        unit = account.business_units[mid]
        yield {
            "Client.ID": str(unit.mid),
            "ID": str(unit.mid),
            "AccountType": "ENTERPRISE_2" if unit.parent_mid is None else "BUSINESS_UNIT",
            "ParentID": None if unit.parent_mid is None else str(unit.parent_mid),
            "Name": unit.name,
            "MasterUnsubscribeBehavior": unit.master_unsubscribe_behavior,
        }


TYPES: dict[str, ObjectType] = {
    t.name: t
    for t in (
        ObjectType(
            "List",
            [
                *_API_HEAD,
                ("CreatedDate", "CreatedDate", "value"),
                ("ModifiedDate", "ModifiedDate", "value"),
                ("ID", "ID", "value"),
                ("ObjectID", "ObjectID", "value_or_nil"),
                ("CustomerKey", "CustomerKey", "value"),
                ("ListName", "ListName", "value"),
                ("Category", "Category", "value"),
                ("Type", "Type", "value"),
                ("Description", "Description", "value"),
                ("ListClassification", "ListClassification", "value"),
            ],
            _list_rows,
            frozenset({"Client.ID", "ID", "Category"}),
        ),
        ObjectType(
            "ListSubscriber",
            [
                *_API_HEAD,
                ("CreatedDate", "CreatedDate", "value"),
                ("ModifiedDate", "ModifiedDate", "value"),
                ("ObjectID", "ObjectID", "value_or_nil"),
                ("Status", "Status", "value"),
                ("ListID", "ListID", "value"),
                ("SubscriberKey", "SubscriberKey", "value"),
            ],
            _list_subscriber_rows,
            frozenset({"Client.ID", "ListID"}),
        ),
        ObjectType(
            "Subscriber",
            [
                *_API_HEAD,
                ("CreatedDate", "CreatedDate", "value"),
                ("ID", "ID", "value"),
                ("ObjectID", "ObjectID", "value_or_nil"),
                ("EmailAddress", "EmailAddress", "value"),
                ("SubscriberKey", "SubscriberKey", "value"),
                ("UnsubscribedDate", "UnsubscribedDate", "value"),
                ("Status", "Status", "value"),
                ("EmailTypePreference", "EmailTypePreference", "value"),
            ],
            _subscriber_rows,
            frozenset({"Client.ID", "ID"}),
        ),
        ObjectType(
            "BusinessUnit",
            [
                *_API_HEAD,
                ("ID", "ID", "value"),
                (None, "ObjectID", "nil"),
                ("AccountType", "AccountType", "always"),
                ("ParentID", "ParentID", "value"),
                ("Name", "Name", "value"),
                ("MasterUnsubscribeBehavior", "MasterUnsubscribeBehavior", "value"),
            ],
            _business_unit_rows,
            frozenset({"Client.ID", "ID", "ParentID"}),
        ),
    )
}
