"""SfmcClient against the Marketing Cloud emulator over real HTTP on loopback: every seed rule, every
error code the emulator can produce through our client, batching, tokens, faults and timeouts."""

from __future__ import annotations

import http.server
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests
from lxml import etree
from sfmc_helpers import Observer, client_config
from wsdl_schema import load_wsdl_schema, validate_body

from app.identity import Recipient
from app.sfmc import (
    LogUnsubEvent,
    OutcomeKind,
    SfmcAuthError,
    SfmcClient,
    SfmcProtocolError,
    SfmcTransientError,
)
from app.sfmc.auth import TokenProvider
from app.sfmc.schema import check_envelope
from app.sfmc.transport import HttpReply, Transport
from tests.conftest import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, EmulatorServer, free_port

DEFAULT_REASON = "Unsubscribed via Log Unsub Event Execute call"
CHILD_MID = "510001001"


class RecordingTransport(Transport):
    """The real transport, keeping a copy of every envelope it sends (to hold them to the WSDL)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent: list[bytes] = []

    def post_soap(self, url: str, envelope: bytes, **kwargs: Any) -> HttpReply:
        self.sent.append(envelope)
        return super().post_soap(url, envelope, **kwargs)


@pytest.fixture
def observer() -> Observer:
    return Observer()


@pytest.fixture
def recording(emulator: EmulatorServer) -> Iterator[RecordingTransport]:
    """The real transport, keeping every envelope sent; each is held to our own Execute schema after the
    test (the real WSDL check, which needs ../shared, is test_envelopes_of_every_kind_match_the_real_wsdl)."""
    transport = RecordingTransport(timeout=2.0)
    yield transport
    for envelope in transport.sent:
        check_envelope(etree.fromstring(envelope))


@pytest.fixture
def client(
    emulator: EmulatorServer, observer: Observer, recording: RecordingTransport
) -> Iterator[SfmcClient]:
    """A client on the emulator that records every envelope it sends (see ``recording``)."""
    sfmc = SfmcClient.from_config(client_config(emulator), observer=observer)
    sfmc.transport.close()
    sfmc.transport = sfmc.tokens._transport = recording
    yield sfmc
    sfmc.close()


def stats(emulator: EmulatorServer) -> dict[str, int]:
    return emulator.state()["stats"]


def subscriber(emulator: EmulatorServer, subscriber_id: int) -> dict[str, Any]:
    return next(s for s in emulator.state()["subscribers"] if s["id"] in (subscriber_id, str(subscriber_id)))


# (request, kind, error code, the UnsubEvent expected: job, list, batch, mid, reason; None = no event)
SEED_RULES = {
    "job id looks up list and batch": (
        LogUnsubEvent(
            Recipient(subscriber_key="demo-002", job_id="18099"), reason="Profile Center: too many"
        ),
        OutcomeKind.DELIVERED,
        None,
        ("18099", "17914", "1", "510001000", "Profile Center: too many"),
    ),
    "default reason": (
        LogUnsubEvent(Recipient(subscriber_id="1003", job_id="18099", list_id="17914", batch_id="0")),
        OutcomeKind.DELIVERED,
        None,
        ("18099", "17914", "0", "510001000", DEFAULT_REASON),
    ),
    "list id uses the most recent job sent": (
        LogUnsubEvent(Recipient(subscriber_key="demo-004", list_id="17920")),
        OutcomeKind.DELIVERED,
        None,
        ("18101", "17920", "0", "510001000", DEFAULT_REASON),
    ),
    "client id acts in the child unit": (
        LogUnsubEvent(Recipient(subscriber_key="child-001", job_id="28001", mid=CHILD_MID)),
        OutcomeKind.DELIVERED,
        None,
        ("28001", "27914", "0", CHILD_MID, DEFAULT_REASON),
    ),
    "unicode and markup in identifiers and reason": (
        LogUnsubEvent(
            Recipient(subscriber_key='demo-032 <&> "quoted"', job_id="18099"), reason="Zoë: « trop » 📨"
        ),
        OutcomeKind.DELIVERED,
        None,
        ("18099", "17914", None, "510001000", "Zoë: « trop » 📨"),
    ),
    "suppression list refused": (
        LogUnsubEvent(Recipient(subscriber_key="demo-005", list_id="17940")),
        OutcomeKind.REJECTED,
        400,
        None,
    ),
    "not sent that job": (
        LogUnsubEvent(Recipient(subscriber_key="demo-030", job_id="18100")),
        OutcomeKind.REJECTED,
        400,
        None,
    ),
    "child subscriber without client id": (
        LogUnsubEvent(Recipient(subscriber_key="child-002", job_id="28001")),
        OutcomeKind.REJECTED,
        400,
        None,
    ),
    "already unsubscribed from the list": (
        LogUnsubEvent(Recipient(subscriber_key="demo-022", list_id="17914")),
        OutcomeKind.ALREADY,
        401,
        None,
    ),
    "already master unsubscribed": (
        LogUnsubEvent(Recipient(subscriber_key="demo-021", job_id="18099")),
        OutcomeKind.ALREADY,
        12012,
        None,
    ),
    "no parameters": (LogUnsubEvent(), OutcomeKind.REJECTED, 402, None),
    "no subscriber identifier": (LogUnsubEvent(Recipient(job_id="18099")), OutcomeKind.REJECTED, 403, None),
    "email alone with the SubscriberKey permission": (
        LogUnsubEvent(Recipient(email="demo006@example.com", job_id="18099")),
        OutcomeKind.REJECTED,
        404,
        None,
    ),
    "subscriber id and key of different people": (
        LogUnsubEvent(Recipient(subscriber_id="1007", subscriber_key="demo-008")),
        OutcomeKind.REJECTED,
        405,
        None,
    ),
    "key and email of different people": (
        LogUnsubEvent(Recipient(subscriber_key="demo-009", email="demo010@example.com")),
        OutcomeKind.REJECTED,
        406,
        None,
    ),
}


@pytest.mark.parametrize(("request_", "kind", "code", "event"), SEED_RULES.values(), ids=SEED_RULES.keys())
def test_seed_rule(
    client: SfmcClient,
    emulator: EmulatorServer,
    request_: LogUnsubEvent,
    kind: OutcomeKind,
    code: int | None,
    event: tuple | None,
) -> None:
    result = client.log_unsub_events([request_])
    (outcome,) = result.outcomes
    assert (outcome.kind, outcome.error_code) == (kind, code), outcome
    assert result.request_id
    events = emulator.events()
    if event is None:
        assert events == []
        return
    (logged,) = events
    job, list_id, batch, mid, reason = event
    assert (logged["job_id"], logged["list_id"], logged["mid"], logged["reason"]) == (
        job,
        list_id,
        mid,
        reason,
    )
    if batch is not None:
        assert logged["batch_id"] == batch
    if request_.recipient.subscriber_key:
        assert logged["subscriber_key"] == request_.recipient.subscriber_key


def test_envelopes_of_every_kind_match_the_real_wsdl(
    client: SfmcClient, recording: RecordingTransport, shared_dir: Path
) -> None:
    """What the client really sends, held to the real partner WSDL: every seed rule's request, a full
    batch of 50, a request without job context and the ping (the other tests here run without ../shared
    and hold their envelopes to our own copy of the schema only)."""
    for request_, *_ in SEED_RULES.values():
        client.log_unsub_events([request_])
    client.log_unsub_events(
        [LogUnsubEvent(Recipient(subscriber_key=f"demo-{n % 20 + 1:03d}", job_id="18099")) for n in range(50)]
    )
    client.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-011"))])
    client.ping()
    assert len(recording.sent) == len(SEED_RULES) + 3
    schema = load_wsdl_schema(shared_dir)
    for envelope in recording.sent:
        validate_body(schema, envelope)


@pytest.mark.parametrize(
    "request_",
    [
        LogUnsubEvent(Recipient(subscriber_key="demo-011")),
        LogUnsubEvent(Recipient(subscriber_key="demo-011", batch_id="1")),
    ],
    ids=["no job context", "batch id alone"],
)
def test_without_job_context_master_unsubscribes_without_event(
    client: SfmcClient, emulator: EmulatorServer, request_: LogUnsubEvent
) -> None:
    (outcome,) = client.log_unsub_events([request_]).outcomes
    assert outcome.kind is OutcomeKind.DELIVERED
    assert emulator.events() == []
    assert subscriber(emulator, 1011)["status"] == "Unsubscribed"
    # Master unsubscribed now: the next attempt of any kind is "already" (12012), success for the person.
    (again,) = client.log_unsub_events(
        [LogUnsubEvent(Recipient(subscriber_key="demo-011", job_id="18099"))]
    ).outcomes
    assert (again.kind, again.error_code) == (OutcomeKind.ALREADY, 12012)


def test_fifty_requests_in_one_call_matched_by_position(client: SfmcClient, emulator: EmulatorServer) -> None:
    batch = [LogUnsubEvent(Recipient(subscriber_key=f"demo-{n:03d}", job_id="18099")) for n in range(1, 21)]
    batch += [
        LogUnsubEvent(Recipient(subscriber_key=f"demo-{n:03d}", job_id="18099")) for n in range(1, 21)
    ]  # repeats
    batch += [LogUnsubEvent(Recipient(subscriber_key=f"nobody-{n}", job_id="18099")) for n in range(9)]
    batch += [LogUnsubEvent()]
    assert len(batch) == 50
    result = client.log_unsub_events(batch)
    kinds = [o.kind for o in result.outcomes]
    # The repeats run after the first twenty in the same call: already off the newsletter (401).
    assert kinds[:20] == [OutcomeKind.DELIVERED] * 20
    assert kinds[20:40] == [OutcomeKind.ALREADY] * 20
    assert {o.error_code for o in result.outcomes[20:40]} == {401}
    assert kinds[40:49] == [OutcomeKind.REJECTED] * 9 and {o.error_code for o in result.outcomes[40:49]} == {
        400
    }
    assert result.outcomes[49].error_code == 402
    assert [e["subscriber_key"] for e in emulator.events()] == [f"demo-{n:03d}" for n in range(1, 21)]
    counters = stats(emulator)
    assert (counters["soap_calls"], counters["requests_executed"], counters["token_requests"]) == (1, 50, 1)


def test_one_token_for_many_calls_and_threads(
    client: SfmcClient, emulator: EmulatorServer, observer: Observer
) -> None:
    errors: list[BaseException] = []

    def call(n: int) -> None:
        try:
            client.log_unsub_events(
                [LogUnsubEvent(Recipient(subscriber_key=f"demo-{n:03d}", job_id="18099"))]
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(1, 11)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-012", job_id="18099"))])
    assert errors == []
    assert stats(emulator)["token_requests"] == 1
    assert stats(emulator)["soap_calls"] == 11
    assert client.token_refreshes == observer.refreshes == 1
    assert observer.calls == ["ok"] * 11
    assert len(observer.seconds) == 11 and all(0 <= seconds < 5 for seconds in observer.seconds)


def test_the_observer_gets_each_calls_duration(
    client: SfmcClient, emulator: EmulatorServer, observer: Observer
) -> None:
    """The duration /metrics shows per call (sfmc_call_seconds) is the call's, not zero nor negative."""
    client.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-013", job_id="18099"))])
    emulator.faults(latency_ms=300)
    client.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-014", job_id="18099"))])
    emulator.faults(latency_ms=300, error_rate=1.0, errors=["outage"])
    with pytest.raises(SfmcTransientError):
        client.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-015", job_id="18099"))])
    assert observer.calls == ["ok", "ok", "transient"]
    first, slow, failed = observer.seconds
    assert 0 < first < 1
    assert 0.3 <= slow < 2 and 0.3 <= failed < 2


def test_token_refreshed_before_it_runs_out(emulator: EmulatorServer) -> None:
    now = [1000.0]
    tokens = TokenProvider(
        auth_url=emulator.auth_url,
        client_id=EMULATOR_CLIENT_ID,
        client_secret=EMULATOR_CLIENT_SECRET,
        account_id=None,
        transport=Transport(timeout=2.0),
        clock=lambda: now[0],
    )
    first = tokens.current()
    assert first.expires_at - now[0] == 1079  # the emulator's 1080 s token, reported one second short
    now[0] += 1079 - 301  # 301 s left: still good
    assert tokens.current() is first
    now[0] += 2  # 299 s left: refreshed
    second = tokens.current()
    assert second is not first and second.value != first.value
    assert stats(emulator)["token_requests"] == 2


def test_token_expired_fault_refreshes_once_and_retries(
    client: SfmcClient, emulator: EmulatorServer, observer: Observer
) -> None:
    client.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-013", job_id="18099"))])
    emulator.faults(expire_tokens_now=True)
    result = client.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-014", job_id="18099"))])
    assert result.outcomes[0].kind is OutcomeKind.DELIVERED
    assert stats(emulator)["token_requests"] == 2 and stats(emulator)["soap_calls"] == 3
    assert [e["subscriber_key"] for e in emulator.events()] == ["demo-013", "demo-014"]
    assert observer.refreshes == 2 and observer.calls == ["ok", "ok"]


def test_login_failed_twice_is_an_auth_error(client: SfmcClient, emulator: EmulatorServer) -> None:
    emulator.faults(error_rate=1.0, errors=["login_failed"])
    with pytest.raises(SfmcAuthError, match=r"(?i)login failed.*again after a token refresh"):
        client.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-015", job_id="18099"))])
    assert stats(emulator)["token_requests"] == 2 and stats(emulator)["soap_calls"] == 2  # one retry only


def test_bad_credentials_are_an_auth_error_without_soap_call(emulator: EmulatorServer) -> None:
    sfmc = SfmcClient.from_config(client_config(emulator, SFMC_CLIENT_SECRET="wrong-secret"))
    with pytest.raises(SfmcAuthError, match="invalid_client") as caught:
        sfmc.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-016"))])
    assert "wrong-secret" not in str(caught.value)
    assert stats(emulator)["soap_calls"] == 0
    ping = sfmc.ping()
    assert not ping.ok and not ping.token_ok and "invalid_client" in ping.problem


def test_account_id_and_explicit_soap_url(emulator: EmulatorServer) -> None:
    """SFMC_ACCOUNT_ID makes the token act in the child unit; SFMC_SOAP_URL overrides soap_instance_url."""
    config = client_config(
        emulator, SFMC_ACCOUNT_ID=int(CHILD_MID), SFMC_SOAP_URL=f"{emulator.base_url}/service.asmx"
    )
    sfmc = SfmcClient.from_config(config)
    (outcome,) = sfmc.log_unsub_events(
        [LogUnsubEvent(Recipient(subscriber_key="child-003", job_id="28001"))]
    ).outcomes
    assert outcome.kind is OutcomeKind.DELIVERED
    assert emulator.events()[0]["mid"] == CHILD_MID
    sfmc.close()


@pytest.mark.parametrize(
    ("error", "maybe_sent", "api_code"),
    [("rate_limited", False, 17), ("outage", False, 2), ("html_502", True, None), ("drop", True, None)],
)
def test_injected_faults_are_transient(
    client: SfmcClient,
    emulator: EmulatorServer,
    observer: Observer,
    error: str,
    maybe_sent: bool,
    api_code: int | None,
) -> None:
    emulator.faults(error_rate=1.0, errors=[error])
    with pytest.raises(SfmcTransientError) as caught:
        client.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-017", job_id="18099"))])
    assert caught.value.maybe_sent is maybe_sent
    assert (caught.value.fault.api_code if caught.value.fault else None) == api_code
    assert emulator.events() == []  # these faults come before any processing
    assert stats(emulator)["soap_calls"] == 1  # never retried blindly
    assert observer.calls == ["transient"]


def test_slow_emulator_times_out_as_maybe_sent(client: SfmcClient, emulator: EmulatorServer) -> None:
    emulator.faults(latency_ms=1500)
    started = time.monotonic()
    with pytest.raises(SfmcTransientError, match=r"no answer .* within 0\.3 s") as caught:
        client.log_unsub_events(
            [LogUnsubEvent(Recipient(subscriber_key="demo-018", job_id="18099"))], timeout=0.3
        )
    assert time.monotonic() - started < 1.0
    assert caught.value.maybe_sent is True
    assert stats(emulator)["soap_calls"] == 1


def test_answer_after_the_timeout_was_processed_so_maybe_sent_is_true(
    client: SfmcClient, emulator: EmulatorServer
) -> None:
    emulator.faults(error_rate=1.0, errors=["timeout"], timeout_ms=1000)
    with pytest.raises(SfmcTransientError) as caught:
        client.log_unsub_events(
            [LogUnsubEvent(Recipient(subscriber_key="demo-019", job_id="18099"))], timeout=0.3
        )
    assert caught.value.maybe_sent is True
    assert [e["subscriber_key"] for e in emulator.events()] == ["demo-019"]  # it did reach Marketing Cloud


def test_nothing_listening_is_transient_and_not_sent(
    emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    sfmc = SfmcClient.from_config(
        client_config(emulator, SFMC_SOAP_URL=f"http://127.0.0.1:{free_port()}/Service.asmx")
    )
    sfmc.tokens.current()
    caplog.set_level(logging.WARNING, logger="urllib3")
    started = time.monotonic()
    with pytest.raises(SfmcTransientError, match="cannot connect") as caught:
        sfmc.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-020"))])
    assert caught.value.maybe_sent is False
    assert time.monotonic() - started < 2.0  # bounded connect retries with short backoff
    retries = [r for r in caplog.records if "Retrying" in r.getMessage()]
    assert len(retries) == 2  # connect failures: 2 retries after the first attempt, then give up
    ping = sfmc.ping()
    assert ping.token_ok and not ping.soap_reached and "cannot connect" in ping.problem


def test_ping_reaches_the_endpoint_and_unsubscribes_nobody(
    client: SfmcClient, emulator: EmulatorServer
) -> None:
    before = emulator.state()["subscribers"]
    ping = client.ping()
    assert ping.ok and ping.token_ok and ping.soap_reached
    assert ping.soap_url == f"{emulator.base_url}/Service.asmx"
    assert ping.error_code == 402 and ping.request_id
    assert emulator.events() == [] and emulator.state()["subscribers"] == before


class _BigAnswer(http.server.BaseHTTPRequestHandler):
    """A server that answers every POST with 2 MB of XML (a misbehaving proxy)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b"<x>" + b"a" * (2 * 1024 * 1024) + b"</x>"
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        if self.path.endswith("chunked"):
            self.send_header("Connection", "close")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("path", ["/Service.asmx", "/Service.asmx?chunked"])
def test_oversize_answer_is_refused(emulator: EmulatorServer, path: str) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BigAnswer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}{path}"
        sfmc = SfmcClient.from_config(client_config(emulator, SFMC_SOAP_URL=url))
        with pytest.raises(SfmcProtocolError, match="cap"):
            sfmc.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-020"))])
        sfmc.close()
    finally:
        server.shutdown()
        server.server_close()


class _Proxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy that records what it was asked to fetch and answers 502."""

    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Proxy.seen.append(self.path)
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_proxy_settings_from_the_environment_are_honoured(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # the emulator's token endpoint: direct
    _Proxy.seen.clear()
    try:
        url = "http://sfmc-soap.invalid/Service.asmx"
        sfmc = SfmcClient.from_config(client_config(emulator, SFMC_SOAP_URL=url))
        with pytest.raises(SfmcTransientError):
            sfmc.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-020"))])
        sfmc.close()
        assert _Proxy.seen == [url]  # the SOAP call went through the proxy, the token request did not
    finally:
        server.shutdown()
        server.server_close()


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A loopback hop in front of the emulator: keeps the headers and body of each SOAP POST and passes
    it on unchanged, so the test sees exactly what our client puts on the wire."""

    target: ClassVar[str] = ""
    seen: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        _Recorder.seen.append((headers, body))
        passed_on = {name: value for name, value in self.headers.items() if name.lower() != "host"}
        answer = requests.post(_Recorder.target, data=body, headers=passed_on, timeout=5)
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("Content-Type", "text/xml"))
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def log_message(self, *args: Any) -> None:
        pass


def test_session_sends_the_soap_headers(emulator: EmulatorServer) -> None:
    """Our client's SOAP POST carries the SOAP 1.1 headers Marketing Cloud expects (PROTOCOL.md,
    Transport), as seen on the wire; and the emulator refuses an unknown SOAPAction (so a wrong one from
    our client could not pass unnoticed in the other tests either)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Recorder.target, _Recorder.seen = emulator.soap_url, []
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/Service.asmx"
        sfmc = SfmcClient.from_config(client_config(emulator, SFMC_SOAP_URL=url))
        (outcome,) = sfmc.log_unsub_events(
            [LogUnsubEvent(Recipient(subscriber_key="demo-016", job_id="18099"))]
        ).outcomes
        sfmc.close()
    finally:
        server.shutdown()
        server.server_close()
    assert outcome.kind is OutcomeKind.DELIVERED
    ((headers, body),) = _Recorder.seen
    assert headers["soapaction"].strip('"') == "Execute"
    assert headers["content-type"].replace(" ", "").lower() == "text/xml;charset=utf-8"
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert [e["subscriber_key"] for e in emulator.events()] == ["demo-016"]

    reply = requests.post(emulator.soap_url, data=b"<x/>", headers={"SOAPAction": "Nope"}, timeout=5)
    assert reply.status_code == 500 and b"SOAPAction: Nope" in reply.content


def test_a_request_that_cannot_be_sent_does_not_hold_back_the_batch(
    client: SfmcClient, emulator: EmulatorServer
) -> None:
    batch = [
        LogUnsubEvent(Recipient(subscriber_key="demo-025", job_id="18099")),
        LogUnsubEvent(Recipient(subscriber_key="demo-026", job_id="18099", mid="not-a-mid")),
        LogUnsubEvent(Recipient(subscriber_key="demo-028\x00", job_id="18099")),
        LogUnsubEvent(Recipient(subscriber_key="demo-027", job_id="18099")),
    ]
    result = client.log_unsub_events(batch)
    assert [o.kind for o in result.outcomes] == [
        OutcomeKind.DELIVERED,
        OutcomeKind.REJECTED,
        OutcomeKind.REJECTED,
        OutcomeKind.DELIVERED,
    ]
    assert "Client/ID" in result.outcomes[1].meaning and "SubscriberKey" in result.outcomes[2].meaning
    assert [e["subscriber_key"] for e in emulator.events()] == ["demo-025", "demo-027"]
    assert stats(emulator)["requests_executed"] == 2

    only_bad = client.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="x", mid="-1"))])
    assert only_bad.request_id is None and only_bad.outcomes[0].kind is OutcomeKind.REJECTED
    assert stats(emulator)["soap_calls"] == 1


def test_logs_never_show_token_secret_or_email(
    client: SfmcClient, emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="app.sfmc")
    client.log_unsub_events(
        [LogUnsubEvent(Recipient(email="demo003@example.com", subscriber_key="demo-003", job_id="18099"))]
    )
    emulator.faults(expire_tokens_now=True)
    client.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-004", job_id="18099"))])
    token = client.tokens.current().value
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "sfmc envelope:" in text and "d•••@example.com" in text  # the redacted envelope, at DEBUG
    assert "RequestID" in text and "delivered=1" in text
    for secret in (token, EMULATOR_CLIENT_SECRET, "demo003@example.com", "demo-003"):
        assert secret not in text
