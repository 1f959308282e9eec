"""HTTP to Marketing Cloud: one pooled ``requests.Session``, timeouts on every call, typed failures.

Every call also has a **total deadline**, ``DEADLINE_FACTOR`` x the timeout: ``(connect, read)`` timeouts
apply to each socket read, so a server dripping a byte at a time would otherwise hold a call for as long as
it likes, past the journal's lease (and a second worker would then send the same batch). The answer's
status line, headers and body are all read through ``_DeadlineReader``, which waits for each read no longer
than what is left of the deadline: no thread, no timer, nothing to cancel.

Retry policy (urllib3 ``Retry``, bounded): only failures *before the request was sent* are retried —
a refused or timed-out connect, DNS — because then Marketing Cloud cannot have seen the request. A read
timeout or a connection dropped after the request went out raises ``SfmcTransientError(maybe_sent=True)``
and is never retried here: a blind retry of the POST could log the event twice, so the journal decides.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from .errors import SfmcProtocolError, SfmcTransientError
from .response import MAX_RESPONSE_BYTES

#: Connections kept per host: one per worker thread is enough (gunicorn gthread, the delivery worker).
POOL_SIZE = 16
#: Extra connect attempts after the first (each waits for SFMC_TIMEOUT at most; backoff 0 s, 0.4 s).
CONNECT_RETRIES = 2
USER_AGENT = "sfmc-profile-center/0.1 (+LogUnsubEvent)"
#: The answer to a call is read in full within this many times the timeout (the journal's lease relies on
#: it: ``app/journal/__init__.py`` warns when DELIVERY_LEASE_SECONDS is shorter than 4 such calls).
DEADLINE_FACTOR = 2.0
#: Bytes asked of the body at a time (the size cap is checked after each).
READ_CHUNK = 65536

SOAP_HEADERS = {
    "Content-Type": "text/xml; charset=utf-8",
    "SOAPAction": "Execute",
    "Accept": "text/xml",
}
#: The headers of each SOAP action we send (the action is the only header that differs).
ACTION_HEADERS = {
    action: {**SOAP_HEADERS, "SOAPAction": action} for action in ("Execute", "Retrieve", "Update")
}


@dataclass(frozen=True)
class HttpReply:
    """An HTTP answer, its body read in full (and capped) so that no parser ever sees a partial one."""

    status: int
    content_type: str | None
    body: bytes
    seconds: float


class Transport:
    """Owns the session, so that connections and the environment's proxy settings are reused per call."""

    def __init__(
        self,
        *,
        timeout: float,
        connect_retries: int = CONNECT_RETRIES,
        pool_size: int = POOL_SIZE,
        max_body_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        retry = Retry(
            total=connect_retries,
            connect=connect_retries,
            read=0,  # a failure while reading the answer happens after sending: never retried
            status=0,
            other=0,
            redirect=0,
            # Read errors and statuses are retried only for these methods, never for POST (all we send).
            # (An empty set would mean "every method" to urllib3.)
            allowed_methods=frozenset({"GET", "HEAD"}),
            backoff_factor=0.2,
            raise_on_status=False,
            raise_on_redirect=False,
        )
        adapter = _DeadlineAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=retry)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        # requests reads proxies and CA bundles from the environment on every call, scanning all of
        # os.environ twice (docs/benchmarks.md); read once per URL instead, with the same result.
        self._environment: dict[str, dict[str, Any]] = {}
        self.session.trust_env = False

    def post_soap(
        self, url: str, envelope: bytes, *, timeout: float | None = None, action: str = "Execute"
    ) -> HttpReply:
        """POST an envelope with the SOAP 1.1 headers Marketing Cloud routes on (``SOAPAction: <action>``,
        one of ``ACTION_HEADERS``)."""
        return self._post(url, data=envelope, headers=ACTION_HEADERS[action], timeout=timeout)

    def post_json(self, url: str, payload: dict[str, Any], *, timeout: float | None = None) -> HttpReply:
        """POST a JSON document (the OAuth token request), under the same timeouts and deadline."""
        return self._post(
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            timeout=timeout,
        )

    def close(self) -> None:
        """Close pooled connections, so that a client dropped by a test or at exit leaves no socket open."""
        self.session.close()

    def _post(self, url: str, *, data: bytes, headers: dict[str, str], timeout: float | None) -> HttpReply:
        seconds = self.timeout if timeout is None else timeout
        started = time.monotonic()
        deadline = _current.deadline = _Deadline(started + seconds * DEADLINE_FACTOR)
        try:
            response = self.session.post(
                url,
                data=data,
                headers=headers,
                timeout=(seconds, seconds),
                stream=True,
                allow_redirects=False,
                **self._environment_settings(url),
            )
            with response:
                body = self._read_capped(response)
            return HttpReply(
                status=response.status_code,
                content_type=response.headers.get("Content-Type"),
                body=body,
                seconds=time.monotonic() - started,
            )
        except requests.RequestException as exc:
            raise _transient_error(exc, urlsplit(url).netloc or url, seconds, deadline) from exc
        finally:
            _current.deadline = None

    def _environment_settings(self, url: str) -> dict[str, Any]:
        """Proxies, ``verify`` and ``cert`` as requests would take them from the environment for ``url``."""
        settings = self._environment.get(url)
        if settings is None:
            with requests.Session() as probe:  # trust_env: reads the environment as a plain session does
                merged = probe.merge_environment_settings(url, {}, True, None, None)
            settings = {"proxies": merged["proxies"], "verify": merged["verify"], "cert": merged["cert"]}
            if len(self._environment) < 16:  # a handful of URLs per process: token and SOAP endpoints
                self._environment[url] = settings
        return settings

    def _read_capped(self, response: requests.Response) -> bytes:
        """The body, refused as soon as it grows over the cap (before any parser sees it)."""
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise SfmcProtocolError(f"answer of {declared} bytes is over the {self.max_body_bytes} cap")
        body = bytearray()
        for chunk in response.iter_content(READ_CHUNK):
            body += chunk
            if len(body) > self.max_body_bytes:
                raise SfmcProtocolError(f"answer is over the {self.max_body_bytes} byte cap")
        return bytes(body)


def _transient_error(
    exc: requests.RequestException, host: str, seconds: float, deadline: _Deadline
) -> SfmcTransientError:
    """What a failed call means for the journal: above all, whether Marketing Cloud may have seen it."""
    if deadline.passed:
        return SfmcTransientError(
            f"no complete answer from {host} within {seconds * DEADLINE_FACTOR:g} s", maybe_sent=True
        )
    if isinstance(exc, requests.ConnectTimeout):
        return SfmcTransientError(f"connect to {host} timed out", maybe_sent=False)
    if isinstance(exc, requests.ReadTimeout):
        return SfmcTransientError(f"no answer from {host} within {seconds:g} s", maybe_sent=True)
    if isinstance(exc, requests.ConnectionError):
        # Did urllib3 give up while connecting (refused, DNS, connect timeout, TLS handshake, proxy)?
        reason = exc.args[0] if exc.args else None
        reason = reason.reason if isinstance(reason, MaxRetryError) else reason
        if isinstance(reason, NewConnectionError | ConnectTimeoutError) or isinstance(
            exc, requests.exceptions.SSLError | requests.exceptions.ProxyError
        ):
            return SfmcTransientError(f"cannot connect to {host}", maybe_sent=False)
        return SfmcTransientError(f"connection to {host} lost before an answer", maybe_sent=True)
    return SfmcTransientError(f"HTTP error talking to {host}: {exc}", maybe_sent=True)


@dataclass
class _Deadline:
    """When the running call must have its whole answer (``time.monotonic``), and whether a read hit it."""

    at: float
    passed: bool = False


_current = threading.local()  # the deadline of the call running in this thread, for _DeadlineResponse


class _DeadlineReader(io.RawIOBase):
    """A socket's bytes, each read waiting no longer than what is left of the call's deadline.

    http.client reads the status line, the headers and the body through its response's ``fp``; with this
    under it, a drip ends at the deadline, in whichever phase, and the read raises (a cut-off answer never
    looks like a complete one, with or without a length). The socket keeps its read timeout until less than
    that is left, so a normal call changes nothing. Reads go through http.client's own ``SocketIO``, which
    keeps the socket open while the body is read after the connection was told to close.
    """

    def __init__(self, raw: Any, sock: socket.socket, deadline: _Deadline) -> None:
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
        deadline = getattr(_current, "deadline", None)
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


class _DeadlineAdapter(HTTPAdapter):
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
