"""The answers to Retrieve and Update, in the real shapes (PROTOCOL.md, "Retrieve and Update").

``RetrieveResponseMsg`` = OverallStatus, RequestID, Results* each ``xsi:type``'d, children unprefixed in the
partner namespace, elements in the WSDL's order (``object_types.py``). ``UpdateResponse`` = Results+,
RequestID, OverallStatus (in that order), each result with ``OrdinalID`` and the object echoed as
``Object xsi:type="Subscriber"`` (the WSDL requires it; real answers sometimes leave it out). Only values
the schema accepts are echoed, so every answer passes the real WSDL.
"""

from __future__ import annotations

from lxml import etree
from lxml.builder import ElementMaker

from .model import ACTIVE, DELETED, UNSUBSCRIBED
from .object_types import ObjectType, Row
from .retrieve import RetrieveAnswer
from .soap import PARTNER, XSI, answer_envelope
from .unsub import to_int
from .update import UpdateOutcome

_api = ElementMaker(namespace=PARTNER, nsmap={None: PARTNER})
_TYPE = f"{{{XSI}}}type"
_NIL = {f"{{{XSI}}}nil": "true"}
_STATUSES = (ACTIVE, "Bounced", "Held", UNSUBSCRIBED, DELETED)


def _element(tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.Element(f"{{{PARTNER}}}{tag}", attributes or None)
    if text is not None:
        element.text = text
    return element


def _nil(tag: str) -> etree._Element:
    return etree.Element(f"{{{PARTNER}}}{tag}", _NIL)


def _object(object_type: ObjectType, properties: list[str], row: Row) -> etree._Element:
    result = _api.Results({_TYPE: object_type.name})
    requested = set(properties)
    for prop, path, mode in object_type.slots:
        value = row.get(prop) if prop is not None else None
        parent, _, tag = path.rpartition("/")
        if mode == "nil" or (mode == "value_or_nil" and (prop not in requested or value is None)):
            result.append(_nil(tag))
            continue
        if mode != "always" and (prop not in requested or value is None):
            continue
        child = _element(tag, value)
        if parent:
            holder = result.find(f"{{{PARTNER}}}{parent}")
            if holder is None:
                holder = _element(parent)
                result.append(holder)
            holder.append(child)
        else:
            result.append(child)
    return result


def retrieve_response(answer: RetrieveAnswer, relates_to: str | None, version: str) -> bytes:
    """The RetrieveResponseMsg envelope of one page (no Results with an ``Error: …`` status)."""
    message = _api.RetrieveResponseMsg(_api.OverallStatus(answer.status), _api.RequestID(answer.request_id))
    if answer.object_type is not None and not answer.status.startswith("Error"):
        for row in answer.rows:
            message.append(_object(answer.object_type, answer.properties, row))
    return answer_envelope("RetrieveResponse", relates_to, message, version)


def _echo(outcome: UpdateOutcome) -> etree._Element:
    """The object as sent (and found), with only schema-valid values."""
    sent = outcome.sent
    echo = _api.Object({_TYPE: "Subscriber"})
    client = outcome.mid if outcome.mid is not None else to_int(sent.client_id or "")
    if sent.client_id and client is not None:
        echo.append(_api.Client(_api.ID(str(client))))
    echo.append(_nil("PartnerKey"))
    subscriber_id = outcome.subscriber.id if outcome.subscriber is not None else to_int(sent.id or "")
    if subscriber_id is not None:
        echo.append(_api.ID(str(subscriber_id)))
    echo.append(_nil("ObjectID"))
    if sent.email is not None:
        echo.append(_element("EmailAddress", sent.email))
    if sent.subscriber_key is not None:
        echo.append(_element("SubscriberKey", sent.subscriber_key))
    if sent.status in _STATUSES:
        echo.append(_api.Status(sent.status))
    for change in sent.lists:
        entry = _api.Lists(_nil("PartnerKey"))
        list_id = to_int(change.id or "")
        if list_id is not None:
            entry.append(_api.ID(str(list_id)))
        entry.append(_nil("ObjectID"))
        if change.status in _STATUSES:
            entry.append(_api.Status(change.status))
        if change.action is not None:
            entry.append(_element("Action", change.action))
        echo.append(entry)
    return echo


def overall(outcomes: list[UpdateOutcome]) -> str:
    """``OK`` all updated, ``Error`` none, ``Has Errors`` some."""
    failed = sum(1 for o in outcomes if not o.ok)
    return "OK" if failed == 0 else ("Error" if failed == len(outcomes) else "Has Errors")


def update_response(
    outcomes: list[UpdateOutcome], request_id: str, relates_to: str | None, version: str
) -> bytes:
    """The UpdateResponse envelope: one result per object, then RequestID, then OverallStatus."""
    message = _api.UpdateResponse()
    for ordinal, outcome in enumerate(outcomes):
        result = _api.Results(
            _api.StatusCode(outcome.status_code),
            _api.StatusMessage(outcome.message),
            _api.OrdinalID(str(ordinal)),
        )
        if outcome.error_code is not None:
            result.append(_api.ErrorCode(str(outcome.error_code)))
        result.append(_echo(outcome))
        message.append(result)
    message.append(_api.RequestID(request_id))
    message.append(_api.OverallStatus(overall(outcomes)))
    return answer_envelope("UpdateResponse", relates_to, message, version)
