"""Read Retrieve and Update answers through ``response.py``'s one hardened parser; typed values out.

``RetrieveResponseMsg`` = OverallStatus, RequestID?, Results* (each with an ``xsi:type``, any prefix);
``UpdateResponse`` = Results+, RequestID?, OverallStatus (results first). Values are read by local name,
``xsi:nil`` as None, an empty element as ``""``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from lxml import etree

from .errors import SfmcProtocolError, SfmcRetrieveError
from .models import OutcomeKind, SoapFault, UnsubOutcome
from .ns import PARTNER, XSI
from .objects import ListStatusChange, RetrievedObject, RetrievePage, UpdateResult
from .outcomes import read_outcome, stripped
from .response import OVERALL_STATUS_TAG, REQUEST_ID_TAG, RESULTS_TAG, read_payload

#: What each Update error code means (PROTOCOL.md, "Retrieve and Update").
UPDATE_ERROR_MEANINGS: dict[int, str] = {
    12000: "the email address is not valid",
    12001: "the subscriber could not be found",
    12003: "the subscriber is on the global unsubscribe list",
    12012: "the subscriber is on the master unsubscribe list",
    13000: "the list could not be found",
    13001: "no list ID was given",
    13004: "the list ID is unknown",
    13006: "the subscriber is on the list already",
    13007: "the subscriber is not on the list",
    13012: "the list cannot be updated",
}
#: Codes that mean the person already has the status asked for, per status asked.
ALREADY_CODES: dict[str, frozenset[int]] = {
    "Unsubscribed": frozenset({12003, 12012}),
    "Active": frozenset({13006}),
}
#: Codes after which the same change can never succeed (12003/12012 too, for ``Active``: the person is
#: unsubscribed from all email, which only they can lift and a list change cannot).
REJECTED_CODES = frozenset({12000, 12001, 12003, 12012, 13000, 13001, 13004, 13007, 13012})

_RETRIEVE_MSG = f"{{{PARTNER}}}RetrieveResponseMsg"
_UPDATE_MSG = f"{{{PARTNER}}}UpdateResponse"
_XSI_TYPE = f"{{{XSI}}}type"
_XSI_NIL = f"{{{XSI}}}nil"
_PAGE_STATUSES = frozenset({"ok", "moredataavailable"})


def parse_retrieve_response(
    body: bytes, *, http_status: int, content_type: str | None = None
) -> RetrievePage | SoapFault:
    """One Retrieve page, or the fault Marketing Cloud sent. ``OverallStatus`` ``Error: …`` raises
    ``SfmcRetrieveError`` with Marketing Cloud's message; a status we do not know is a protocol error."""
    message = read_payload(body, http_status=http_status, content_type=content_type, expected=_RETRIEVE_MSG)
    if isinstance(message, SoapFault):
        return message
    overall_status = _required_status(message, "RetrieveResponseMsg")
    if overall_status.casefold().startswith("error"):
        said = overall_status.partition(":")[2].strip() or overall_status
        raise SfmcRetrieveError(f"Marketing Cloud refused the Retrieve: {said}")
    if overall_status.casefold() not in _PAGE_STATUSES:
        raise SfmcProtocolError(f"a RetrieveResponseMsg with OverallStatus {overall_status!r}")
    if http_status != 200:
        raise SfmcProtocolError(f"a Retrieve result with HTTP {http_status}")
    objects = [
        RetrievedObject(type=_type_name(result.get(_XSI_TYPE)), values=_values(result))
        for result in message.iterchildren(RESULTS_TAG)
    ]
    return RetrievePage(overall_status=overall_status, request_id=_request_id(message), objects=objects)


def parse_update_response(
    body: bytes, *, http_status: int, changes: Sequence[ListStatusChange], content_type: str | None = None
) -> UpdateResult | SoapFault:
    """An Update answer: one outcome per change, matched by ``OrdinalID`` (by position when no result has
    one and their number is right); a change no result answers is ``TRANSIENT``. Or the fault sent."""
    message = read_payload(body, http_status=http_status, content_type=content_type, expected=_UPDATE_MSG)
    if isinstance(message, SoapFault):
        return message
    overall_status = _required_status(message, "UpdateResponse")
    if http_status != 200:
        raise SfmcProtocolError(f"an Update result with HTTP {http_status}")
    answers: dict[int, UnsubOutcome] = {}
    results = list(message.iterchildren(RESULTS_TAG))
    ordinals = [result.findtext(f"{{{PARTNER}}}OrdinalID") for result in results]
    by_position = all(ordinal is None for ordinal in ordinals)
    if by_position and len(results) != len(changes):
        raise SfmcProtocolError(
            f"{len(changes)} changes sent but {len(results)} results without OrdinalID came back: "
            "none can be matched"
        )
    for position, (result, ordinal) in enumerate(zip(results, ordinals, strict=True)):
        index = position if by_position else _ordinal(ordinal, len(changes))
        if index in answers:
            raise SfmcProtocolError(f"two results for OrdinalID {index}: none can be trusted")
        # "" for an empty element: an absent ErrorCode (None) and an empty one are told apart.
        texts = {
            etree.QName(child).localname: child.text or "" for child in result.iterchildren(etree.Element)
        }
        answers[index] = update_outcome(
            texts.get("StatusCode"), texts.get("StatusMessage"), texts.get("ErrorCode"), changes[index].status
        )
    missing = UnsubOutcome(kind=OutcomeKind.TRANSIENT, meaning="no result came back for this change")
    return UpdateResult(
        overall_status=overall_status,
        request_id=_request_id(message),
        outcomes=[answers.get(index, missing) for index in range(len(changes))],
    )


def update_outcome(
    status_text: str | None, message_text: str | None, code_text: str | None, wanted: str
) -> UnsubOutcome:
    """What one Update result means for a change to status ``wanted`` (see docs/sfmc-client.md): the
    same reading as Execute's (``response.read_outcome``) with the Update's code tables."""
    return read_outcome(
        status_text,
        message_text,
        code_text,
        already=ALREADY_CODES.get(wanted, frozenset()),
        rejected=REJECTED_CODES,
        meanings=UPDATE_ERROR_MEANINGS,
        call="a Subscriber Update",
    )


def parse_datetime(text: str | None) -> datetime | None:
    """A dateTime as Marketing Cloud writes it (``2017-02-16T01:59:27.29``, zone or none, up to seven
    decimals); None for nothing or for what cannot be read (one odd date must not fail a whole Retrieve)."""
    if not text or not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def _required_status(message: etree._Element, name: str) -> str:
    overall_status = message.findtext(OVERALL_STATUS_TAG)
    if overall_status is None or not overall_status.strip():
        raise SfmcProtocolError(f"{name} without OverallStatus")
    return overall_status.strip()


def _request_id(message: etree._Element) -> str | None:
    text = message.findtext(REQUEST_ID_TAG)
    return text.strip() or None if text else None


def _type_name(value: str | None) -> str | None:
    """``q1:List``, ``par:List`` or ``List`` → ``List`` (clients and servers use any prefix or none)."""
    if not value:
        return None
    return value.rpartition(":")[2].strip() or None


def _values(element: etree._Element, prefix: str = "") -> dict[str, str | None]:
    """Every leaf under ``element`` by dotted local name; nil → None, empty → ``""``. A repeated property
    keeps its first value (a Retrieve's properties are single)."""
    values: dict[str, str | None] = {}
    for child in element.iterchildren(etree.Element):
        name = prefix + etree.QName(child).localname
        if child.get(_XSI_NIL, "").strip() in ("true", "1"):
            values.setdefault(name, None)
        elif len(child):
            for nested, value in _values(child, name + ".").items():
                values.setdefault(nested, value)
        else:
            values.setdefault(name, child.text or "")
    return values


def _ordinal(text: str | None, count: int) -> int:
    value = stripped(text)
    if value is None or not value.isascii() or not value.isdigit() or int(value) >= count:
        raise SfmcProtocolError(f"an Update result with OrdinalID {text!r} for {count} change(s)")
    return int(value)
