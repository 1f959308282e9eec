"""Talk to the emulator as a SOAP client would, with envelopes built here with lxml (never with app/sfmc).

Kept independent of the app's client on purpose: the emulator is the yardstick the client is measured by.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from lxml import etree
from lxml.builder import ElementMaker

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "http://exacttarget.com/wsdl/partnerAPI"
FUEL = "http://exacttarget.com"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
APIFAULT = "urn:fault.partner.exacttarget.com"

CLIENT_ID = "demo-client-id"
CLIENT_SECRET = "demo-client-secret"
PARENT_MID = "510001000"
CHILD_MID = "510001001"

_soap = ElementMaker(namespace=SOAP_ENV, nsmap={"soap": SOAP_ENV})
_api = ElementMaker(namespace=PARTNER, nsmap={None: PARTNER})
_fuel = ElementMaker(namespace=FUEL, nsmap={None: FUEL})

Params = list[tuple[str, str]]


def parse(data: bytes) -> etree._Element:
    """Parse an answer with a hardened parser."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(data, parser)


def get_token(base_url: str, account_id: str | None = None, **overrides: str) -> str:
    body = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    if account_id is not None:
        body["account_id"] = account_id
    body.update(overrides)
    response = requests.post(f"{base_url}/v2/token", json=body, timeout=5)
    response.raise_for_status()
    return response.json()["access_token"]


def request_element(
    params: Params, client_id: str | None = None, name: str | None = "LogUnsubEvent"
) -> etree._Element:
    """One ``ExecuteRequest``: Client? , Name? , Parameters* in the WSDL's order."""
    parts = []
    if client_id is not None:
        parts.append(_api.Client(_api.ID(client_id)))
    if name is not None:
        parts.append(_api.Name(name))
    parts.extend(_api.Parameters(_api.Name(n), _api.Value(v)) for n, v in params)
    return _api.Requests(*parts)


def envelope(token: str | None, requests_: list[etree._Element], token_namespace: bool = True) -> bytes:
    """An Execute envelope with the ``fueloauth`` header and the given ``Requests``."""
    header_parts = []
    if token is not None:
        if token_namespace:
            header_parts.append(_fuel.fueloauth(token))
        else:
            bare = etree.Element("fueloauth")
            bare.text = token
            header_parts.append(bare)
    message = _api.ExecuteRequestMsg(*requests_)
    return etree.tostring(_soap.Envelope(_soap.Header(*header_parts), _soap.Body(message)), encoding="utf-8")


def post_soap(
    base_url: str, body: bytes, action: str = "Execute", path: str = "Service.asmx", timeout: float = 5
) -> requests.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": action}
    return requests.post(f"{base_url}/{path}", data=body, headers=headers, timeout=timeout)


@dataclass
class Result:
    status_code: str
    status_message: str
    error_code: str | None


@dataclass
class Answer:
    overall_status: str
    request_id: str | None
    results: list[Result]


def read_answer(response: requests.Response) -> Answer:
    """Read an ExecuteResponseMsg (HTTP 200); direct children only, as ``Results`` appears at two levels."""
    assert response.status_code == 200, response.text
    root = parse(response.content)
    message = root.find(f"{{{SOAP_ENV}}}Body/{{{PARTNER}}}ExecuteResponseMsg")
    assert message is not None, response.text

    def text(parent: etree._Element, tag: str) -> str | None:
        element = parent.find(f"{{{PARTNER}}}{tag}")
        return None if element is None else element.text

    results = [
        Result(text(r, "StatusCode") or "", text(r, "StatusMessage") or "", text(r, "ErrorCode"))
        for r in message.iterchildren(f"{{{PARTNER}}}Results")
    ]
    return Answer(text(message, "OverallStatus") or "", text(message, "RequestID"), results)


@dataclass
class Fault:
    faultcode: str
    faultstring: str
    faultcode_namespace: str | None
    apifault_code: str | None


def read_fault(response: requests.Response) -> Fault:
    """Read a SOAP 1.1 fault (HTTP 500), resolving the faultcode prefix to its namespace."""
    assert response.status_code in (500, 413), (response.status_code, response.text)
    root = parse(response.content)
    fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None, response.text
    code = fault.find("faultcode")
    prefix = (code.text or "").partition(":")[0]
    apifault_code = fault.findtext(f"detail/{{{APIFAULT}}}apifault/{{{APIFAULT}}}Code")
    return Fault(code.text or "", fault.findtext("faultstring") or "", code.nsmap.get(prefix), apifault_code)


def unsub(base_url: str, token: str, params: Params, client_id: str | None = None) -> Result:
    """One LogUnsubEvent; its single result."""
    answer = read_answer(post_soap(base_url, envelope(token, [request_element(params, client_id)])))
    assert len(answer.results) == 1
    return answer.results[0]
