"""Retrieve and Update as a client sends them, built here with lxml (never with app/sfmc), and their readers.

Like ``emu_helpers``, kept independent of the app's client: the emulator is the client's yardstick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import requests
from emu_helpers import FUEL, PARTNER, SOAP_ENV, parse, post_soap
from lxml import etree
from lxml.builder import ElementMaker

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"

_api = ElementMaker(namespace=PARTNER, nsmap={None: PARTNER, "xsi": XSI})
_fuel = ElementMaker(namespace=FUEL, nsmap={None: FUEL})
FILTER_PREFIXES = ("par", "ns1", "q1")


def simple_filter(
    prop: str, value: str | Sequence[str], operator: str = "equals", prefix: str | None = "par"
):
    """A ``Filter`` element holding a SimpleFilterPart; ``prefix`` None writes ``xsi:type`` without one."""
    values = [value] if isinstance(value, str) else list(value)
    nsmap = {None: PARTNER, "xsi": XSI}
    if prefix:
        nsmap[prefix] = PARTNER
    xsi_type = f"{prefix}:SimpleFilterPart" if prefix else "SimpleFilterPart"
    element = etree.Element(f"{{{PARTNER}}}Filter", {f"{{{XSI}}}type": xsi_type}, nsmap=nsmap)
    etree.SubElement(element, f"{{{PARTNER}}}Property").text = prop
    etree.SubElement(element, f"{{{PARTNER}}}SimpleOperator").text = operator
    for item in values:
        etree.SubElement(element, f"{{{PARTNER}}}Value").text = item
    return element


def retrieve_request(
    object_type: str | None,
    properties: Sequence[str] = (),
    filter_: etree._Element | None = None,
    client_ids: Sequence[str] = (),
    continue_request: str | None = None,
    query_all_accounts: bool | None = None,
) -> etree._Element:
    """A ``RetrieveRequestMsg`` in the WSDL's element order."""
    parts = [_api.ClientIDs(_api.ID(mid)) for mid in client_ids]
    if object_type is not None:
        parts.append(_api.ObjectType(object_type))
    parts.extend(_api.Properties(p) for p in properties)
    if filter_ is not None:
        parts.append(filter_)
    if continue_request is not None:
        parts.append(_api.ContinueRequest(continue_request))
    if query_all_accounts is not None:
        parts.append(_api.QueryAllAccounts("true" if query_all_accounts else "false"))
    # The prefixes a filter's xsi:type may use are declared on the root: lxml drops a declaration of the
    # partner namespace made further down as redundant, which would leave the QName's prefix undeclared.
    root = ElementMaker(
        namespace=PARTNER, nsmap={None: PARTNER, "xsi": XSI, **dict.fromkeys(FILTER_PREFIXES, PARTNER)}
    )
    return root.RetrieveRequestMsg(_api.RetrieveRequest(*parts))


def list_change(list_id: str, status: str | None = None, action: str | None = "Update") -> etree._Element:
    """One ``Subscriber.Lists`` entry: ID, Status, Action (APIObject's ID first, as the WSDL orders them)."""
    entry = _api.Lists(_api.ID(list_id))
    if status is not None:
        entry.append(_api.Status(status))
    if action is not None:
        entry.append(_api.Action(action))
    return entry


def subscriber_object(
    key: str | None,
    lists: Sequence[etree._Element] = (),
    client_id: str | None = None,
    email: str | None = None,
    status: str | None = None,
) -> etree._Element:
    """``Objects xsi:type="Subscriber"``, children in the WSDL order (Client, EmailAddress, ..., Lists)."""
    parts: list = []
    if client_id is not None:
        parts.append(_api.Client(_api.ID(client_id)))
    if email is not None:
        parts.append(_api.EmailAddress(email))
    if key is not None:
        parts.append(_api.SubscriberKey(key))
    if status is not None:
        parts.append(_api.Status(status))
    parts.extend(lists)
    return _api.Objects({f"{{{XSI}}}type": "Subscriber"}, *parts)


def update_request(objects: Sequence[etree._Element], options: bool = True) -> etree._Element:
    """An ``UpdateRequest``: Options (empty) then Objects."""
    return _api.UpdateRequest(*([_api.Options()] if options else []), *objects)


def wrap(
    token: str | None, payload: etree._Element, version: str = "1.1", action: str | None = None
) -> bytes:
    """An envelope around ``payload``; SOAP 1.2 carries the action as WS-Addressing ``Action``."""
    soap_ns = SOAP_ENV if version == "1.1" else SOAP12_ENV
    soap = ElementMaker(namespace=soap_ns, nsmap={"s": soap_ns, "a": WSA})
    header = soap.Header()
    if action is not None:
        etree.SubElement(header, f"{{{WSA}}}Action").text = action
    if token is not None:
        header.append(_fuel.fueloauth(token))
    return etree.tostring(soap.Envelope(header, soap.Body(payload)), encoding="utf-8")


def post_12(base_url: str, body: bytes) -> requests.Response:
    """POST a SOAP 1.2 envelope as the C# SDK does: ``application/soap+xml`` and no SOAPAction header."""
    headers = {"Content-Type": "application/soap+xml; charset=utf-8"}
    return requests.post(f"{base_url}/Service.asmx", data=body, headers=headers, timeout=10)


@dataclass
class Page:
    """A RetrieveResponseMsg read back: status, RequestID, rows (element path -> text) and xsi:types."""

    overall_status: str
    request_id: str | None
    rows: list[dict[str, str | None]]
    types: list[str]
    raw: bytes


def _row(result: etree._Element) -> dict[str, str | None]:
    row: dict[str, str | None] = {}
    for child in result:
        name = etree.QName(child).localname
        if child.get(f"{{{XSI}}}nil") == "true":
            row[name] = None
        elif len(child):
            for grandchild in child:
                row[f"{name}.{etree.QName(grandchild).localname}"] = grandchild.text or ""
        else:
            row[name] = child.text or ""
    return row


def read_page(response: requests.Response, soap_ns: str = SOAP_ENV) -> Page:
    """Read a RetrieveResponseMsg (HTTP 200)."""
    assert response.status_code == 200, response.text
    message = parse(response.content).find(f"{{{soap_ns}}}Body/{{{PARTNER}}}RetrieveResponseMsg")
    assert message is not None, response.text
    results = list(message.iterchildren(f"{{{PARTNER}}}Results"))
    return Page(
        message.findtext(f"{{{PARTNER}}}OverallStatus") or "",
        message.findtext(f"{{{PARTNER}}}RequestID"),
        [_row(r) for r in results],
        [r.get(f"{{{XSI}}}type") or "" for r in results],
        response.content,
    )


def retrieve(base_url: str, token: str, *args, **kwargs) -> Page:
    """One Retrieve over SOAP 1.1 with ``SOAPAction: Retrieve``."""
    return read_page(post_soap(base_url, wrap(token, retrieve_request(*args, **kwargs)), action="Retrieve"))


@dataclass
class UpdateResult:
    """One UpdateResponse result read back."""

    status_code: str
    status_message: str
    ordinal_id: str | None
    error_code: str | None


def read_update(response: requests.Response, soap_ns: str = SOAP_ENV) -> tuple[str, list[UpdateResult]]:
    """``(OverallStatus, results)`` of an UpdateResponse (HTTP 200); direct children only."""
    assert response.status_code == 200, response.text
    message = parse(response.content).find(f"{{{soap_ns}}}Body/{{{PARTNER}}}UpdateResponse")
    assert message is not None, response.text
    results = [
        UpdateResult(
            r.findtext(f"{{{PARTNER}}}StatusCode") or "",
            r.findtext(f"{{{PARTNER}}}StatusMessage") or "",
            r.findtext(f"{{{PARTNER}}}OrdinalID"),
            r.findtext(f"{{{PARTNER}}}ErrorCode"),
        )
        for r in message.iterchildren(f"{{{PARTNER}}}Results")
    ]
    return message.findtext(f"{{{PARTNER}}}OverallStatus") or "", results


def update(base_url: str, token: str, objects: Sequence[etree._Element]) -> tuple[str, list[UpdateResult]]:
    """One Update over SOAP 1.1 with ``SOAPAction: Update``."""
    return read_update(post_soap(base_url, wrap(token, update_request(objects)), action="Update"))


def membership(state: dict, list_id: str, key: str, mid: str | None = None) -> str | None:
    """The status of ``key`` on ``list_id`` in ``/_emulator/state``'s ``memberships`` (None: not on it)."""
    found = [
        m["status"]
        for m in state["memberships"]
        if m["list_id"] == list_id and m["subscriber_key"] == key and (mid is None or m["mid"] == mid)
    ]
    return found[0] if found else None
