"""The total deadline of a Marketing Cloud call, against servers that drip their answer over loopback.

Each read of a dripping answer is within SFMC_TIMEOUT, so only the deadline (2 x SFMC_TIMEOUT) ends the
call; the journal's lease is sized on it (``app/journal/__init__.py``), so a call that outlived it could be
sent twice by a second worker. Covered: status line and headers, a body with and without a length, through
an HTTP proxy, and over TLS (Marketing Cloud's only transport).
"""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sfmc_helpers import client_config

from app.identity import Recipient
from app.sfmc import LogUnsubEvent, SfmcClient, SfmcTransientError
from tests.conftest import EmulatorServer


class _Drip(http.server.BaseHTTPRequestHandler):
    """Answers one byte every 0.1 s: each read is well within the timeout, the whole answer never is."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
        body = b"<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'>" + b" " * 40
        if self.path.endswith("headers"):  # the status line at once, then the headers drip
            slow = head + b"X-Slow: " + b"a" * 80 + b"\r\nContent-Length: 0\r\n\r\n"
            fast = b""
        elif self.path.endswith("close"):  # no length: the body ends when the connection does
            fast, slow = head + b"Connection: close\r\n\r\n", body
        else:
            fast, slow = head + f"Content-Length: {len(body)}\r\n\r\n".encode(), body
        try:
            self.wfile.write(fast)
            for index in range(len(slow)):
                self.wfile.write(slow[index : index + 1])
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass  # the client gave up: what we want
        self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("path", ["/Service.asmx", "/Service.asmx?headers", "/Service.asmx?close"])
def test_a_dripping_answer_is_cut_off_at_the_calls_deadline(emulator: EmulatorServer, path: str) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}{path}"
        sfmc = SfmcClient.from_config(client_config(emulator, SFMC_SOAP_URL=url, SFMC_TIMEOUT=0.5))
        sfmc.tokens.current()  # the token from the emulator first: only the SOAP call is timed
        started = time.monotonic()
        with pytest.raises(SfmcTransientError, match=r"no complete answer .* within 1 s") as caught:
            sfmc.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-020"))])
        elapsed = time.monotonic() - started
        assert caught.value.maybe_sent is True  # the request went out: the journal decides about a retry
        assert elapsed < 2.0, f"held {elapsed:.1f} s; the drip alone lasts over 5 s"
        # The client still works afterwards (the cut connection is not reused).
        sfmc.soap_url = emulator.soap_url
        assert sfmc.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="nobody"))]).outcomes
        sfmc.close()
    finally:
        server.shutdown()
        server.server_close()


def test_the_calls_deadline_holds_through_an_http_proxy_too(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Drip)  # the "proxy" drips the headers
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    try:
        url = "http://sfmc-soap.invalid/Service.asmx?headers"
        sfmc = SfmcClient.from_config(client_config(emulator, SFMC_SOAP_URL=url, SFMC_TIMEOUT=0.5))
        sfmc.tokens.current()
        started = time.monotonic()
        with pytest.raises(SfmcTransientError, match=r"no complete answer .* within 1 s"):
            sfmc.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-020"))])
        assert time.monotonic() - started < 2.0
        sfmc.close()
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed: cannot make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
    command += " -addext subjectAltName=IP:127.0.0.1"
    subprocess.run(
        [*command.split(), "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_drip(tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The dripping server behind TLS; the client trusts its certificate (REQUESTS_CA_BUNDLE)."""
    cert, key = tls_files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", ["/Service.asmx", "/Service.asmx?headers"])
def test_the_calls_deadline_holds_over_tls(emulator: EmulatorServer, tls_drip: str, path: str) -> None:
    sfmc = SfmcClient.from_config(client_config(emulator, SFMC_SOAP_URL=tls_drip + path, SFMC_TIMEOUT=0.5))
    sfmc.tokens.current()
    started = time.monotonic()
    with pytest.raises(SfmcTransientError, match=r"no complete answer .* within 1 s") as caught:
        sfmc.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="demo-020"))])
    assert caught.value.maybe_sent is True
    assert time.monotonic() - started < 2.0
    sfmc.close()


def test_a_dripping_retrieve_is_cut_off_at_its_own_timeout(emulator: EmulatorServer) -> None:
    """A Retrieve's ``timeout`` is its total deadline: a drip (each byte in time, SFMC_TIMEOUT 2 s) ends
    when the Retrieve's 0.6 s are up, not at 2 x the read timeout."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/Service.asmx"
        sfmc = SfmcClient.from_config(client_config(emulator, SFMC_SOAP_URL=url, SFMC_TIMEOUT=2.0))
        sfmc.tokens.current()
        started = time.monotonic()
        with pytest.raises(SfmcTransientError, match=r"no complete answer .* within 0\.6 s"):
            sfmc.retrieve_lists(timeout=0.6)
        elapsed = time.monotonic() - started
        assert 0.55 <= elapsed < 1.0, elapsed
        sfmc.close()
    finally:
        server.shutdown()
        server.server_close()


def test_a_retrieve_to_a_host_that_never_accepts_ends_at_its_timeout(emulator: EmulatorServer) -> None:
    """A host that drops connection attempts (a listening socket whose backlog is full): a Retrieve with a
    0.5 s budget connects once and gives up then, where Execute's three connect attempts would take 3 x."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)  # fills the backlog: others hang
    try:
        url = f"http://127.0.0.1:{port}/Service.asmx"
        sfmc = SfmcClient.from_config(client_config(emulator, SFMC_SOAP_URL=url, SFMC_TIMEOUT=2.0))
        sfmc.tokens.current()
        started = time.monotonic()
        with pytest.raises(SfmcTransientError) as caught:
            sfmc.retrieve_lists(timeout=0.5)
        elapsed = time.monotonic() - started
        assert caught.value.maybe_sent is False
        assert 0.45 <= elapsed < 0.9, elapsed
        sfmc.close()
    finally:
        filler.close()
        listener.close()
