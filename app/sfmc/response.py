"""Read Marketing Cloud's answers: ONE hardened XML parser for every body, typed outcomes out.

The parser never loads a DTD, never expands an entity, never touches the network, refuses a DOCTYPE
outright and refuses a body over ``MAX_RESPONSE_BYTES`` before parsing it. What comes out is an
``ExecuteResult`` (one ``UnsubOutcome`` per request, matched by position) or a ``SoapFault``; anything
else raises an ``SfmcError`` subclass.
"""

from __future__ import annotations

import threading

from lxml import etree

from .errors import SfmcAuthError, SfmcError, SfmcProtocolError, SfmcTransientError
from .models import ExecuteResult, SoapFault, UnsubOutcome
from .ns import PARTNER, SOAP_ENV
from .outcomes import int_or_none, read_outcome

#: 50 results take about 10 KB; a body a hundred times larger is not an Execute answer.
MAX_RESPONSE_BYTES = 1024 * 1024

#: What each LogUnsubEvent error code means (PROTOCOL.md, from the seed pages).
ERROR_MEANINGS: dict[int, str] = {
    400: "the subscriber could not be found on the specified JobID",
    401: "the subscriber is already unsubscribed from the specified list",
    402: "the Parameters array held no values, or none of the parameters looked for",
    403: "EmailAddress, SubscriberKey and SubscriberID were all missing or empty",
    404: "the SubscriberKey permission is on but only EmailAddress was given",
    405: "SubscriberID given with SubscriberKey and/or EmailAddress, and they refer to different subscribers",
    406: "SubscriberKey given with SubscriberID and/or EmailAddress, and they refer to different subscribers",
    407: "EmailAddress given with SubscriberID and/or SubscriberKey, and they refer to different subscribers",
    12012: "the subscriber is already master unsubscribed",
}
ALREADY_CODES = frozenset({401, 12012})
REJECTED_CODES = frozenset({400, 402, 403, 404, 405, 406, 407})

# Faults after which a fresh token and one retry may succeed (compared case-insensitively).
TOKEN_FAULTS = frozenset({"token expired", "login failed"})
RATE_LIMITED_CODE = 17
OUTAGE_CODE = 2

_ENVELOPE = f"{{{SOAP_ENV}}}Envelope"
_BODY = f"{{{SOAP_ENV}}}Body"
_FAULT = f"{{{SOAP_ENV}}}Fault"
_RESPONSE_MSG = f"{{{PARTNER}}}ExecuteResponseMsg"
#: Tags every partner API answer message has (Execute, Retrieve, Update); object_response.py reads them too.
OVERALL_STATUS_TAG = f"{{{PARTNER}}}OverallStatus"
REQUEST_ID_TAG = f"{{{PARTNER}}}RequestID"
RESULTS_TAG = f"{{{PARTNER}}}Results"
_STATUS_CODE = f"{{{PARTNER}}}StatusCode"
_STATUS_MESSAGE = f"{{{PARTNER}}}StatusMessage"
_ERROR_CODE = f"{{{PARTNER}}}ErrorCode"

# lxml parser objects must not be shared between threads that parse at the same time: one per thread.
_local = threading.local()


def _parser() -> etree.XMLParser:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        _local.parser = parser
    return parser


def parse_xml(body: bytes) -> etree._Element:
    """The hardened parse every response body goes through; ``SfmcProtocolError`` when it is refused."""
    if len(body) > MAX_RESPONSE_BYTES:
        raise SfmcProtocolError(f"response body of {len(body)} bytes is over the {MAX_RESPONSE_BYTES} cap")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise SfmcProtocolError("response body carries a DOCTYPE or an entity declaration: refused")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise SfmcProtocolError(f"response body is not well-formed XML: {exc}") from exc
    # The byte check above misses a DOCTYPE in another encoding (UTF-16); the parsed document does not.
    if root.getroottree().docinfo.doctype:
        raise SfmcProtocolError("response body carries a DOCTYPE: refused")
    return root


def parse_response(
    body: bytes, *, http_status: int, content_type: str | None = None, expected: int | None = None
) -> ExecuteResult | SoapFault:
    """Read one Execute HTTP answer: the result, or the SOAP fault Marketing Cloud sent.

    An empty or HTML body (a proxy, a load balancer) or an unreadable 5xx raises ``SfmcTransientError``
    with ``maybe_sent=True``: the request reached something, and we cannot tell what happened to it.
    ``expected`` is the number of requests sent: a different number of results is a protocol error,
    because results are matched to requests by position.
    """
    payload = read_payload(body, http_status=http_status, content_type=content_type, expected=_RESPONSE_MSG)
    if isinstance(payload, SoapFault):
        return payload
    return parse_execute_response(payload, expected=expected)


def read_payload(
    body: bytes, *, http_status: int, content_type: str | None, expected: str
) -> etree._Element | SoapFault:
    """The Body's message of one HTTP answer (tag ``expected``, Clark notation), or the fault it carries.

    What every call's answer goes through (Execute, Retrieve, Update): the same hardened parse, the same
    reading of proxy pages, empty bodies and unreadable 5xx answers (``SfmcTransientError``,
    ``maybe_sent=True``); another message than ``expected`` raises.
    """
    if not body.strip():
        raise SfmcTransientError(f"empty response body (HTTP {http_status})", maybe_sent=True)
    if _looks_like_html(body, content_type):
        # A proxy or load balancer answered for Marketing Cloud: whatever the status, the path failed.
        raise SfmcTransientError(
            f"an HTML page instead of SOAP (HTTP {http_status}), probably from a proxy", maybe_sent=True
        )
    try:
        root = parse_xml(body)
    except SfmcProtocolError as exc:
        if http_status >= 500 or http_status in (408, 429):
            raise SfmcTransientError(f"unreadable HTTP {http_status} answer: {exc}", maybe_sent=True) from exc
        raise
    payload = _body_payload(root)
    if payload is None:
        raise _unreadable(f"HTTP {http_status} answer is not a SOAP envelope with a body", http_status)
    if payload.tag == _FAULT:
        return parse_fault(payload)
    if payload.tag != expected:
        raise _unreadable(f"unexpected SOAP body <{etree.QName(payload).localname}>", http_status)
    return payload


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    if content_type and "html" in content_type.lower():
        return True
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _unreadable(message: str, http_status: int) -> SfmcError:
    """A body that is not the answer expected: transient when a 5xx/408/429 says the path failed, else
    ours."""
    if http_status >= 500 or http_status in (408, 429):
        return SfmcTransientError(message, maybe_sent=True)
    return SfmcProtocolError(message)


def _body_payload(root: etree._Element) -> etree._Element | None:
    if root.tag != _ENVELOPE:
        return None
    body = root.find(_BODY)
    if body is None:
        return None
    return next(body.iterchildren(etree.Element), None)


def parse_fault(fault: etree._Element) -> SoapFault:
    """A SOAP 1.1 fault: faultcode, faultstring and, for API faults, the ``apifault`` Code and Message.

    ``faultcode``/``faultstring`` are unqualified in SOAP 1.1; ``apifault`` is matched by local name so
    that a namespace change on Marketing Cloud's side does not hide a throttling code.
    """
    api_code: int | None = None
    api_message: str | None = None
    detail = fault.find("detail")
    if detail is not None:
        for element in detail.iter(etree.Element):
            if etree.QName(element).localname == "apifault":
                for child in element.iterchildren(etree.Element):
                    name = etree.QName(child).localname
                    if name == "Code":
                        api_code = int_or_none(child.text)
                    elif name == "Message":
                        api_message = (child.text or "").strip() or None
                break
    return SoapFault(
        faultcode=(fault.findtext("faultcode") or "").strip(),
        faultstring=(fault.findtext("faultstring") or "").strip(),
        api_code=api_code,
        api_message=api_message,
    )


def parse_execute_response(message: etree._Element, *, expected: int | None = None) -> ExecuteResult:
    """An ``ExecuteResponseMsg``: OverallStatus, RequestID and one outcome per direct-child ``Results``."""
    overall_status = message.findtext(OVERALL_STATUS_TAG)
    if overall_status is None:
        raise SfmcProtocolError("ExecuteResponseMsg without OverallStatus")
    # Only direct children: ExecuteResponse has its own nested Results (APIProperty) elements.
    outcomes = []
    for result in message.iterchildren(RESULTS_TAG):
        # One pass over the few children (faster than three findtext calls; this runs 50 times a call).
        texts = {child.tag: child.text or "" for child in result}
        # An absent ErrorCode (None) and an empty one ("") are told apart: see ``_read_outcome``.
        key = (texts.get(_STATUS_CODE), texts.get(_STATUS_MESSAGE), texts.get(_ERROR_CODE))
        outcome = _outcomes.get(key)
        if outcome is None:
            outcome = _read_outcome(*key)
            if len(_outcomes) < 1024:  # outcomes are immutable and repeat (OK/Event posted, 401, ...): share
                _outcomes[key] = outcome
        outcomes.append(outcome)
    if expected is not None and len(outcomes) != expected:
        raise SfmcProtocolError(
            f"{expected} requests sent but {len(outcomes)} results came back "
            f"(OverallStatus {overall_status!r}); results are matched by position, so none can be trusted"
        )
    request_id = message.findtext(REQUEST_ID_TAG)
    return ExecuteResult(
        overall_status=overall_status.strip(),
        request_id=request_id.strip() if request_id else None,
        outcomes=outcomes,
    )


#: Outcomes already read, by (StatusCode, StatusMessage, ErrorCode) text: a batch repeats a few of them.
_outcomes: dict[tuple[str | None, str | None, str | None], UnsubOutcome] = {}


def _read_outcome(status_text: str | None, message_text: str | None, code_text: str | None) -> UnsubOutcome:
    return read_outcome(
        status_text,
        message_text,
        code_text,
        already=ALREADY_CODES,
        rejected=REJECTED_CODES,
        meanings=ERROR_MEANINGS,
        call="LogUnsubEvent",
    )


def is_token_fault(fault: SoapFault) -> bool:
    """``Token Expired`` or ``Login failed``: a fresh token and one retry may succeed."""
    return fault.faultstring.casefold() in TOKEN_FAULTS


def fault_error(fault: SoapFault) -> SfmcError:
    """The exception a fault stands for (after any token refresh the caller already tried).

    Rate limiting and outages are refusals before processing (``maybe_sent=False``); an unknown server
    fault may have come after part of the work, so it is ``maybe_sent=True``. A ``Client`` fault means
    Marketing Cloud could not read our request: retrying the same bytes cannot help.
    """
    text = fault.faultstring.casefold()
    summary = f"SOAP fault {fault.faultcode}: {fault.faultstring}" + (
        f" (API code {fault.api_code})" if fault.api_code is not None else ""
    )
    if is_token_fault(fault):
        return SfmcAuthError(summary, fault=fault)
    if "rate limited" in text or fault.api_code == RATE_LIMITED_CODE:
        return SfmcTransientError(summary, maybe_sent=False, fault=fault)
    if "outage" in text or fault.api_code == OUTAGE_CODE:
        return SfmcTransientError(summary, maybe_sent=False, fault=fault)
    if fault.faultcode.rpartition(":")[2].casefold() == "client":
        return SfmcProtocolError(summary, fault=fault)
    return SfmcTransientError(summary, maybe_sent=True, fault=fault)
