"""SOAP on the emulator's side: the hardened parser, Execute's request reader, answer envelopes.

Execute requests are read the way Marketing Cloud reads them: the Body validated against
``schema/execute.xsd`` (our own copy of the WSDL's Execute types); ``envelope.py`` reads the frame (SOAP 1.1
or 1.2, token in ``fueloauth``). Answers carry the real header (WS-Addressing and a WS-Security timestamp),
in the SOAP version of the request. Retrieve and Update have their own readers and answers
(``wire_read.py``, ``answers.py``); faults are in ``soap_faults.py``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lxml import etree
from lxml.builder import ElementMaker

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
PARTNER = "http://exacttarget.com/wsdl/partnerAPI"
FUEL = "http://exacttarget.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
APIFAULT = "urn:fault.partner.exacttarget.com"

MAX_BODY_BYTES = 1024 * 1024
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "execute.xsd"
OBJECT_REFERENCE = "Object reference not set to an instance of an object."

_ENVELOPE_NSMAP = {"soap": SOAP_ENV, "xsi": XSI, "xsd": XSD, "wsa": WSA, "wsse": WSSE, "wsu": WSU}
_SOAP_NS = {"1.1": SOAP_ENV, "1.2": SOAP12_ENV}
CONTENT_TYPES = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
_wsa = ElementMaker(namespace=WSA)
_wsse = ElementMaker(namespace=WSSE, nsmap={"wsse": WSSE})
_wsu = ElementMaker(namespace=WSU, nsmap={"wsu": WSU})


def soap_maker(version: str = "1.1", for_fault: bool = False) -> ElementMaker:
    """Builder of ``soap:`` elements of that SOAP version.

    Faults declare the secext namespace as q0 on faultcode itself (as Marketing Cloud does); an envelope that
    declared it as wsse already would make lxml drop that declaration as redundant, so fault envelopes do not.
    """
    nsmap = {**_ENVELOPE_NSMAP, "soap": _SOAP_NS[version]}
    if for_fault:
        nsmap = {k: v for k, v in nsmap.items() if k not in ("wsse", "wsu")}
    return ElementMaker(namespace=_SOAP_NS[version], nsmap=nsmap)


_api = ElementMaker(namespace=PARTNER, nsmap={None: PARTNER})
_bare = ElementMaker()

# Element names of the Execute types that .NET reads case-sensitively: a wrong-case spelling is ignored by the
# real deserializer and ends in a NullReferenceException ("Object reference not set ...") for that request.
_CASE_SENSITIVE_NAMES = {
    name.lower(): name for name in ("Client", "ClientID", "ID", "Name", "Parameters", "Value")
}


class SoapClientFault(Exception):
    """The request cannot be read: answered with a ``soap:Client`` fault carrying ``faultstring``."""

    def __init__(self, faultstring: str) -> None:
        self.faultstring = faultstring
        super().__init__(faultstring)


@dataclass
class ParsedRequest:
    """One ``ExecuteRequest``: its name, optional ``Client/ID`` and parameters in document order."""

    name: str | None
    client_id: str | None
    parameters: list[tuple[str, str]] = field(default_factory=list)
    object_reference_error: bool = False


def _parser() -> etree.XMLParser:
    """No DTD, no entity expansion, no network, no huge trees: nothing in a request reaches beyond it."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )


_SCHEMA = etree.XMLSchema(etree.parse(str(SCHEMA_PATH), _parser()))


def read_error(message: str) -> SoapClientFault:
    """The ``soap:Client`` fault .NET gives a request it cannot deserialise."""
    return SoapClientFault(f"Server was unable to read request. ---> {message}")


def parse_xml(data: bytes) -> etree._Element:
    """Parse ``data`` with the hardened parser; refuse a DTD, oversize input or malformed XML."""
    if len(data) > MAX_BODY_BYTES:
        raise read_error(f"The request is larger than {MAX_BODY_BYTES} bytes.")
    if not data.strip():
        raise read_error("Root element is missing.")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise read_error(f"There is an error in XML document: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise read_error("DTD is prohibited in this XML document.")
    return root


def read_execute_requests(payload: etree._Element) -> list[ParsedRequest]:
    """Read an ``ExecuteRequestMsg`` strictly; ``SoapClientFault`` for what Marketing Cloud would refuse."""
    if payload.tag != f"{{{PARTNER}}}ExecuteRequestMsg":
        raise read_error(
            "The Body must hold exactly one ExecuteRequestMsg of http://exacttarget.com/wsdl/partnerAPI."
        )
    # Validate a standalone copy; requests with wrong-case element names are emptied in that copy (they get
    # the per-request "Object reference" error instead of failing the call, as .NET ignores unknown names).
    checked = etree.fromstring(etree.tostring(payload), _parser())
    broken = set()
    for index, request in enumerate(checked.iterchildren(etree.Element)):
        if _has_wrong_case_names(request):
            broken.add(index)
            for child in list(request):
                request.remove(child)
    if not _SCHEMA.validate(checked):
        error = _SCHEMA.error_log.last_error
        where = f"({error.line}, {error.column})"
        raise read_error(f"There is an error in XML document {where}: {error.message}")

    requests = []
    for index, request in enumerate(payload.iterchildren(etree.Element)):
        if index in broken:
            requests.append(ParsedRequest(name=None, client_id=None, object_reference_error=True))
        else:
            requests.append(_read_request(request))
    return requests


def _has_wrong_case_names(request: etree._Element) -> bool:
    for element in request.iter(etree.Element):
        localname = etree.QName(element).localname
        expected = _CASE_SENSITIVE_NAMES.get(localname.lower())
        if expected is not None and expected != localname:
            return True
    return False


def _text(element: etree._Element | None) -> str | None:
    return None if element is None else (element.text or "")


def _read_request(request: etree._Element) -> ParsedRequest:
    client = request.find(f"{{{PARTNER}}}Client")
    client_id = None
    if client is not None:
        # ID is the field to use; ClientID is its deprecated twin (the WSDL keeps both).
        client_id = _text(client.find(f"{{{PARTNER}}}ID")) or _text(client.find(f"{{{PARTNER}}}ClientID"))
    parameters = [
        (_text(p.find(f"{{{PARTNER}}}Name")) or "", _text(p.find(f"{{{PARTNER}}}Value")) or "")
        for p in request.iterchildren(f"{{{PARTNER}}}Parameters")
    ]
    return ParsedRequest(
        name=_text(request.find(f"{{{PARTNER}}}Name")), client_id=client_id, parameters=parameters
    )


def _timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def answer_envelope(
    action: str, relates_to: str | None, payload: etree._Element, version: str = "1.1"
) -> bytes:
    """A whole answer: the real header and ``payload`` in the Body, as bytes."""
    maker = soap_maker(version)
    return serialise(maker.Envelope(answer_header(maker, action, relates_to), maker.Body(payload)))


def answer_header(maker: ElementMaker, action: str, relates_to: str | None) -> etree._Element:
    """The WS-Addressing and WS-Security header Marketing Cloud puts on every answer."""
    now = datetime.now(UTC)
    return maker.Header(
        _wsa.Action(action),
        _wsa.MessageID(f"urn:uuid:{uuid.uuid4()}"),
        _wsa.RelatesTo(relates_to or f"urn:uuid:{uuid.uuid4()}"),
        _wsa.To("http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"),
        _wsse.Security(
            _wsu.Timestamp(
                _wsu.Created(_timestamp(now)),
                _wsu.Expires(_timestamp(now + timedelta(minutes=5))),
                {f"{{{WSU}}}Id": f"Timestamp-{uuid.uuid4()}"},
            )
        ),
    )


def serialise(element: etree._Element) -> bytes:
    """UTF-8 bytes with an XML declaration, as Marketing Cloud sends them."""
    return etree.tostring(element, xml_declaration=True, encoding="utf-8")


@dataclass(frozen=True)
class ExecuteResult:
    """One ``Results`` entry of an ExecuteResponseMsg."""

    status_code: str
    status_message: str
    error_code: int | None = None

    @property
    def ok(self) -> bool:
        return self.status_code == "OK"


def overall_status(results: list[ExecuteResult]) -> str:
    """``OK`` when every request succeeded, ``Error`` when all failed, ``Has Errors`` in between."""
    failures = sum(1 for result in results if not result.ok)
    if failures == 0:
        return "OK"
    return "Error" if failures == len(results) else "Has Errors"


def execute_response(
    results: list[ExecuteResult], request_id: str, relates_to: str | None, version: str = "1.1"
) -> bytes:
    """The ExecuteResponseMsg envelope: one ``Results`` per request, in request order."""
    entries = []
    for result in results:
        parts = [_api.StatusCode(result.status_code), _api.StatusMessage(result.status_message)]
        if result.error_code is not None:
            parts.append(_api.ErrorCode(str(result.error_code)))
        entries.append(_api.Results(*parts))
    message = _api.ExecuteResponseMsg(
        _api.OverallStatus(overall_status(results)), _api.RequestID(request_id), *entries
    )
    return answer_envelope("ExecuteResponse", relates_to, message, version)
