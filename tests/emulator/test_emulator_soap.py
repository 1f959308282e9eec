"""The SOAP endpoint as a wire: paths, SOAPAction, strict parsing, tokens, the answer's shape, batching.

Every ExecuteResponseMsg the emulator returns here is also held to ../shared/sfmc/etframework.wsdl.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from emu_helpers import (
    FUEL,
    PARTNER,
    SOAP_ENV,
    WSA,
    WSSE,
    envelope,
    get_token,
    parse,
    post_soap,
    read_answer,
    read_fault,
    request_element,
)
from lxml import etree
from wsdl_schema import load_wsdl_schema, validate_body

OK_PARAMS = [("SubscriberKey", "demo-001"), ("JobID", "18099")]


@pytest.fixture
def token(emulator) -> str:
    """A parent-unit token from the freshly reset emulator."""
    return get_token(emulator.base_url)


def test_suds_envelope_is_accepted_unchanged(emulator, token: str, shared_dir: Path) -> None:
    document = etree.parse(str(shared_dir / "sfmc" / "examples" / "execute-request-suds.xml"))
    [oauth] = document.getroot().iter(f"{{{FUEL}}}fueloauth")
    assert oauth.text == "ACCESS_TOKEN"
    oauth.text = token  # the only change: a token this emulator issued
    body = etree.tostring(document, xml_declaration=True, encoding="UTF-8")
    answer = read_answer(post_soap(emulator.base_url, body))
    assert answer.overall_status == "OK"
    assert [(r.status_code, r.status_message) for r in answer.results] == [("OK", "Event posted")]
    [event] = emulator.events()
    assert (
        event["subscriber_key"],
        event["job_id"],
        event["list_id"],
        event["batch_id"],
        event["reason"],
    ) == (
        "sub-123",
        "18099",
        "17914",
        "0",
        "Profile Center Unsubscribe",
    )


@pytest.mark.parametrize("path", ["Service.asmx", "service.asmx", "SERVICE.ASMX"])
@pytest.mark.parametrize("action", ["Execute", '"Execute"'])
def test_path_is_case_insensitive_and_action_bare_or_quoted(
    emulator, token: str, path: str, action: str
) -> None:
    body = envelope(token, [request_element(OK_PARAMS)])
    answer = read_answer(post_soap(emulator.base_url, body, action=action, path=path))
    assert answer.overall_status == "OK"


def test_unknown_soap_action_is_a_client_fault(emulator, token: str) -> None:
    response = post_soap(emulator.base_url, envelope(token, [request_element(OK_PARAMS)]), action="Perform")
    fault = read_fault(response)
    assert fault.faultcode == "soap:Client"
    assert fault.faultstring == "Server did not recognize the value of HTTP Header SOAPAction: Perform."
    assert emulator.events() == []


def test_response_has_the_real_header_and_shape(emulator, token: str) -> None:
    message_id = f"urn:uuid:{uuid.uuid4()}"
    document = parse(envelope(token, [request_element(OK_PARAMS)]))
    header = document.find(f"{{{SOAP_ENV}}}Header")
    etree.SubElement(header, f"{{{WSA}}}MessageID").text = message_id
    response = post_soap(emulator.base_url, etree.tostring(document))
    assert response.headers["Content-Type"].startswith("text/xml")
    root = parse(response.content)
    reply_header = root.find(f"{{{SOAP_ENV}}}Header")
    assert reply_header.findtext(f"{{{WSA}}}Action") == "ExecuteResponse"
    assert reply_header.findtext(f"{{{WSA}}}RelatesTo") == message_id
    assert reply_header.findtext(f"{{{WSA}}}MessageID").startswith("urn:uuid:")
    wsu = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
    timestamp = reply_header.find(f"{{{WSSE}}}Security/{{{wsu}}}Timestamp")
    assert timestamp is not None
    assert timestamp.findtext(f"{{{wsu}}}Created") < timestamp.findtext(f"{{{wsu}}}Expires")
    answer = read_answer(response)
    uuid.UUID(answer.request_id)  # a GUID, as Marketing Cloud's


def test_token_header_without_namespace_is_accepted(emulator, token: str) -> None:
    body = envelope(token, [request_element(OK_PARAMS)], token_namespace=False)
    assert read_answer(post_soap(emulator.base_url, body)).overall_status == "OK"


@pytest.mark.parametrize(
    ("token_value", "faultstring"),
    [
        pytest.param("never-issued-token", "Login failed", id="never-issued"),
        pytest.param(None, "Login failed", id="no-header"),
    ],
)
def test_unknown_token_is_login_failed(emulator, token_value: str | None, faultstring: str) -> None:
    fault = read_fault(post_soap(emulator.base_url, envelope(token_value, [request_element(OK_PARAMS)])))
    assert (fault.faultcode, fault.faultstring, fault.faultcode_namespace) == (
        "q0:Security",
        faultstring,
        WSSE,
    )
    assert emulator.events() == []


def test_expired_token_gets_token_expired_and_a_new_token_works(emulator, token: str) -> None:
    emulator.faults(expire_tokens_now=True)
    fault = read_fault(post_soap(emulator.base_url, envelope(token, [request_element(OK_PARAMS)])))
    assert (fault.faultcode, fault.faultstring, fault.faultcode_namespace) == (
        "q0:Security",
        "Token Expired",
        WSSE,
    )
    assert emulator.events() == []
    fresh = get_token(emulator.base_url)
    assert (
        read_answer(post_soap(emulator.base_url, envelope(fresh, [request_element(OK_PARAMS)])))
        .results[0]
        .status_code
        == "OK"
    )


def test_reset_forgets_tokens(emulator, token: str) -> None:
    emulator.reset()
    fault = read_fault(post_soap(emulator.base_url, envelope(token, [request_element(OK_PARAMS)])))
    assert fault.faultstring == "Login failed"


def _raw_envelope(token: str, message_xml: str) -> bytes:
    """An envelope whose Body holds ``message_xml`` verbatim (to send deliberately wrong documents)."""
    document = parse(envelope(token, []))
    body = document.find(f"{{{SOAP_ENV}}}Body")
    body.remove(body[0])
    body.append(etree.fromstring(message_xml))
    return etree.tostring(document)


@pytest.mark.parametrize(
    "message_xml",
    [
        pytest.param(
            f'<ExecuteRequestMsg xmlns="{PARTNER}"><Requests><Parameters><Name>SubscriberKey</Name>'
            "<Value>demo-001</Value></Parameters><Name>LogUnsubEvent</Name></Requests></ExecuteRequestMsg>",
            id="name-after-parameters",
        ),
        pytest.param(
            f'<ExecuteRequestMsg xmlns="{PARTNER}"><Requests><Name>LogUnsubEvent</Name><Parameters>'
            '<Name>SubscriberKey</Name><Value xmlns="">demo-001</Value></Parameters></Requests>'
            "</ExecuteRequestMsg>",
            id="unqualified-value",
        ),
        pytest.param(
            '<ExecuteRequestMsg xmlns="http://example.com/other"><Requests/></ExecuteRequestMsg>',
            id="wrong-namespace",
        ),
        pytest.param(
            f'<ExecuteRequestMsg xmlns="{PARTNER}"><Requests><Name>LogUnsubEvent</Name><Parameters>'
            "<Name>SubscriberKey</Name></Parameters></Requests></ExecuteRequestMsg>",
            id="value-missing",
        ),
        pytest.param(
            f'<ExecuteRequestMsg xmlns="{PARTNER}"><Requests><Client><ID>child</ID></Client>'
            "</Requests></ExecuteRequestMsg>",
            id="client-id-not-int",
        ),
        pytest.param(f'<RetrieveRequestMsg xmlns="{PARTNER}"/>', id="other-operation"),
    ],
)
def test_malformed_bodies_get_a_client_fault(emulator, token: str, message_xml: str) -> None:
    fault = read_fault(post_soap(emulator.base_url, _raw_envelope(token, message_xml)))
    assert fault.faultcode == "soap:Client"
    assert fault.faultstring.startswith("Server was unable to read request.")
    assert emulator.events() == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"<not-closed>", id="not-xml"),
        pytest.param(b'<?xml version="1.0"?><Envelope/>', id="not-soap"),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>&b;</soap:Body>'
            b"</soap:Envelope>",
            id="dtd-with-entities",
        ),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE e SYSTEM "http://127.0.0.1:9/x.dtd">'
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>',
            id="external-dtd",
        ),
    ],
)
def test_unreadable_documents_get_a_client_fault(emulator, body: bytes) -> None:
    fault = read_fault(post_soap(emulator.base_url, body))
    assert fault.faultcode == "soap:Client"


def test_oversize_body_is_refused(emulator, token: str) -> None:
    huge = [request_element([("SubscriberKey", "x" * 1000), ("Reason", "y" * 1000)]) for _ in range(600)]
    response = post_soap(emulator.base_url, envelope(token, huge))
    assert response.status_code == 413
    assert read_fault(response).faultcode == "soap:Client"
    assert emulator.state()["stats"]["requests_executed"] == 0


def test_lowercase_element_names_fail_that_request_only(emulator, token: str) -> None:
    good = request_element(OK_PARAMS)
    broken = request_element([("SubscriberKey", "demo-002"), ("JobID", "18099")])
    for element in broken.iter(f"{{{PARTNER}}}Name", f"{{{PARTNER}}}Value"):
        element.tag = f"{{{PARTNER}}}{etree.QName(element).localname.lower()}"
    answer = read_answer(post_soap(emulator.base_url, envelope(token, [good, broken])))
    assert answer.overall_status == "Has Errors"
    assert [(r.status_code, r.status_message) for r in answer.results] == [
        ("OK", "Event posted"),
        ("Error", "Object reference not set to an instance of an object."),
    ]
    assert [e["subscriber_key"] for e in emulator.events()] == ["demo-001"]


def test_batch_of_50_answers_in_order(emulator, token: str, shared_dir: Path) -> None:
    keys = (
        [f"demo-{n:03d}" for n in range(1, 21)]
        + ["demo-021", "demo-022"]
        + [f"nobody-{n}" for n in range(28)]
    )
    batch = [request_element([("SubscriberKey", key), ("JobID", "18099")]) for key in keys]
    response = post_soap(emulator.base_url, envelope(token, batch))
    validate_body(load_wsdl_schema(shared_dir), response.content)
    answer = read_answer(response)
    assert answer.overall_status == "Has Errors"
    assert len(answer.results) == 50
    codes = [r.error_code for r in answer.results]
    assert codes == [None] * 20 + ["12012", "401"] + ["400"] * 28
    assert [e["subscriber_key"] for e in emulator.events()] == keys[:20]
    assert emulator.state()["stats"]["requests_executed"] == 50


@pytest.mark.parametrize(
    ("keys", "overall"),
    [
        pytest.param(["demo-001"], "OK", id="ok"),
        pytest.param(["demo-021"], "Error", id="one-error"),
        pytest.param(["demo-021", "nobody"], "Error", id="all-errors"),
        pytest.param(["demo-001", "nobody"], "Has Errors", id="mixed"),
    ],
)
def test_responses_validate_against_the_wsdl(emulator, token: str, shared_dir: Path, keys, overall) -> None:
    batch = [request_element([("SubscriberKey", key), ("JobID", "18099")]) for key in keys]
    response = post_soap(emulator.base_url, envelope(token, batch))
    payload = validate_body(load_wsdl_schema(shared_dir), response.content)
    assert payload.findtext(f"{{{PARTNER}}}OverallStatus") == overall


def test_get_on_the_service_is_not_an_execute(emulator) -> None:
    response = requests.get(f"{emulator.base_url}/Service.asmx", timeout=5)
    assert response.status_code == 200
    assert emulator.state()["stats"]["soap_calls"] == 0
    assert requests.post(f"{emulator.base_url}/Other.asmx", timeout=5).status_code == 404
