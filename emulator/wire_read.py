"""Reading Retrieve and Update request bodies into plain records (the envelope is ``envelope.py``'s job).

Read the way .NET's deserialiser reads them, leniently: elements are found by their qualified names in the
partner namespace (a wrong-case or unqualified name is simply not there), unknown elements are ignored and
order is not checked. That leniency is what lets the SDKs' schema-invalid envelopes through, as Marketing
Cloud lets them through: a RetrieveRequest holding only ``ContinueRequest``, an UpdateRequest without
``Options`` (suds drops the SDK's ``None``), a filter's ``xsi:type`` with any prefix or none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from .soap import PARTNER, XSI, read_error


@dataclass
class Filter:
    """A ``SimpleFilterPart`` (property, operator, values) or ``ComplexFilterPart`` (left, logical, right)."""

    kind: str  # "SimpleFilterPart" | "ComplexFilterPart" | anything else a client wrote
    property: str | None = None
    operator: str | None = None
    values: list[str] = field(default_factory=list)
    left: Filter | None = None
    logical: str | None = None
    right: Filter | None = None


@dataclass
class RetrieveQuery:
    """One ``RetrieveRequest``."""

    object_type: str | None
    properties: list[str]
    filter: Filter | None
    client_ids: list[str]
    continue_request: str | None
    query_all_accounts: bool


@dataclass
class ListChange:
    """One ``Subscriber.Lists`` entry of an Update."""

    id: str | None
    status: str | None
    action: str | None


@dataclass
class UpdateObject:
    """One ``Objects`` of an UpdateRequest (only the Subscriber fields the emulator acts on)."""

    xsi_type: str | None
    client_id: str | None
    id: str | None
    subscriber_key: str | None
    email: str | None
    status: str | None
    lists: list[ListChange]


def _q(name: str) -> str:
    return f"{{{PARTNER}}}{name}"


def _text(parent: etree._Element, name: str) -> str | None:
    element = parent.find(_q(name))
    return None if element is None else (element.text or "").strip()


def _raw(parent: etree._Element, name: str) -> str | None:
    """The text as sent (keys and addresses are not trimmed: a key with a space is another key)."""
    element = parent.find(_q(name))
    return None if element is None else (element.text or "")


def xsi_type(element: etree._Element) -> str | None:
    """The local part of ``xsi:type``: ``SimpleFilterPart`` for ``ns1:SimpleFilterPart`` and for itself."""
    value = element.get(f"{{{XSI}}}type")
    return None if value is None else value.rpartition(":")[2].strip()


def _client_id(parent: etree._Element) -> str | None:
    client = parent.find(_q("Client"))
    if client is None:
        return None
    # ID is the field to use; ClientID is its deprecated twin (the WSDL keeps both).
    return _text(client, "ID") or _text(client, "ClientID")


def _filter(element: etree._Element | None) -> Filter | None:
    if element is None:
        return None
    kind = xsi_type(element)
    if kind is None:  # no xsi:type at all: tell the two kinds apart by their children
        kind = "ComplexFilterPart" if element.find(_q("LeftOperand")) is not None else "SimpleFilterPart"
    if kind == "ComplexFilterPart":
        return Filter(
            kind,
            left=_filter(element.find(_q("LeftOperand"))),
            logical=_text(element, "LogicalOperator"),
            right=_filter(element.find(_q("RightOperand"))),
        )
    values = [(v.text or "") for v in element.iterchildren(_q("Value"))]
    values += [(v.text or "").strip() for v in element.iterchildren(_q("DateValue"))]
    return Filter(kind, _text(element, "Property"), _text(element, "SimpleOperator"), values)


def read_retrieve(payload: etree._Element) -> RetrieveQuery:
    """A ``RetrieveRequestMsg``'s one ``RetrieveRequest``; ``SoapClientFault`` when there is none."""
    request = payload.find(_q("RetrieveRequest")) if payload.tag == _q("RetrieveRequestMsg") else None
    if request is None:
        raise read_error(
            "The Body must hold a RetrieveRequestMsg with a RetrieveRequest of "
            "http://exacttarget.com/wsdl/partnerAPI."
        )
    client_ids = [
        value
        for element in request.iterchildren(_q("ClientIDs"))
        if (value := (_text(element, "ID") or _text(element, "ClientID")))
    ]
    properties = [(p.text or "").strip() for p in request.iterchildren(_q("Properties"))]
    return RetrieveQuery(
        object_type=_text(request, "ObjectType"),
        properties=[p for p in properties if p],
        filter=_filter(request.find(_q("Filter"))),
        client_ids=client_ids,
        continue_request=_text(request, "ContinueRequest") or None,
        query_all_accounts=(_text(request, "QueryAllAccounts") or "").lower() in ("true", "1"),
    )


def read_update(payload: etree._Element) -> list[UpdateObject]:
    """An ``UpdateRequest``'s objects in order; ``SoapClientFault`` when it has none."""
    if payload.tag != _q("UpdateRequest"):
        raise read_error("The Body must hold an UpdateRequest of http://exacttarget.com/wsdl/partnerAPI.")
    objects = []
    for element in payload.iterchildren(_q("Objects")):
        lists = [
            ListChange(_text(entry, "ID"), _text(entry, "Status"), _text(entry, "Action"))
            for entry in element.iterchildren(_q("Lists"))
        ]
        objects.append(
            UpdateObject(
                xsi_type=xsi_type(element),
                client_id=_client_id(element),
                id=_text(element, "ID"),
                subscriber_key=_raw(element, "SubscriberKey"),
                email=_raw(element, "EmailAddress"),
                status=_text(element, "Status"),
                lists=lists,
            )
        )
    if not objects:
        raise read_error("The UpdateRequest holds no Objects.")
    return objects
