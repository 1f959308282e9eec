"""SOAP faults as Marketing Cloud sends them (HTTP 500), in SOAP 1.1 or, for a SOAP 1.2 request, 1.2.

SOAP 1.1: ``faultcode`` / ``faultstring`` / ``faultactor`` / ``detail`` (PROTOCOL.md, "Faults"). SOAP 1.2 has
no captures; the emulator maps the codes the way .NET does: ``soap:Client`` -> ``soap:Sender``,
``soap:Server`` -> ``soap:Receiver``, and ``q0:Security`` -> ``soap:Sender`` with the subcode ``q0:Security``.
"""

from __future__ import annotations

from lxml import etree
from lxml.builder import ElementMaker

from .soap import APIFAULT, SOAP12_ENV, WSSE, answer_header, serialise, soap_maker

_bare = ElementMaker()
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FAULT_ACTION = "http://schemas.xmlsoap.org/ws/2004/08/addressing/fault"


def fault(
    faultcode: str,
    faultstring: str,
    actor: str,
    relates_to: str | None = None,
    apifault: tuple[int, str] | None = None,
    with_detail: bool = True,
    version: str = "1.1",
) -> bytes:
    """A fault envelope. ``faultcode`` is ``soap:Client``, ``soap:Server`` or ``q0:Security``."""
    maker = soap_maker(version, for_fault=True)
    detail = None
    if apifault is not None:
        api = ElementMaker(namespace=APIFAULT, nsmap={None: APIFAULT})
        code_number, message = apifault
        detail = api.apifault(api.Code(str(code_number)), api.Message(message))
    if version == "1.2":
        body_fault = _fault_12(maker, faultcode, faultstring, actor, detail, with_detail)
    else:
        body_fault = _fault_11(maker, faultcode, faultstring, actor, detail, with_detail)
    return serialise(maker.Envelope(answer_header(maker, FAULT_ACTION, relates_to), maker.Body(body_fault)))


def _security_code(tag: str, faultcode: str) -> etree._Element:
    # The prefix must be declared where it is used: q0 is the WS-Security secext namespace.
    code = etree.Element(tag, nsmap={"q0": WSSE})
    code.text = faultcode
    return code


def _fault_11(
    maker: ElementMaker,
    faultcode: str,
    faultstring: str,
    actor: str,
    detail: etree._Element | None,
    with_detail: bool,
) -> etree._Element:
    if faultcode.startswith("q0:"):
        code = _security_code("faultcode", faultcode)
    else:
        code = _bare.faultcode(faultcode)
    parts = [code, _bare.faultstring(faultstring), _bare.faultactor(actor)]
    if detail is not None:
        parts.append(_bare.detail(detail))
    elif with_detail:
        parts.append(_bare.detail())
    return maker.Fault(*parts)


def _fault_12(
    maker: ElementMaker,
    faultcode: str,
    faultstring: str,
    actor: str,
    detail: etree._Element | None,
    with_detail: bool,
) -> etree._Element:
    value = "soap:Receiver" if faultcode == "soap:Server" else "soap:Sender"
    code = maker.Code(maker.Value(value))
    if faultcode.startswith("q0:"):
        subcode = maker.Subcode()
        subcode.append(_security_code(f"{{{SOAP12_ENV}}}Value", faultcode))
        code.append(subcode)
    parts = [code, maker.Reason(maker.Text(faultstring, {_XML_LANG: "en"})), maker.Role(actor)]
    if detail is not None:
        parts.append(maker.Detail(detail))
    elif with_detail:
        parts.append(maker.Detail())
    return maker.Fault(*parts)
