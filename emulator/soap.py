"""SOAP on the emulator's side: a hardened parser for Execute requests and lxml builders for its answers.

Requests are read the way Marketing Cloud reads them: SOAP 1.1 envelope, token in ``fueloauth`` (namespace
``http://exacttarget.com`` or none), Body validated against ``schema/execute.xsd`` (our own copy of the WSDL's
Execute types). Answers carry the real header (WS-Addressing and a WS-Security timestamp).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lxml import etree
from lxml.builder import ElementMaker

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
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
_soap = ElementMaker(namespace=SOAP_ENV, nsmap=_ENVELOPE_NSMAP)
_wsa = ElementMaker(namespace=WSA)
_wsse = ElementMaker(namespace=WSSE, nsmap={"wsse": WSSE})
_wsu = ElementMaker(namespace=WSU, nsmap={"wsu": WSU})
# Faults declare the secext namespace as q0 on faultcode itself (as Marketing Cloud does); an envelope that
# declared it as wsse already would make lxml drop that declaration as redundant, so fault envelopes do not.
_fault_soap = ElementMaker(
    namespace=SOAP_ENV, nsmap={k: v for k, v in _ENVELOPE_NSMAP.items() if k not in ("wsse", "wsu")}
)
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


@dataclass
class ParsedEnvelope:
    """What the emulator needs from an Execute envelope."""

    token: str | None
    message_id: str | None
    requests: list[ParsedRequest]


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


def _read_error(message: str) -> SoapClientFault:
    return SoapClientFault(f"Server was unable to read request. ---> {message}")


def parse_xml(data: bytes) -> etree._Element:
    """Parse ``data`` with the hardened parser; refuse a DTD, oversize input or malformed XML."""
    if len(data) > MAX_BODY_BYTES:
        raise _read_error(f"The request is larger than {MAX_BODY_BYTES} bytes.")
    if not data.strip():
        raise _read_error("Root element is missing.")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise _read_error(f"There is an error in XML document: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise _read_error("DTD is prohibited in this XML document.")
    return root


def parse_execute_envelope(data: bytes) -> ParsedEnvelope:
    """Read an Execute envelope strictly; raise ``SoapClientFault`` for what Marketing Cloud would refuse."""
    root = parse_xml(data)
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise _read_error(f"<{etree.QName(root).localname}> is not a SOAP 1.1 Envelope.")
    children = list(root.iterchildren(etree.Element))
    header = None
    if children and children[0].tag == f"{{{SOAP_ENV}}}Header":
        header = children.pop(0)
    if len(children) != 1 or children[0].tag != f"{{{SOAP_ENV}}}Body":
        raise _read_error("The envelope must hold an optional Header followed by one Body.")
    payloads = list(children[0].iterchildren(etree.Element))
    if len(payloads) != 1 or payloads[0].tag != f"{{{PARTNER}}}ExecuteRequestMsg":
        raise _read_error(
            "The Body must hold exactly one ExecuteRequestMsg of http://exacttarget.com/wsdl/partnerAPI."
        )
    payload = payloads[0]

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
        raise _read_error(f"There is an error in XML document {where}: {error.message}")

    requests = []
    for index, request in enumerate(payload.iterchildren(etree.Element)):
        if index in broken:
            requests.append(ParsedRequest(name=None, client_id=None, object_reference_error=True))
        else:
            requests.append(_read_request(request))
    return ParsedEnvelope(token=_find_token(header), message_id=_find_message_id(header), requests=requests)


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


def _find_token(header: etree._Element | None) -> str | None:
    if header is None:
        return None
    for tag in (f"{{{FUEL}}}fueloauth", "fueloauth"):
        element = header.find(tag)
        if element is not None:
            return (element.text or "").strip()
    return None


def _find_message_id(header: etree._Element | None) -> str | None:
    if header is None:
        return None
    element = header.find(f"{{{WSA}}}MessageID")
    return None if element is None else (element.text or "").strip() or None


def _timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _header(action: str, relates_to: str | None) -> etree._Element:
    """The WS-Addressing and WS-Security header Marketing Cloud puts on every answer."""
    now = datetime.now(UTC)
    return _soap.Header(
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


def execute_response(results: list[ExecuteResult], request_id: str, relates_to: str | None) -> bytes:
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
    return serialise(_soap.Envelope(_header("ExecuteResponse", relates_to), _soap.Body(message)))


def fault(
    faultcode: str,
    faultstring: str,
    actor: str,
    relates_to: str | None = None,
    apifault: tuple[int, str] | None = None,
    with_detail: bool = True,
) -> bytes:
    """A SOAP 1.1 fault. ``faultcode`` is ``soap:Client``, ``soap:Server`` or ``q0:Security``."""
    code = _bare.faultcode(faultcode)
    if faultcode.startswith("q0:"):
        # The prefix must be declared where it is used: q0 is the WS-Security secext namespace.
        code = etree.Element("faultcode", nsmap={"q0": WSSE})
        code.text = faultcode
    parts = [code, _bare.faultstring(faultstring), _bare.faultactor(actor)]
    if apifault is not None:
        fault_maker = ElementMaker(namespace=APIFAULT, nsmap={None: APIFAULT})
        code_number, message = apifault
        parts.append(
            _bare.detail(
                fault_maker.apifault(fault_maker.Code(str(code_number)), fault_maker.Message(message))
            )
        )
    elif with_detail:
        parts.append(_bare.detail())
    envelope = _fault_soap.Envelope(
        _header("http://schemas.xmlsoap.org/ws/2004/08/addressing/fault", relates_to),
        _fault_soap.Body(_fault_soap.Fault(*parts)),
    )
    return serialise(envelope)
