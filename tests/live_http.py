"""The app behind a real HTTP server on loopback, and raw requests over a socket.

For what only a real server shows: the ``Host`` header as sent, chunked bodies, the bytes of the status
line and headers. Werkzeug's threaded server is what ``flask run`` uses; gunicorn tests live in tests/ops.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import make_server


@dataclass(frozen=True)
class LiveServer:
    """Where a served app listens."""

    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def live_server(app: Flask) -> Iterator[LiveServer]:
    """Serve ``app`` with werkzeug's threaded server on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
    thread.start()
    try:
        yield LiveServer("127.0.0.1", server.server_port)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass(frozen=True)
class RawResponse:
    """An HTTP/1.1 answer as bytes came back: status, headers (names lower-cased), body."""

    status_code: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def raw_request(server: LiveServer, request: bytes, timeout: float = 10.0) -> RawResponse:
    """Send ``request`` exactly as given (``Connection: close`` expected) and read the whole answer."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        # The server may answer and close before it has read everything (a refused body).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawResponse(status_code=int(lines[0].split()[1]), headers=headers, body=body)
