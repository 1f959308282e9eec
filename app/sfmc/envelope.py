"""Build LogUnsubEvent Execute envelopes as lxml trees. Pure functions: no I/O, no Flask.

Values go into text nodes, never into formatted strings, so any Unicode (and ``<``, ``&``) is escaped by
construction. The element order follows the partner WSDL's sequences (``ExecuteRequest`` = Client, Name,
Parameters*; ``ClientID`` = ID; ``APIProperty`` = Name, Value).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Sequence
from copy import deepcopy

from lxml import etree
from lxml.builder import ElementMaker

from ..privacy import mask_email, mask_text
from .errors import SfmcRequestError
from .models import MAX_REQUESTS_PER_CALL, LogUnsubEvent
from .ns import FUEL, PARTNER, SOAP_ENV

_soap = ElementMaker(namespace=SOAP_ENV, nsmap={"soap": SOAP_ENV})
_fuel = ElementMaker(namespace=FUEL, nsmap={None: FUEL})
_api = ElementMaker(namespace=PARTNER, nsmap={None: PARTNER})

#: The LogUnsubEvent parameters in the order Marketing Cloud's own sample sends them: (API name, attribute
#: of the ``LogUnsubEvent``; the identity is its ``recipient``).
PARAMETERS: tuple[tuple[str, str], ...] = (
    ("SubscriberID", "recipient.subscriber_id"),
    ("SubscriberKey", "recipient.subscriber_key"),
    ("EmailAddress", "recipient.email"),
    ("JobID", "recipient.job_id"),
    ("ListID", "recipient.list_id"),
    ("BatchID", "recipient.batch_id"),
    ("Reason", "reason"),
)

# Characters XML 1.0 cannot carry at all (not even escaped): C0 controls except tab, LF, CR; lone
# surrogates; U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MID = re.compile(r"[1-9][0-9]{0,9}")
_ID = f"{{{PARTNER}}}ID"
_API_NAMES = tuple(api_name for api_name, _ in PARAMETERS)
_field_values = operator.attrgetter(*(field for _, field in PARAMETERS))
_VALUE = f"{{{PARTNER}}}Value"


def execute_envelope(token: str, requests: Sequence[LogUnsubEvent]) -> etree._Element:
    """One Execute call carrying 1..50 LogUnsubEvent requests, in order, authorised by ``token``."""
    check_batch_size(requests)
    envelope = deepcopy(_FULL_ENVELOPE)
    header, body = envelope
    header[0].text = token
    _fill(body[0], requests)
    return envelope


def check_batch_size(requests: Sequence[LogUnsubEvent]) -> None:
    """Raise ``SfmcRequestError`` unless there are 1..MAX_REQUESTS_PER_CALL requests."""
    if not requests:
        raise SfmcRequestError("an Execute call needs at least one request")
    if len(requests) > MAX_REQUESTS_PER_CALL:
        raise SfmcRequestError(
            f"{len(requests)} requests in one call; Marketing Cloud's limit is {MAX_REQUESTS_PER_CALL}"
        )


def refusal(request: LogUnsubEvent) -> str | None:
    """Why ``request`` cannot be sent as it is, or None when it can."""
    try:
        _fill(deepcopy(_FULL_ENVELOPE)[1][0], [request])
    except SfmcRequestError as exc:
        return str(exc)
    return None


# Envelopes are not built element by element: an envelope with MAX_REQUESTS_PER_CALL complete Requests
# (built once, below, with the ElementMaker) is copied, cut to the batch's length, filled in, and stripped
# of the parts a request does not set. Copying a finished tree happens in C, all in one document; building
# 25 elements per request with SubElement calls, then moving them into the envelope's document, made a
# batch of 50 four times slower (bench/soap_codec.py).
_FULL_REQUEST = _api.Requests(
    _api.Client(_api.ID()),
    _api.Name("LogUnsubEvent"),
    *(_api.Parameters(_api.Name(api_name), _api.Value()) for api_name, _ in PARAMETERS),
)
_FULL_ENVELOPE = _soap.Envelope(
    _soap.Header(_fuel.fueloauth()),
    _soap.Body(_api.ExecuteRequestMsg(*(deepcopy(_FULL_REQUEST) for _ in range(MAX_REQUESTS_PER_CALL)))),
)


def _fill(message: etree._Element, requests: Sequence[LogUnsubEvent]) -> None:
    """Fill the copied ``ExecuteRequestMsg``: per request Client/ID when acting in a child unit, Name, then
    the fields set."""
    del message[len(requests) :]
    client_ids = list(message.iter(_ID))
    value_elements = list(message.iter(_VALUE))  # listed first: dropping elements cannot disturb it
    position = 0
    for request, client_id in zip(requests, client_ids, strict=True):
        mid = request.recipient.mid
        if mid is None:
            _drop(client_id.getparent())
        else:
            client_id.text = _client_mid(mid)
        for value in _field_values(request):  # seven values, in the order of PARAMETERS
            value_element = value_elements[position]
            position += 1
            if value is None:
                _drop(value_element.getparent())
                continue
            try:
                value_element.text = value  # lxml escapes; it refuses what XML cannot carry at all
            except (TypeError, ValueError):
                value_element.text = _xml_text(_API_NAMES[(position - 1) % len(_API_NAMES)], value)


def _drop(element: etree._Element) -> None:
    element.getparent().remove(element)


@functools.lru_cache(maxsize=256)
def _client_mid(value: str) -> str:
    mid = str(value).strip()
    if not _MID.fullmatch(mid) or int(mid) > 2**31 - 1:
        raise SfmcRequestError("the MID (Client/ID) must be a business unit MID (a positive 32-bit number)")
    return mid


def _xml_text(api_name: str, value: object) -> str:
    """A value lxml refused, as XML can carry it: a number as text; the free-text Reason without the
    characters XML 1.0 forbids; an identifier with them is refused (a changed one could name somebody else).
    """
    text = value if isinstance(value, str) else str(value)
    if not _NOT_XML.search(text):
        return text
    if api_name == "Reason":
        return _NOT_XML.sub("", text)
    raise SfmcRequestError(f"{api_name} contains characters XML cannot carry")


def serialise(element: etree._Element) -> bytes:
    """The one way we turn a tree into bytes on the wire: UTF-8 with an XML declaration."""
    return etree.tostring(element, xml_declaration=True, encoding="utf-8")


def redacted(envelope: etree._Element) -> bytes:
    """The envelope (any of ours: Execute, Retrieve, Update) for a DEBUG log: token removed, identifiers
    and reason masked (a copy; the original is untouched)."""
    copy = deepcopy(envelope)
    for token in copy.iter(f"{{{FUEL}}}fueloauth"):
        token.text = "<redacted>"
    for parameter in copy.iter(f"{{{PARTNER}}}Parameters"):
        name = parameter.findtext(f"{{{PARTNER}}}Name")
        value = parameter.find(f"{{{PARTNER}}}Value")
        if value is None or value.text is None:
            continue
        if name == "EmailAddress":
            value.text = mask_email(value.text)
        elif name in ("SubscriberKey", "Reason"):
            value.text = mask_text(value.text)
    # Retrieve and Update (object_envelopes): the key as an element, and a filter's value (a key too).
    for element in copy.iter(f"{{{PARTNER}}}SubscriberKey", f"{{{PARTNER}}}Filter"):
        if element.tag == f"{{{PARTNER}}}Filter":
            element = element.find(_VALUE)
        if element is not None and element.text:
            element.text = mask_text(element.text)
    return serialise(copy)
