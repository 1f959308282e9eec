"""Fuzz target 2: a hostile server in Marketing Cloud's place, for the transport below the parser.

The emulator is well-behaved by design, so this server is hand-made: endless chunked bodies, a gzip bomb,
a flood of headers, a huge header line, and a drip of one byte every half second.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import zlib
from typing import Any

from bench.fuzz.tally import Tally

#: Attacks the transport must end quickly with an SfmcError; "drip" is measured and reported separately.
HOSTILE_MODES = ("endless-chunked-body", "gzip-bomb", "header-flood", "huge-header-line")


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
        self.drip_bytes = 30
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

            def _drip(self) -> None:
                # A well-formed start, then one byte every half second: each read is within any timeout.
                body = b"<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'>" + b" " * 10
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body) + 1000))
                self.end_headers()
                for byte in body[: owner.drip_bytes]:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.5)

            def _huge_header_line(self) -> None:
                line = b"X-Big: " + b"a" * 5_000_000
                self.wfile.write(b"HTTP/1.1 200 OK\r\n" + line + b"\r\nContent-Length: 0\r\n\r\n")

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def hostile_client(server: HostileServer, timeout: float = 2.0) -> Any:
    """The real ``SfmcClient`` pointed at ``server`` for both the token and the SOAP call."""
    from app.sfmc import SfmcClient

    return SfmcClient.from_config(
        {
            "SFMC_AUTH_URL": server.url,
            "SFMC_CLIENT_ID": "client",
            "SFMC_CLIENT_SECRET": "secret",
            "SFMC_ACCOUNT_ID": None,
            "SFMC_SOAP_URL": f"{server.url}/Service.asmx",
            "SFMC_TIMEOUT": timeout,
        }
    )


def fuzz_transport(tally: Tally) -> float:
    """Each hostile answer once (crash unless a quick SfmcError); returns the seconds a drip held a call."""
    from app.identity import Recipient
    from app.sfmc import LogUnsubEvent
    from app.sfmc.errors import SfmcError

    server = HostileServer()
    try:
        client = hostile_client(server)
        event = [LogUnsubEvent(Recipient(subscriber_key="someone", job_id="1"))]
        for mode in (*HOSTILE_MODES, "drip"):
            server.mode = mode
            tally.cases += 1
            started = time.monotonic()
            try:
                client.log_unsub_events(event)
            except SfmcError as exc:
                tally.outcomes[type(exc).__name__] += 1
            except Exception as exc:
                tally.crash(f"hostile server {mode}: {type(exc).__name__}: {exc}")
            else:
                tally.crash(f"hostile server {mode}: the call succeeded")
            elapsed = time.monotonic() - started
            if mode == "drip":
                return elapsed
            if elapsed > 3.0:
                tally.crash(f"hostile server {mode}: {elapsed:.1f} s")
    finally:
        server.close()
    return 0.0
