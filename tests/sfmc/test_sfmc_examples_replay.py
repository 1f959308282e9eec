"""Every captured (or reconstructed) Marketing Cloud answer in ``../shared/sfmc/examples/``, over HTTP.

A small loopback server plays Marketing Cloud: it issues a token at ``/v2/token`` and answers the SOAP call
with the example's bytes, exactly as stored (HTTP 500 for a fault, as Marketing Cloud sends them). Our real
client reads it; the test asserts the outcome class and that Marketing Cloud's own words are kept, since an
operator reading ``last_error`` must see what really failed. The one request example is replayed to the
emulator instead. A new example file without an expectation here fails the test: classify it.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

from app.identity import Recipient
from app.sfmc import LogUnsubEvent, OutcomeKind, SfmcClient, SfmcProtocolError, SfmcTransientError
from tests.conftest import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, EmulatorServer

EVENT = LogUnsubEvent(Recipient(subscriber_key="sub-123", job_id="18099", list_id="17914", batch_id="0"))

# file -> (what the client makes of it, the words of Marketing Cloud that must be kept, ErrorCode)
RESULTS: dict[str, tuple[OutcomeKind, str, int | None]] = {
    "execute-response-ok.xml": (OutcomeKind.DELIVERED, "Event posted", None),
    # No ErrorCode: retrying the same request cannot help, so it is refused for good, words kept.
    "reconstructed-execute-unknown-method.xml": (
        OutcomeKind.REJECTED,
        "Unable to find a handler for the Foo method.",
        None,
    ),
    "reconstructed-execute-402-no-parameters.xml": (OutcomeKind.REJECTED, "No Parameters were provided", 402),
}
# file -> (the exception, whether the call may have been processed, words that must be in the message)
FAILURES: dict[str, tuple[type[Exception], bool | None, str]] = {
    "fault-rate-limited.xml": (SfmcTransientError, False, "Rate Limited"),
    "fault-unplanned-outage.xml": (SfmcTransientError, False, "Unplanned Outage"),
    "fault-client-soapaction.xml": (
        SfmcProtocolError,
        None,
        "Server did not recognize the value of HTTP Header SOAPAction: Test.",
    ),
    # A CreateResponse can never answer an Execute: unreadable as such, and the message says what came.
    "create-response-12014-already-on-list.xml": (SfmcProtocolError, None, "CreateResponse"),
}
REQUESTS = {"execute-request-suds.xml"}


class FakeMarketingCloud(http.server.BaseHTTPRequestHandler):
    """Token endpoint plus one canned SOAP answer (``answer``), sent byte for byte."""

    answer: ClassVar[bytes] = b""
    soap_calls: ClassVar[int] = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/v2/token":
            base = f"http://127.0.0.1:{self.server.server_address[1]}/"
            body = json.dumps(
                {
                    "access_token": "replay-token",
                    "token_type": "Bearer",
                    "expires_in": 1079,
                    "scope": "email_write",
                    "soap_instance_url": base,
                    "rest_instance_url": base,
                }
            ).encode()
            self._send(200, "application/json", body)
            return
        type(self).soap_calls += 1
        status = 500 if b":Fault>" in self.answer else 200
        self._send(status, "text/xml; charset=utf-8", self.answer)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def fake_cloud() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeMarketingCloud)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def replay(fake_cloud: str, shared_dir: Path) -> Iterator[Any]:
    """``replay(name)`` loads an example as the next SOAP answer; yields a client on the fake cloud."""
    client = SfmcClient.from_config(
        {
            "SFMC_AUTH_URL": fake_cloud,
            "SFMC_CLIENT_ID": "replay",
            "SFMC_CLIENT_SECRET": "replay-secret",
            "SFMC_TIMEOUT": 2.0,
        }
    )

    def load(name: str) -> SfmcClient:
        FakeMarketingCloud.answer = (shared_dir / "sfmc" / "examples" / name).read_bytes()
        FakeMarketingCloud.soap_calls = 0
        return client

    yield load
    client.close()


def test_every_example_has_an_expectation(shared_dir: Path) -> None:
    examples = {path.name for path in (shared_dir / "sfmc" / "examples").glob("*.xml")}
    assert examples == set(RESULTS) | set(FAILURES) | REQUESTS


@pytest.mark.parametrize("name", sorted(RESULTS))
def test_an_execute_answer_is_read_into_its_outcome_with_marketing_clouds_words(
    replay: Any, name: str
) -> None:
    kind, words, error_code = RESULTS[name]
    result = replay(name).log_unsub_events([EVENT])
    [outcome] = result.outcomes
    assert (outcome.kind, outcome.error_code) == (kind, error_code)
    assert outcome.status_message == words
    if kind is not OutcomeKind.DELIVERED:
        assert words in outcome.summary  # what the journal keeps as last_error
    assert FakeMarketingCloud.soap_calls == 1


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_a_fault_or_foreign_answer_fails_the_call_with_its_words(replay: Any, name: str) -> None:
    error, maybe_sent, words = FAILURES[name]
    with pytest.raises(error) as raised:
        replay(name).log_unsub_events([EVENT])
    assert words in str(raised.value)
    if maybe_sent is not None:
        assert raised.value.maybe_sent is maybe_sent
    assert FakeMarketingCloud.soap_calls == 1  # a refusal is never retried blindly


def test_the_sdk_request_example_is_executed_by_the_emulator(
    shared_dir: Path, emulator: EmulatorServer
) -> None:
    [name] = REQUESTS
    token = requests.post(
        f"{emulator.auth_url}/v2/token",
        json={
            "grant_type": "client_credentials",
            "client_id": EMULATOR_CLIENT_ID,
            "client_secret": EMULATOR_CLIENT_SECRET,
        },
        timeout=5,
    ).json()["access_token"]
    body = (shared_dir / "sfmc" / "examples" / name).read_bytes().replace(b"ACCESS_TOKEN", token.encode())
    answer = requests.post(
        emulator.soap_url,
        data=body,
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "Execute"},
        timeout=5,
    )
    assert answer.status_code == 200 and b"<StatusMessage>Event posted</StatusMessage>" in answer.content
    [event] = emulator.events()
    assert (event["subscriber_key"], event["reason"]) == ("sub-123", "Profile Center Unsubscribe")
