"""Build Retrieve and Update envelopes as lxml trees (``envelope.py`` builds Execute). Pure functions.

Values go into text nodes, never into formatted strings. The element order follows the partner WSDL's
sequences: ``RetrieveRequest`` = ClientIDs*, ObjectType, Properties*, Filter?, …, ContinueRequest?;
``UpdateRequest`` = Options, Objects+; a ``Subscriber`` = (APIObject) Client?, then EmailAddress?,
SubscriberKey?, …, Lists*; a ``SubscriberList`` = (APIObject) ID?, then Status?, …, Action?.

A continued Retrieve repeats ObjectType, Properties and Filter next to ``ContinueRequest`` (the form the
WSDL allows; the SDKs that send ``ContinueRequest`` alone send a schema-invalid request Marketing Cloud
happens to take).
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree
from lxml.builder import ElementMaker

from .envelope import _NOT_XML, _client_mid
from .errors import SfmcRequestError
from .models import MAX_REQUESTS_PER_CALL
from .ns import FUEL, PARTNER, SOAP_ENV, XSI
from .objects import SETTABLE_STATUSES, ListStatusChange, RetrieveQuery

_soap = ElementMaker(namespace=SOAP_ENV, nsmap={"soap": SOAP_ENV})
_fuel = ElementMaker(namespace=FUEL, nsmap={None: FUEL})
_api = ElementMaker(namespace=PARTNER, nsmap={None: PARTNER, "xsi": XSI})
_XSI_TYPE = f"{{{XSI}}}type"

#: Object types, property and filter names are Marketing Cloud's identifiers: letters, digits, dots.
_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._")


def retrieve_envelope(
    token: str, query: RetrieveQuery, continue_request: str | None = None
) -> etree._Element:
    """One Retrieve of ``query``; with ``continue_request`` (the previous page's RequestID) its next page."""
    request = _api.RetrieveRequest()
    if query.mid is not None:
        request.append(_api.ClientIDs(_api.ID(_mid(query.mid))))
    request.append(_api.ObjectType(_name(query.object_type)))
    for name in query.properties:
        request.append(_api.Properties(_name(name)))
    if query.filter is not None:
        condition = query.filter
        request.append(
            _api.Filter(
                _api.Property(_name(condition.property)),
                _api.SimpleOperator(_name(condition.operator)),
                _api.Value(_text("the filter value", condition.value)),
                {_XSI_TYPE: "SimpleFilterPart"},
            )
        )
    if continue_request is not None:
        request.append(_api.ContinueRequest(_text("ContinueRequest", continue_request)))
    return _envelope(token, _api.RetrieveRequestMsg(request))


def update_envelope(token: str, changes: Sequence[ListStatusChange]) -> etree._Element:
    """One Update of 1..50 list changes, one ``Objects xsi:type="Subscriber"`` each, in order (its
    position is the ``OrdinalID`` of its result)."""
    check_update_size(changes)
    return _envelope(token, _api.UpdateRequest(_api.Options(), *(_subscriber(change) for change in changes)))


def check_update_size(changes: Sequence[ListStatusChange]) -> None:
    """Raise ``SfmcRequestError`` unless there are 1..MAX_REQUESTS_PER_CALL changes (larger: refused, the
    caller batches, as for Execute)."""
    if not changes:
        raise SfmcRequestError("an Update call needs at least one change")
    if len(changes) > MAX_REQUESTS_PER_CALL:
        raise SfmcRequestError(
            f"{len(changes)} changes in one call; Marketing Cloud's limit is {MAX_REQUESTS_PER_CALL}"
        )


def change_refusal(change: ListStatusChange) -> str | None:
    """Why ``change`` cannot be sent as it is, or None when it can."""
    try:
        _subscriber(change)
    except SfmcRequestError as exc:
        return str(exc)
    return None


def _subscriber(change: ListStatusChange) -> etree._Element:
    """``Objects xsi:type="Subscriber"``: Client/ID (a child unit only), SubscriberKey, one Lists.

    EmailAddress is never sent, although the type has it: on an Update it would *set* the address, and the
    one a link carries may be older than Marketing Cloud's; SubscriberKey alone finds the person.
    """
    key = change.recipient.subscriber_key
    if not key or not key.strip():
        raise SfmcRequestError("a list change needs the SubscriberKey")
    if change.status not in SETTABLE_STATUSES:
        raise SfmcRequestError(f"a list status must be one of {sorted(SETTABLE_STATUSES)}")
    subscriber = _api.Objects({_XSI_TYPE: "Subscriber"})
    if change.recipient.mid is not None:
        subscriber.append(_api.Client(_api.ID(_client_mid(change.recipient.mid))))
    subscriber.append(_api.SubscriberKey(_text("SubscriberKey", key)))
    subscriber.append(
        _api.Lists(_api.ID(_list_id(change.list_id)), _api.Status(change.status), _api.Action("Update"))
    )
    return subscriber


def _envelope(token: str, message: etree._Element) -> etree._Element:
    return _soap.Envelope(_soap.Header(_fuel.fueloauth(token)), _soap.Body(message))


def _mid(mid: int) -> str:
    if isinstance(mid, bool) or not isinstance(mid, int):
        raise SfmcRequestError("the MID (ClientIDs/ID) must be a number")
    return _client_mid(str(mid))


def _list_id(list_id: int) -> str:
    text = str(list_id).strip()
    if isinstance(list_id, bool) or not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**31:
        raise SfmcRequestError("a list ID must be a positive 32-bit number")
    return str(int(text))


def _name(name: str) -> str:
    if not name or not set(name) <= _NAME_CHARACTERS:
        raise SfmcRequestError(f"{name!r} is not a Marketing Cloud object or property name")
    return name


def _text(what: str, value: str) -> str:
    if not isinstance(value, str) or _NOT_XML.search(value):
        raise SfmcRequestError(f"{what} contains characters XML cannot carry")
    return value
