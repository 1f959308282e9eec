"""Reading any call's envelope: SOAP 1.1 or 1.2, the token, WS-Addressing ``MessageID`` and ``Action``.

Marketing Cloud takes the action from the ``SOAPAction`` header or, for SOAP 1.2 clients such as the official
C# SDK and Salesforce's Postman collection (no such header), from WS-Addressing ``<a:Action>``
(PROTOCOL.md, "Other clients' envelopes"). Answers go back in the version the request came in.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from .soap import FUEL, SOAP12_ENV, SOAP_ENV, WSA, parse_xml, read_error

WSA_2005 = "http://www.w3.org/2005/08/addressing"
_VERSIONS = {SOAP_ENV: "1.1", SOAP12_ENV: "1.2"}


@dataclass
class Envelope:
    """What every call needs from its envelope; ``payload`` is the Body's one element."""

    version: str  # "1.1" | "1.2"
    payload: etree._Element
    token: str | None
    message_id: str | None
    action: str | None  # WS-Addressing Action, its last path segment


def soap_version(data: bytes) -> str:
    """The SOAP version of a request body, best effort (for faults about requests that cannot be read)."""
    return "1.2" if SOAP12_ENV.encode() in data[:4096] else "1.1"


def read_envelope(data: bytes) -> Envelope:
    """Parse hardened and check the envelope's frame; raise ``SoapClientFault`` for what cannot be read."""
    root = parse_xml(data)
    namespace = etree.QName(root).namespace
    if etree.QName(root).localname != "Envelope" or namespace not in _VERSIONS:
        raise read_error(f"<{etree.QName(root).localname}> is not a SOAP 1.1 or 1.2 Envelope.")
    children = list(root.iterchildren(etree.Element))
    header = None
    if children and children[0].tag == f"{{{namespace}}}Header":
        header = children.pop(0)
    if len(children) != 1 or children[0].tag != f"{{{namespace}}}Body":
        raise read_error("The envelope must hold an optional Header followed by one Body.")
    payloads = list(children[0].iterchildren(etree.Element))
    if len(payloads) != 1:
        raise read_error("The Body must hold exactly one request element.")
    return Envelope(
        version=_VERSIONS[namespace],
        payload=payloads[0],
        token=_find_token(header),
        message_id=_header_text(header, "MessageID"),
        action=_action(_header_text(header, "Action")),
    )


def _find_token(header: etree._Element | None) -> str | None:
    if header is None:
        return None
    for tag in (f"{{{FUEL}}}fueloauth", "fueloauth"):
        element = header.find(tag)
        if element is not None:
            return (element.text or "").strip()
    return None


def _header_text(header: etree._Element | None, name: str) -> str | None:
    if header is None:
        return None
    for namespace in (WSA, WSA_2005):
        element = header.find(f"{{{namespace}}}{name}")
        if element is not None:
            return (element.text or "").strip() or None
    return None


def _action(value: str | None) -> str | None:
    """``Retrieve`` from ``Retrieve`` or from a URI ending in ``/Retrieve``."""
    if value is None:
        return None
    return value.rstrip("/").rsplit("/", 1)[-1] or None
