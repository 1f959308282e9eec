"""The total deadline of one HTTP call: http.client reads the answer through a reader that waits no longer
than what is left of it (``transport.py`` explains why; docs/sfmc-client.md, "The total deadline").

Public hooks only: urllib3's ``ConnectionCls`` on our pools, http.client's ``response_class`` on our
connections; the deadline of the call running in a thread is ``current.deadline``.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


@dataclass
class Deadline:
    """When the running call must have its whole answer (``time.monotonic``), and whether a read hit it."""

    at: float
    passed: bool = False
    started: float = 0.0


current = threading.local()  # the deadline of the call running in this thread, for _DeadlineResponse


class _DeadlineReader(io.RawIOBase):
    """A socket's bytes, each read waiting no longer than what is left of the call's deadline.

    http.client reads the status line, the headers and the body through its response's ``fp``; with this
    under it, a drip ends at the deadline, in whichever phase, and the read raises (a cut-off answer never
    looks like a complete one, with or without a length). The socket keeps its read timeout until less than
    that is left, so a normal call changes nothing. Reads go through http.client's own ``SocketIO``, which
    keeps the socket open while the body is read after the connection was told to close.
    """

    def __init__(self, raw: Any, sock: socket.socket, deadline: Deadline) -> None:
        self._raw = raw
        self._sock = sock
        self._deadline = deadline
        self._read_timeout = sock.gettimeout()

    def readable(self) -> bool:
        """Yes: ``io.BufferedReader`` asks before it reads through this."""
        return True

    def readinto(self, buffer: Any) -> int | None:
        """One socket read into ``buffer``, given up (``TimeoutError``) when the deadline passes first."""
        left = self._deadline.at - time.monotonic()
        capped = self._read_timeout is None or left < self._read_timeout
        if left <= 0:
            self._deadline.passed = True
            raise TimeoutError("the call's deadline passed")
        if capped:
            self._sock.settimeout(left)
        try:
            return self._raw.readinto(buffer)
        except TimeoutError:
            self._deadline.passed = capped  # waited for what was left of the deadline, not the read timeout
            raise

    def close(self) -> None:
        """Close http.client's reader too: that lets a socket told to close really close."""
        self._raw.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """http.client's response, reading through ``_DeadlineReader`` when a call of ours is running."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        deadline = getattr(current, "deadline", None)
        if deadline is not None:  # nothing was read yet: the buffer http.client made is empty
            self.fp = io.BufferedReader(_DeadlineReader(self.fp.detach(), sock, deadline))


class _HTTPConnection(HTTPConnection):
    """urllib3's connection with the deadline-aware response (``response_class`` is http.client's hook)."""

    response_class = _DeadlineResponse


class _HTTPSConnection(HTTPSConnection):
    """The same for TLS (also read through the reader: ``recv_into`` of the TLS socket)."""

    response_class = _DeadlineResponse


class _HTTPPool(HTTPConnectionPool):
    """A pool of ``_HTTPConnection`` (``ConnectionCls`` is urllib3's documented hook)."""

    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    """A pool of ``_HTTPSConnection``."""

    ConnectionCls = _HTTPSConnection


_DEADLINE_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """``HTTPAdapter`` whose pools (direct and through an HTTP proxy) make deadline-aware connections."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """The direct pools: our pool classes, so every connection reads under the call's deadline."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _DEADLINE_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """The pools behind an HTTP(S) proxy: the same, since a proxy can drip an answer as well."""
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are urllib3's own classes: left as they are
            manager.pool_classes_by_scheme = _DEADLINE_POOLS
        return manager
