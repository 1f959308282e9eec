"""Retrieve and Update answers as PROTOCOL.md ("Retrieve and Update") describes them, and a loopback server
that plays them to the real client. Test data, written from the documented facts, not captures.

What the answers follow (PROTOCOL.md): ``RetrieveResponseMsg`` = OverallStatus, RequestID, Results* with an
``xsi:type`` (any prefix), children unprefixed in the partner namespace, empty values as ``<Description />``,
``PartnerKey``/``ObjectID`` as ``xsi:nil="true"``, datetimes without a zone; ``OverallStatus`` ``OK``,
``MoreDataAvailable`` or ``Error: <message>`` (HTTP 200, no Results). ``UpdateResponse`` = Results+,
RequestID, OverallStatus (in that order), each result StatusCode, StatusMessage, OrdinalID, ErrorCode?,
Object? (often absent). A real answer's SOAP header (WS-Addressing, a WS-Security timestamp) comes too.
Elements of a result are written in the order of their WSDL type, so the answers also pass the WSDL.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from lxml.builder import ElementMaker

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "http://exacttarget.com/wsdl/partnerAPI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

#: A result's values: (element name, text | None for xsi:nil | nested values).
Values = Sequence[tuple[str, "str | Values | None"]]


def _envelope(action: str, message: etree._Element) -> bytes:
    soap = ElementMaker(namespace=SOAP_ENV, nsmap={"soap": SOAP_ENV, "xsi": XSI, "wsa": WSA, "wsse": WSSE})
    wsa = ElementMaker(namespace=WSA)
    wsse = ElementMaker(namespace=WSSE)
    wsu = ElementMaker(namespace=WSU, nsmap={"wsu": WSU})
    header = soap.Header(
        wsa.Action(action),
        wsa.MessageID("urn:uuid:4f0a1ff2-1967-45af-b709-5ffd50ecbe96"),
        wsa.RelatesTo("urn:uuid:d78f77be-0e99-48f1-8b99-75b6dc7ca74a"),
        wsa.To("http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"),
        wsse.Security(
            wsu.Timestamp(wsu.Created("2026-12-02T01:00:00Z"), wsu.Expires("2026-12-02T01:05:00Z"))
        ),
    )
    envelope = soap.Envelope(header, soap.Body(message))
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def _fill(parent: etree._Element, values: Values) -> None:
    for name, value in values:
        child = etree.SubElement(parent, f"{{{PARTNER}}}{name}")
        if value is None:
            child.set(f"{{{XSI}}}nil", "true")
        elif isinstance(value, str):
            child.text = value
        else:
            _fill(child, value)


def retrieve_answer(
    objects: Sequence[tuple[str, Values]] = (),
    *,
    status: str = "OK",
    request_id: str | None = "6b4e2f7a-5d31-4a4c-9a8e-0f1b2c3d4e5f",
    prefix: str | None = None,
) -> bytes:
    """A RetrieveResponseMsg; each object is (xsi:type, values), the type written ``prefix:Type`` (the
    prefix bound to the partner namespace) or bare."""
    nsmap = {None: PARTNER}
    if prefix:
        nsmap[prefix] = PARTNER
    message = etree.Element(f"{{{PARTNER}}}RetrieveResponseMsg", nsmap=nsmap)
    etree.SubElement(message, f"{{{PARTNER}}}OverallStatus").text = status
    if request_id is not None:
        etree.SubElement(message, f"{{{PARTNER}}}RequestID").text = request_id
    for object_type, values in objects:
        result = etree.SubElement(message, f"{{{PARTNER}}}Results")
        result.set(f"{{{XSI}}}type", f"{prefix}:{object_type}" if prefix else object_type)
        _fill(result, values)
    return _envelope("RetrieveResponse", message)


@dataclass(frozen=True)
class UpdateRow:
    """One UpdateResult: StatusCode, StatusMessage, OrdinalID, ErrorCode?, Object?"""

    status_code: str = "OK"
    message: str = "Updated Subscriber."
    ordinal: str | None = "0"
    error_code: str | None = None
    subscriber_key: str | None = None  # echo the Object with this key (None: no Object, as often seen)


def update_answer(
    rows: Sequence[UpdateRow],
    *,
    overall: str = "OK",
    request_id: str = "0f2b6c1d-8e9a-4b3c-a1d2-e3f4a5b6c7d8",
) -> bytes:
    """An UpdateResponse: the results first, then RequestID and OverallStatus (the documented order)."""
    message = etree.Element(f"{{{PARTNER}}}UpdateResponse", nsmap={None: PARTNER})
    for row in rows:
        result = etree.SubElement(message, f"{{{PARTNER}}}Results")
        _fill(result, [("StatusCode", row.status_code), ("StatusMessage", row.message)])
        if row.ordinal is not None:
            _fill(result, [("OrdinalID", row.ordinal)])
        if row.error_code is not None:
            _fill(result, [("ErrorCode", row.error_code)])
        if row.subscriber_key is not None:
            echoed = etree.SubElement(result, f"{{{PARTNER}}}Object")
            echoed.set(f"{{{XSI}}}type", "Subscriber")
            _fill(echoed, [("PartnerKey", None), ("ObjectID", None), ("SubscriberKey", row.subscriber_key)])
    _fill(message, [("RequestID", request_id), ("OverallStatus", overall)])
    return _envelope("UpdateResponse", message)


def fault(faultstring: str, faultcode: str = "q0:Security", api_code: int | None = None) -> bytes:
    """A SOAP 1.1 fault as Marketing Cloud sends them (HTTP 500), with an apifault detail for a code."""
    detail = ""
    if api_code is not None:
        detail = (
            f'<detail><apifault xmlns="urn:fault.partner.exacttarget.com"><Code>{api_code}</Code>'
            f"<Message>{faultstring}</Message></apifault></detail>"
        )
    return (
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}" xmlns:q0="{WSSE}"><soap:Body><soap:Fault>'
        f"<faultcode>{faultcode}</faultcode><faultstring>{faultstring}</faultstring>{detail}"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


def a_list(list_id: str, name: str, *, kind: str = "Public", classification: str = "PublicationList",
           description: str = "", category: str = "101") -> tuple[str, Values]:  # fmt: skip
    """A ``List`` result with the properties the client asks for, in the List type's order."""
    return (
        "List",
        [
            ("PartnerKey", None),
            ("ID", list_id),
            ("ObjectID", None),
            ("CustomerKey", f"key-{list_id}"),
            ("ListName", name),
            ("Category", category),
            ("Type", kind),
            ("Description", description),
            ("ListClassification", classification),
        ],
    )


def a_membership(list_id: str, status: str, key: str = "demo-001") -> tuple[str, Values]:
    """A ``ListSubscriber`` result."""
    return (
        "ListSubscriber",
        [
            ("PartnerKey", None),
            ("ObjectID", None),
            ("Status", status),
            ("ListID", list_id),
            ("SubscriberKey", key),
        ],
    )


@dataclass
class Call:
    """One SOAP call the server received."""

    action: str
    body: bytes
    headers: dict[str, str]


@dataclass
class CannedMarketingCloud:
    """Loopback Marketing Cloud: ``/v2/token`` issues tokens, every SOAP call gets the next of ``answers``
    (status, body, seconds to wait first) or what ``answer`` returns for it; ``calls`` keeps each request."""

    answers: list[tuple[int, bytes, float]] = field(default_factory=list)
    answer: Callable[[Call], tuple[int, bytes, float]] | None = None
    calls: list[Call] = field(default_factory=list)
    token_requests: int = 0
    server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> CannedMarketingCloud:
        """Listen on a free loopback port (a daemon thread serves it)."""
        canned = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/v2/token":
                    canned.token_requests += 1
                    token = {
                        "access_token": f"canned-token-{canned.token_requests}",
                        "token_type": "Bearer",
                        "expires_in": 1079,
                        "soap_instance_url": canned.base_url + "/",
                    }
                    self._reply(200, "application/json", json.dumps(token).encode())
                    return
                call = Call(self.headers.get("SOAPAction", "").strip('"'), body, dict(self.headers.items()))
                canned.calls.append(call)
                if canned.answer is not None:
                    status, answer, wait = canned.answer(call)
                else:
                    status, answer, wait = canned.answers.pop(0)
                time.sleep(wait)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                    self._reply(status, "text/xml; charset=utf-8", answer)

            def _reply(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def queue(self, *bodies: bytes, status: int = 200, wait: float = 0.0) -> None:
        """Answer the next calls with ``bodies``, in order."""
        self.answers.extend((status, body, wait) for body in bodies)

    def stop(self) -> None:
        """Stop listening."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
