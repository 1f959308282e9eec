"""Slow clients on loopback: connections that drip one header line (or one body byte) every couple of
seconds, and a probe that times ``/healthz`` from another connection while they do.

Bounded on purpose: a fixed number of connections, a drip thread that stops after ``MAX_SECONDS`` even if
the test forgets to stop it, and every socket closed on exit.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType

import requests

CONNECTIONS = 200
DRIP_INTERVAL = 2.0
MAX_SECONDS = 30.0

HEADER_DRIP = b"X-Slow: 1\r\n"
BODY_DRIP = b"a"


def header_head(path: str) -> bytes:
    """The start of a GET whose header never ends: the request line and one header line."""
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\n".encode()


def body_head(path: str, length: int = 4096) -> bytes:
    """A complete POST header announcing a body that then arrives one byte at a time."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


class Drippers:
    """``count`` connections made by ``connect``, each sent ``head`` once and then ``drip`` every
    ``interval`` seconds until the context ends (or ``MAX_SECONDS`` pass)."""

    def __init__(
        self,
        connect: Callable[[], socket.socket],
        head: bytes,
        drip: bytes,
        *,
        count: int = CONNECTIONS,
        interval: float = DRIP_INTERVAL,
    ) -> None:
        self._connect = connect
        self._head = head
        self._drip = drip
        self._count = count
        self._interval = interval
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drippers", daemon=True)
        self._lock = threading.Lock()
        self.drips_sent = 0

    def __enter__(self) -> Drippers:
        try:
            for _ in range(self._count):
                sock = self._connect()
                sock.sendall(self._head)
                self._sockets.append(sock)
        except BaseException:
            self._close_all()
            raise
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._close_all()

    def open_connections(self) -> int:
        """How many of the connections the server still holds open (it has neither answered nor closed)."""
        with self._lock:
            self._drop_answered()
            return len(self._sockets)

    def _run(self) -> None:
        deadline = time.monotonic() + MAX_SECONDS
        while not self._stop.wait(self._interval) and time.monotonic() < deadline:
            with self._lock:
                self._drop_answered()
                for sock in list(self._sockets):
                    try:
                        sock.sendall(self._drip)
                    except OSError:
                        self._sockets.remove(sock)
                        sock.close()
                self.drips_sent += 1

    def _drop_answered(self) -> None:
        """A connection the server answered (a 408, a 400) or closed no longer counts."""
        if not self._sockets:
            return
        readable, _, _ = select.select(self._sockets, [], [], 0)
        for sock in readable:
            if _answered(sock):
                self._sockets.remove(sock)
                sock.close()

    def _close_all(self) -> None:
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _answered(sock: socket.socket) -> bool:
    """Whether a readable socket holds an answer or the server's close (and not only TLS housekeeping,
    such as the session tickets a TLS 1.3 server sends after the handshake)."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        sock.recv(1)
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(timeout)
    return True


def probe_seconds(url: str, *, timeout: float = 2.0, **kwargs: object) -> float:
    """Seconds a fresh connection takes to get ``/healthz``'s 200 (``inf`` when it got none in time)."""
    started = time.monotonic()
    try:
        with requests.Session() as session:
            response = session.get(url, timeout=timeout, headers={"Connection": "close"}, **kwargs)
    except requests.RequestException:
        return float("inf")
    elapsed = time.monotonic() - started
    return elapsed if response.status_code == 200 else float("inf")


def probes_while_dripping(drippers: Drippers, url: str, *, probes: int = 4, **kwargs: object) -> list[float]:
    """Let the drippers send at least one drip, then probe ``probes`` times, one second apart."""
    deadline = time.monotonic() + DRIP_INTERVAL * 3
    while drippers.drips_sent < 1:
        assert time.monotonic() < deadline, "the drippers never dripped"
        time.sleep(0.1)
    timings = []
    for _ in range(probes):
        timings.append(probe_seconds(url, **kwargs))
        time.sleep(1.0)
    return timings
