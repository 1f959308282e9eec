"""The response parser: real answers read right, faults typed, hostile or broken bodies refused safely."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from wsdl_schema import load_wsdl_schema, validate_body

from app.sfmc.errors import SfmcAuthError, SfmcProtocolError, SfmcTransientError
from app.sfmc.models import ExecuteResult, OutcomeKind, SoapFault
from app.sfmc.response import MAX_RESPONSE_BYTES, fault_error, is_token_fault, parse_response

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "http://exacttarget.com/wsdl/partnerAPI"


def execute_response(results: str, overall: str = "Has Errors", request_id: str = "req-1") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Header/>'
        f'<soap:Body><ExecuteResponseMsg xmlns="{PARTNER}"><OverallStatus>{overall}</OverallStatus>'
        f"<RequestID>{request_id}</RequestID>{results}</ExecuteResponseMsg></soap:Body></soap:Envelope>"
    ).encode()


def error_result(code: str, message: str = "Error message") -> str:
    return (
        f"<Results><StatusCode>Error</StatusCode><StatusMessage>{message}</StatusMessage>"
        f"<ErrorCode>{code}</ErrorCode></Results>"
    )


OK_RESULT = "<Results><StatusCode>OK</StatusCode><StatusMessage>Event posted</StatusMessage></Results>"


def fault(faultcode: str, faultstring: str, detail: str = "", extra_ns: str = "") -> bytes:
    return (
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}" {extra_ns}><soap:Body><soap:Fault>'
        f"<faultcode>{faultcode}</faultcode><faultstring>{faultstring}</faultstring>"
        f"<faultactor>https://webservice.s7.exacttarget.com/Service.asmx</faultactor>{detail}"
        f"</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


WSSE_NS = 'xmlns:q0="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"'


def apifault(code: int, message: str) -> str:
    return (
        f'<detail><apifault xmlns="urn:fault.partner.exacttarget.com"><Code>{code}</Code>'
        f"<Message>{message}</Message></apifault></detail>"
    )


def test_real_ok_response_is_delivered(shared_dir: Path) -> None:
    body = (shared_dir / "sfmc" / "examples" / "execute-response-ok.xml").read_bytes()
    result = parse_response(body, http_status=200, content_type="text/xml; charset=utf-8", expected=1)
    assert result == ExecuteResult(
        overall_status="OK",
        request_id="dd9bb381-636a-49f5-be3f-1c5901c36656",
        outcomes=[result.outcomes[0]],
    )
    outcome = result.outcomes[0]
    assert outcome.kind is OutcomeKind.DELIVERED and outcome.unsubscribed
    assert (outcome.status_code, outcome.status_message, outcome.error_code) == ("OK", "Event posted", None)


CODES = [
    ("400", OutcomeKind.REJECTED, "could not be found on the specified JobID"),
    ("401", OutcomeKind.ALREADY, "already unsubscribed from the specified list"),
    ("402", OutcomeKind.REJECTED, "Parameters array held no values"),
    ("403", OutcomeKind.REJECTED, "all missing or empty"),
    ("404", OutcomeKind.REJECTED, "SubscriberKey permission is on"),
    ("405", OutcomeKind.REJECTED, "SubscriberID given with"),
    ("406", OutcomeKind.REJECTED, "SubscriberKey given with"),
    ("407", OutcomeKind.REJECTED, "EmailAddress given with"),
    ("12012", OutcomeKind.ALREADY, "already master unsubscribed"),
    ("999", OutcomeKind.TRANSIENT, "999 is not one LogUnsubEvent documents"),
]


def test_every_result_in_a_batch_is_matched_by_position(shared_dir: Path) -> None:
    results = OK_RESULT + "".join(error_result(code) for code, _, _ in CODES) + OK_RESULT
    body = execute_response(results)
    validate_body(load_wsdl_schema(shared_dir), body)  # the test's answer is a shape Marketing Cloud sends
    result = parse_response(body, http_status=200, expected=len(CODES) + 2)
    assert result.overall_status == "Has Errors" and result.request_id == "req-1"
    kinds = [o.kind for o in result.outcomes]
    assert kinds == [OutcomeKind.DELIVERED, *(kind for _, kind, _ in CODES), OutcomeKind.DELIVERED]
    for outcome, (code, _, meaning) in zip(result.outcomes[1:-1], CODES, strict=True):
        assert outcome.error_code == int(code)
        assert meaning in outcome.meaning
    assert [o.unsubscribed for o in result.outcomes[:3]] == [True, False, True]


@pytest.mark.parametrize(
    "message",
    [
        "Unable to find a handler for the Foo method.",
        "Object reference not set to an instance of an object.",
        "Client ID 510009999 is not a business unit this token may act in.",
    ],
)
def test_an_error_without_an_error_code_is_rejected_with_marketing_clouds_words(message: str) -> None:
    # A request Marketing Cloud read and refused without a code gets the same answer on every retry.
    body = execute_response(
        f"<Results><StatusCode>Error</StatusCode><StatusMessage>{message}</StatusMessage></Results>"
    )
    (outcome,) = parse_response(body, http_status=200, expected=1).outcomes
    assert outcome.kind is OutcomeKind.REJECTED and outcome.error_code is None
    assert outcome.status_message == message and outcome.summary.startswith(message)


@pytest.mark.parametrize("code", ["", "  ", "abc", "999"])
def test_an_empty_or_unknown_error_code_is_transient(code: str) -> None:
    body = execute_response(
        f"<Results><StatusCode>Error</StatusCode><StatusMessage>?</StatusMessage><ErrorCode>{code}</ErrorCode>"
        "</Results>"
    )
    (outcome,) = parse_response(body, http_status=200, expected=1).outcomes
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.summary.startswith("?")


def test_nested_results_properties_are_not_counted_as_results() -> None:
    nested = (
        "<Results><StatusCode>OK</StatusCode><StatusMessage>Event posted</StatusMessage>"
        "<OrdinalID>0</OrdinalID>"
        "<Results><Name>a</Name><Value>b</Value></Results><Results><Name>c</Name><Value>d</Value></Results>"
        "</Results>"
    )
    result = parse_response(
        execute_response(nested + error_result("401"), overall="Has Errors"), http_status=200
    )
    assert [o.kind for o in result.outcomes] == [OutcomeKind.DELIVERED, OutcomeKind.ALREADY]


@pytest.mark.parametrize("sent", [1, 3])
def test_result_count_must_match_request_count(sent: int) -> None:
    with pytest.raises(SfmcProtocolError, match=f"{sent} requests sent but 2 results"):
        parse_response(execute_response(OK_RESULT * 2), http_status=200, expected=sent)


def test_missing_overall_status_is_a_protocol_error() -> None:
    body = execute_response(OK_RESULT).replace(b"<OverallStatus>Has Errors</OverallStatus>", b"")
    with pytest.raises(SfmcProtocolError, match="OverallStatus"):
        parse_response(body, http_status=200, expected=1)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (fault("q0:Security", "Token Expired", extra_ns=WSSE_NS), SoapFault("q0:Security", "Token Expired")),
        (fault("q0:Security", "Login Failed", extra_ns=WSSE_NS), SoapFault("q0:Security", "Login Failed")),
        (
            fault("soap:Server", "Rate Limited", apifault(17, "Rate Limited")),
            SoapFault("soap:Server", "Rate Limited", 17, "Rate Limited"),
        ),
        (
            fault("soap:Server", "Unplanned Outage", apifault(2, "Unplanned Outage")),
            SoapFault("soap:Server", "Unplanned Outage", 2, "Unplanned Outage"),
        ),
        (
            fault(
                "soap:Client", "Server did not recognize the value of HTTP Header SOAPAction: X.", "<detail/>"
            ),
            SoapFault("soap:Client", "Server did not recognize the value of HTTP Header SOAPAction: X."),
        ),
    ],
)
def test_faults_are_read(body: bytes, expected: SoapFault) -> None:
    assert parse_response(body, http_status=500, content_type="text/xml") == expected


@pytest.mark.parametrize(
    ("fault_", "error", "maybe_sent"),
    [
        (SoapFault("q0:Security", "Token Expired"), SfmcAuthError, None),
        (SoapFault("q0:Security", "LOGIN FAILED"), SfmcAuthError, None),
        (SoapFault("soap:Server", "Rate Limited", 17, "Rate Limited"), SfmcTransientError, False),
        (SoapFault("soap:Server", "Unplanned Outage", 2, "x"), SfmcTransientError, False),
        (SoapFault("soap:Server", "Something broke"), SfmcTransientError, True),
        (SoapFault("soap:Client", "Server did not recognize the value"), SfmcProtocolError, None),
    ],
)
def test_faults_map_to_typed_errors(fault_: SoapFault, error: type, maybe_sent: bool | None) -> None:
    mapped = fault_error(fault_)
    assert type(mapped) is error and mapped.fault == fault_
    if maybe_sent is not None:
        assert mapped.maybe_sent is maybe_sent
    assert is_token_fault(fault_) == (error is SfmcAuthError)


@pytest.mark.parametrize(
    ("body", "status", "content_type"),
    [
        (b"", 200, "text/xml"),
        (b"  \r\n", 502, None),
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", 502, "text/html"),
        (b"<!DOCTYPE html><html><head><title>Error</title></head><body>oops</body></html>", 503, None),
        (b"<html><body>maintenance</body></html>", 200, "text/html; charset=utf-8"),
        (b"upstream connect error or disconnect/reset before headers", 503, "text/plain"),
        (b"<error>gateway</error>", 504, "application/xml"),
    ],
)
def test_proxy_bodies_are_transient_and_maybe_sent(
    body: bytes, status: int, content_type: str | None
) -> None:
    with pytest.raises(SfmcTransientError) as caught:
        parse_response(body, http_status=status, content_type=content_type, expected=1)
    assert caught.value.maybe_sent is True


@pytest.mark.parametrize(
    "body",
    [b"not xml at all", b"<error>not soap</error>", f'<Envelope xmlns="{SOAP_ENV}"/>'.encode()],
)
def test_unreadable_2xx_is_a_protocol_error(body: bytes) -> None:
    with pytest.raises(SfmcProtocolError):
        parse_response(body, http_status=200, content_type="text/xml", expected=1)


XXE = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    b'<ExecuteResponseMsg xmlns="http://exacttarget.com/wsdl/partnerAPI"><OverallStatus>&xxe;</OverallStatus>'
    b"</ExecuteResponseMsg></soap:Body></soap:Envelope>"
)
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]><lolz>&lol9;</lolz>"
)
NETWORK_DTD = (
    b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">'
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>'
)
UTF16_DOCTYPE = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r><r/>'.encode("utf-16")


@pytest.mark.parametrize(
    "body", [XXE, BILLION_LAUGHS, NETWORK_DTD, UTF16_DOCTYPE], ids=["xxe", "laughs", "dtd", "utf16"]
)
def test_doctype_and_entities_are_refused(body: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(SfmcProtocolError, match="DOCTYPE") as caught:
        parse_response(body, http_status=200, expected=1)
    assert time.perf_counter() - started < 0.5  # nothing expanded, nothing fetched
    assert "root:" not in str(caught.value)


def test_oversize_body_is_refused_before_parsing() -> None:
    body = execute_response(OK_RESULT * (MAX_RESPONSE_BYTES // len(OK_RESULT) + 1))
    assert len(body) > MAX_RESPONSE_BYTES
    with pytest.raises(SfmcProtocolError, match="cap"):
        parse_response(body, http_status=200, expected=1)


def test_deep_nesting_is_refused() -> None:
    depth = 100_000
    body = execute_response("<a>" * depth + "</a>" * depth)
    with pytest.raises(SfmcProtocolError, match="not well-formed"):
        parse_response(body, http_status=200, expected=0)
