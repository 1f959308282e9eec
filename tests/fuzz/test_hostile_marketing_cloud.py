"""A hostile "Marketing Cloud" on loopback: the client's transport refuses what the parser must never see.

The emulator is well-behaved by design, so this one server is hand-made (the one stand-in in these tests):
it answers the OAuth token request properly and then sends, to the SOAP call, an endless chunked body, a
gzip bomb, a flood of headers or a 5 MB header line. The real ``SfmcClient`` must end each call quickly
with an ``SfmcError``, without holding the decompressed or accumulated body in memory.
"""

from __future__ import annotations

import http.server
import json
import resource
import threading
import time
import zlib
from collections.abc import Iterator

import pytest

from app.sfmc import LogUnsubEvent, SfmcClient
from app.sfmc.errors import SfmcError


def _gzip_bomb() -> bytes:
    """About 300 KB on the wire, 300 MB once inflated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    megabyte = b"\0" * (1024 * 1024)
    return b"".join(compressor.compress(megabyte) for _ in range(300)) + compressor.flush()


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-attack is the expected outcome, not an error to print


class HostileServer:
    """Answers /v2/token correctly and the SOAP call with the attack named in ``mode``."""

    def __init__(self) -> None:
        self.mode = ""
        self.bomb = _gzip_bomb()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    if self.path.startswith("/v2/token"):
                        self._token()
                    else:
                        getattr(self, "_" + owner.mode.replace("-", "_"))()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up on us: what it should do

            def _token(self) -> None:
                body = json.dumps(
                    {
                        "access_token": "hostile-token",
                        "token_type": "Bearer",
                        "expires_in": 1079,
                        "soap_instance_url": f"{owner.url}/",
                        "rest_instance_url": f"{owner.url}/",
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _endless_chunked_body(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"<a>" + b"x" * 65536 + b"</a>"
                for _ in range(2000):  # 130 MB if nobody stops reading
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")

            def _gzip_bomb(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(owner.bomb)))
                self.end_headers()
                self.wfile.write(owner.bomb)

            def _header_flood(self) -> None:
                self.send_response(200)
                for index in range(2000):
                    self.send_header(f"X-Flood-{index}", "v" * 100)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _huge_header_line(self) -> None:
                line = b"X-Big: " + b"a" * 5_000_000
                self.wfile.write(b"HTTP/1.1 200 OK\r\n" + line + b"\r\nContent-Length: 0\r\n\r\n")

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.close()


@pytest.mark.parametrize("mode", ["endless-chunked-body", "gzip-bomb", "header-flood", "huge-header-line"])
def test_a_hostile_answer_ends_the_call_quickly_with_an_sfmc_error(hostile: HostileServer, mode: str) -> None:
    client = SfmcClient.from_config(
        {
            "SFMC_AUTH_URL": hostile.url,
            "SFMC_CLIENT_ID": "client",
            "SFMC_CLIENT_SECRET": "secret",
            "SFMC_ACCOUNT_ID": None,
            "SFMC_SOAP_URL": f"{hostile.url}/Service.asmx",
            "SFMC_TIMEOUT": 2.0,
        }
    )
    hostile.mode = mode
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()

    with pytest.raises(SfmcError):
        client.log_unsub_events([LogUnsubEvent(subscriber_key="someone", job_id="1")])

    assert time.monotonic() - started < 3.0
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 40, f"the client held {grown_mib:.0f} MiB of a hostile answer in memory"
