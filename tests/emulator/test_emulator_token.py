"""The OAuth token endpoint, and the command line: flags, data files, start-up."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from emu_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    envelope,
    get_token,
    post_soap,
    read_answer,
    read_fault,
    request_element,
)

from tests.conftest import ROOT, free_port, start_emulator, stop_process

OK_PARAMS = [("SubscriberKey", "demo-001"), ("JobID", "18099")]


@pytest.fixture
def token(emulator) -> str:
    """A parent-unit token from the freshly reset emulator."""
    return get_token(emulator.base_url)


def _token_response(base_url: str, **body: object) -> requests.Response:
    payload = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        **body,
    }
    return requests.post(f"{base_url}/v2/token", json=payload, timeout=5)


def test_token_response_has_the_real_shape(emulator) -> None:
    response = _token_response(emulator.base_url)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1079  # one second less than the 1080 s lifetime, as Marketing Cloud reports
    assert 0 < len(body["access_token"]) <= 512
    assert body["soap_instance_url"] == f"{emulator.base_url}/"
    assert body["rest_instance_url"] == f"{emulator.base_url}/"
    assert body["scope"]


def test_a_client_with_only_the_auth_url_finds_the_soap_endpoint(emulator) -> None:
    body = _token_response(emulator.base_url).json()
    soap_url = body["soap_instance_url"] + "Service.asmx"
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "Execute"}
    call = envelope(body["access_token"], [request_element(OK_PARAMS)])
    response = requests.post(soap_url, data=call, headers=headers, timeout=5)
    assert read_answer(response).overall_status == "OK"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        pytest.param({"client_secret": "wrong"}, 401, "invalid_client", id="bad-secret"),
        pytest.param({"client_id": "someone-else"}, 401, "invalid_client", id="bad-id"),
        pytest.param({"account_id": 999}, 401, "invalid_client", id="unknown-account"),
        pytest.param({"grant_type": "password"}, 400, "unsupported_grant_type", id="wrong-grant"),
    ],
)
def test_bad_token_requests_are_refused(emulator, body: dict, status: int, error: str) -> None:
    response = _token_response(emulator.base_url, **body)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert "access_token" not in response.json()


def test_non_json_token_request_is_refused(emulator) -> None:
    response = requests.post(f"{emulator.base_url}/v2/token", data="client_id=x", timeout=5)
    assert response.status_code == 400


def test_account_id_as_string_or_number(emulator) -> None:
    for account_id in ("510001001", 510001001):
        token = get_token(emulator.base_url, account_id=account_id)  # type: ignore[arg-type]
        body = envelope(token, [request_element([("SubscriberKey", "child-003"), ("JobID", "28001")])])
        assert read_answer(post_soap(emulator.base_url, body)).results[0].error_code in (None, "401")


def test_one_token_serves_many_calls(emulator, token: str) -> None:
    for key in ("demo-001", "demo-002", "demo-003"):
        body = envelope(token, [request_element([("SubscriberKey", key), ("JobID", "18099")])])
        assert read_answer(post_soap(emulator.base_url, body)).overall_status == "OK"
    assert emulator.state()["stats"]["token_requests"] == 1


def test_flags_credentials_and_token_ttl() -> None:
    server = start_emulator("--client-id", "acme-id", "--client-secret", "acme-secret", "--token-ttl", "2")
    try:
        base = server.base_url
        assert _token_response(base).status_code == 401  # the demo credentials are not these
        response = _token_response(base, client_id="acme-id", client_secret="acme-secret")
        assert response.status_code == 200
        assert response.json()["expires_in"] == 1
        token = response.json()["access_token"]
        assert (
            read_answer(post_soap(base, envelope(token, [request_element(OK_PARAMS)]))).overall_status == "OK"
        )
        time.sleep(2.1)
        fault = read_fault(post_soap(base, envelope(token, [request_element(OK_PARAMS)])))
        assert (fault.faultcode, fault.faultstring) == ("q0:Security", "Token Expired")
    finally:
        stop_process(server.process)


def _demo_data() -> dict:
    return json.loads((ROOT / "emulator" / "data" / "demo.json").read_text(encoding="utf-8"))


def test_data_file_with_subscriber_key_permission_off_for_the_parent(tmp_path: Path) -> None:
    data = _demo_data()
    data["business_units"][0]["subscriber_key_permission"] = False  # the parent only; the child inherits "on"
    data_file = tmp_path / "data.json"
    data_file.write_text(json.dumps(data), encoding="utf-8")
    started = time.monotonic()
    server = start_emulator("--data", str(data_file))
    startup = time.monotonic() - started
    try:
        base = server.base_url
        token = get_token(base)

        def result(params, client_id=None):
            body = envelope(token, [request_element(params, client_id)])
            return read_answer(post_soap(base, body)).results[0]

        assert result([("EmailAddress", "demo001@example.com"), ("JobID", "18099")]).status_code == "OK"
        mismatch = result([("EmailAddress", "demo002@example.com"), ("SubscriberKey", "demo-003")])
        assert mismatch.error_code == "407"
        assert result([("EmailAddress", "child001@example.com")], client_id="510001001").error_code == "404"
        state = requests.get(f"{base}/_emulator/state", timeout=5).json()
        permissions = {u["mid"]: u["subscriber_key_permission"] for u in state["business_units"]}
        assert permissions == {"510001000": False, "510001001": True}
    finally:
        stop_process(server.process)
    assert startup < 3.0, f"start-up took {startup:.2f} s"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("{not json", "is not valid JSON", id="not-json"),
        pytest.param('{"business_units": []}', "is inconsistent", id="incomplete"),
    ],
)
def test_bad_data_file_stops_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    data_file = tmp_path / "bad.json"
    data_file.write_text(content, encoding="utf-8")
    command = [sys.executable, "-m", "emulator", "--port", str(free_port()), "--data", str(data_file)]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert finished.returncode == 2
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]
    assert "Traceback" not in finished.stderr
