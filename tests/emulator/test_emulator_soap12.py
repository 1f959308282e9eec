"""Other clients' envelopes: SOAP 1.2 with the WS-Addressing action and no SOAPAction header (the official C#
SDK, Salesforce's Postman collection), for Execute, Retrieve and Update; answers and faults in SOAP 1.2.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from emu_helpers import PARTNER, WSSE, get_token, parse, request_element
from lxml import etree
from wire_helpers import (
    SOAP12_ENV,
    list_change,
    membership,
    post_12,
    read_page,
    read_update,
    retrieve_request,
    simple_filter,
    subscriber_object,
    update_request,
    wrap,
)
from wsdl_schema import load_wsdl_schema

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@pytest.fixture
def token(emulator) -> str:
    return get_token(emulator.base_url)


def _execute_payload(params: list[tuple[str, str]]) -> etree._Element:
    message = etree.Element(f"{{{PARTNER}}}ExecuteRequestMsg", nsmap={None: PARTNER})
    message.append(request_element(params))
    return message


def _answer_payload(content: bytes) -> etree._Element:
    root = parse(content)
    assert root.tag == f"{{{SOAP12_ENV}}}Envelope"
    [payload] = root.find(f"{{{SOAP12_ENV}}}Body")
    return payload


def test_execute_over_soap_12(emulator, token: str, shared_dir: Path) -> None:
    body = wrap(
        token, _execute_payload([("SubscriberKey", "demo-001"), ("JobID", "18099")]), "1.2", "Execute"
    )
    response = post_12(emulator.base_url, body)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/soap+xml")
    payload = _answer_payload(response.content)
    assert payload.findtext(f"{{{PARTNER}}}OverallStatus") == "OK"
    load_wsdl_schema(shared_dir).assertValid(etree.fromstring(etree.tostring(payload), _PARSER))
    [event] = emulator.events()
    assert (event["subscriber_key"], event["job_id"]) == ("demo-001", "18099")


def test_retrieve_over_soap_12(emulator, token: str) -> None:
    payload = retrieve_request(
        "ListSubscriber", ["ListID", "Status"], simple_filter("SubscriberKey", "demo-024")
    )
    response = post_12(emulator.base_url, wrap(token, payload, "1.2", "Retrieve"))
    page = read_page(response, SOAP12_ENV)
    assert page.overall_status == "OK"
    assert sorted(r["ListID"] for r in page.rows) == ["1000", "17914"]
    assert emulator.state()["stats"]["retrieve"]["ListSubscriber"] == 1


def test_update_over_soap_12(emulator, token: str) -> None:
    payload = update_request([subscriber_object("demo-001", [list_change("17920", "Unsubscribed")])])
    response = post_12(emulator.base_url, wrap(token, payload, "1.2", "Update"))
    assert read_update(response, SOAP12_ENV)[0] == "OK"
    assert membership(emulator.state(), "17920", "demo-001") == "Unsubscribed"


def test_soap_11_envelope_may_name_its_action_in_ws_addressing_only(emulator, token: str) -> None:
    payload = retrieve_request("List", ["ID"], simple_filter("ID", "17914"))
    headers = {"Content-Type": "text/xml; charset=utf-8"}  # no SOAPAction header at all
    response = requests.post(
        f"{emulator.base_url}/Service.asmx",
        data=wrap(token, payload, "1.1", "Retrieve"),
        headers=headers,
        timeout=5,
    )
    assert [r["ID"] for r in read_page(response).rows] == ["17914"]


def _fault(response) -> tuple[str, str | None, str]:
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("application/soap+xml")
    fault = parse(response.content).find(f"{{{SOAP12_ENV}}}Body/{{{SOAP12_ENV}}}Fault")
    value = fault.find(f"{{{SOAP12_ENV}}}Code/{{{SOAP12_ENV}}}Value")
    subcode = fault.find(f"{{{SOAP12_ENV}}}Code/{{{SOAP12_ENV}}}Subcode/{{{SOAP12_ENV}}}Value")
    if subcode is not None:
        prefix = (subcode.text or "").partition(":")[0]
        assert subcode.nsmap[prefix] == WSSE
    reason = fault.findtext(f"{{{SOAP12_ENV}}}Reason/{{{SOAP12_ENV}}}Text")
    return value.text, None if subcode is None else subcode.text, reason


def test_unknown_action_is_a_soap_12_sender_fault(emulator, token: str) -> None:
    body = wrap(token, _execute_payload([("SubscriberKey", "demo-001")]), "1.2", "Perform")
    assert _fault(post_12(emulator.base_url, body)) == (
        "soap:Sender",
        None,
        "Server did not recognize the value of HTTP Header SOAPAction: Perform.",
    )
    body = wrap(token, _execute_payload([("SubscriberKey", "demo-001")]), "1.2", None)
    assert (
        _fault(post_12(emulator.base_url, body))[2]
        == "Server did not recognize the value of HTTP Header SOAPAction: ."
    )
    assert emulator.events() == []


def test_bad_token_is_a_soap_12_security_fault(emulator) -> None:
    body = wrap("never-issued", _execute_payload([("SubscriberKey", "demo-001")]), "1.2", "Execute")
    assert _fault(post_12(emulator.base_url, body)) == ("soap:Sender", "q0:Security", "Login failed")


def test_injected_outage_answers_a_soap_12_client_in_soap_12(emulator, token: str) -> None:
    emulator.faults(error_rate=1.0, errors=["outage"])
    body = wrap(token, _execute_payload([("SubscriberKey", "demo-001")]), "1.2", "Execute")
    assert _fault(post_12(emulator.base_url, body)) == ("soap:Receiver", None, "Unplanned Outage")
