"""HTTP to Marketing Cloud: one pooled ``requests.Session``, timeouts on every call, typed failures.

Every call also has a **total deadline**, ``DEADLINE_FACTOR`` x the timeout (connect, then the whole answer):
``(connect, read)`` timeouts apply to each socket operation, so a server dripping a byte at a time would
otherwise hold a call for as long as it likes. A watchdog thread shuts the call's socket down when the
deadline passes, which ends a read blocked in any phase (status line, headers, body).

Retry policy (urllib3 ``Retry``, bounded): only failures *before the request was sent* are retried —
a refused or timed-out connect, DNS — because then Marketing Cloud cannot have seen the request. A read
timeout or a connection dropped after the request went out raises ``SfmcTransientError(maybe_sent=True)``
and is never retried here: a blind retry of the POST could log the event twice, so the journal decides.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import exceptions as urllib3_exceptions
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from .errors import SfmcProtocolError, SfmcTransientError
from .response import MAX_RESPONSE_BYTES

logger = logging.getLogger(__name__)

#: Connections kept per host: one per worker thread is enough (gunicorn gthread, the delivery worker).
POOL_SIZE = 16
#: Extra connect attempts after the first (each waits for SFMC_TIMEOUT at most; backoff 0 s, 0.4 s).
CONNECT_RETRIES = 2
USER_AGENT = "sfmc-profile-center/0.1 (+LogUnsubEvent)"
#: A whole call (connect, send, status, headers, body) ends after this many times the timeout.
DEADLINE_FACTOR = 2.0

SOAP_HEADERS = {
    "Content-Type": "text/xml; charset=utf-8",
    "SOAPAction": "Execute",
    "Accept": "text/xml",
}


@dataclass(frozen=True)
class HttpReply:
    """An HTTP answer, its body read in full (and capped)."""

    status: int
    content_type: str | None
    body: bytes
    seconds: float


class Transport:
    """Owns the session; every call has a ``(connect, read)`` timeout."""

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
        # requests reads proxies and CA bundles from the environment on every call (scanning all of
        # os.environ twice: ~15 % of a call's CPU); read once per URL instead, with the same result.
        self._environment: dict[str, dict[str, Any]] = {}
        self.session.trust_env = False

    def post_soap(self, url: str, envelope: bytes, *, timeout: float | None = None) -> HttpReply:
        """POST an envelope with ``SOAPAction: Execute``."""
        return self._post(url, data=envelope, headers=SOAP_HEADERS, timeout=timeout)

    def post_json(self, url: str, payload: dict[str, Any], *, timeout: float | None = None) -> HttpReply:
        """POST a JSON document (the OAuth token request)."""
        return self._post(
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            timeout=timeout,
        )

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()

    def _post(self, url: str, *, data: bytes, headers: dict[str, str], timeout: float | None) -> HttpReply:
        seconds = self.timeout if timeout is None else timeout
        total = seconds * DEADLINE_FACTOR
        started = time.monotonic()
        call = _Call(started + total)
        _current.call = call
        _WATCHDOG.watch(call)
        try:
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
                    try:
                        body = self._read_capped(response, call)
                    finally:
                        call.finish()  # before the connection can go back to the pool
                    if call.expired:  # a body without a length may look complete when cut off
                        raise SfmcTransientError(
                            f"no complete answer from {_host(url)} within {total:g} s", maybe_sent=True
                        )
                    return HttpReply(
                        status=response.status_code,
                        content_type=response.headers.get("Content-Type"),
                        body=body,
                        seconds=time.monotonic() - started,
                    )
            except requests.ConnectTimeout as exc:
                raise SfmcTransientError(f"connect to {_host(url)} timed out", maybe_sent=False) from exc
            except requests.RequestException as exc:
                if call.expired:
                    raise SfmcTransientError(
                        f"no complete answer from {_host(url)} within {total:g} s", maybe_sent=True
                    ) from exc
                raise
        except requests.ReadTimeout as exc:
            raise SfmcTransientError(
                f"no answer from {_host(url)} within {seconds:g} s", maybe_sent=True
            ) from exc
        except requests.ConnectionError as exc:
            if _failed_before_sending(exc):
                raise SfmcTransientError(f"cannot connect to {_host(url)}", maybe_sent=False) from exc
            raise SfmcTransientError(
                f"connection to {_host(url)} lost before an answer", maybe_sent=True
            ) from exc
        except requests.RequestException as exc:
            raise SfmcTransientError(f"HTTP error talking to {_host(url)}: {exc}", maybe_sent=True) from exc
        finally:
            call.finish()
            _current.call = None

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

    def _read_capped(self, response: requests.Response, call: _Call | None = None) -> bytes:
        """The body, refused as soon as it grows over the cap (before any parser sees it)."""
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise SfmcProtocolError(f"answer of {declared} bytes is over the {self.max_body_bytes} cap")
        chunks: list[bytes] = []
        size = 0
        while True:
            # One socket read at a time, so the deadline is looked at between reads (a drip never ends a
            # big read) and the watchdog's shutdown ends a read that waits.
            if call is not None and (call.expired or time.monotonic() >= call.deadline):
                call.expired = True
                break
            chunk = _read1(response)
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_body_bytes:
                raise SfmcProtocolError(f"answer is over the {self.max_body_bytes} byte cap")
            chunks.append(chunk)
        return b"".join(chunks)


def _read1(response: requests.Response) -> bytes:
    """At most 64 KiB of the decoded body from one socket read; urllib3's errors as ``iter_content`` maps
    them."""
    try:
        return response.raw.read1(65536, decode_content=True)
    except urllib3_exceptions.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except urllib3_exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except urllib3_exceptions.ReadTimeoutError as exc:
        raise requests.ConnectionError(exc) from exc
    except urllib3_exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc


class _Call:
    """One HTTP call's deadline and the connection it is using (set when urllib3 hands one out)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.connection: Any = None
        self.expired = False
        self.done = False
        self._lock = threading.Lock()

    def use(self, connection: Any) -> None:
        with self._lock:
            self.connection = connection

    def finish(self) -> None:
        with self._lock:
            self.done = True
            self.connection = None

    def expire(self) -> bool:
        """Shut the call's socket down (ends a blocked read); True when the call needs no more watching."""
        with self._lock:
            if self.done:
                return True
            self.expired = True
            sock = getattr(self.connection, "sock", None)
            if sock is None:
                return False  # still connecting (bounded by the connect timeout): look again shortly
            with contextlib.suppress(OSError):  # closed already
                # The plain socket's shutdown (for TLS too): wakes a read blocked in another thread.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            return True


_current = threading.local()  # the call running in this thread, for the pools below


class _DeadlinePoolMixin:
    """Hands each connection it gives out to the call running in this thread (its deadline watch)."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        call = getattr(_current, "call", None)
        if call is not None:
            call.use(connection)
        return connection


class _DeadlineHTTPPool(_DeadlinePoolMixin, HTTPConnectionPool):
    pass


class _DeadlineHTTPSPool(_DeadlinePoolMixin, HTTPSConnectionPool):
    pass


_DEADLINE_POOLS = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    """``HTTPAdapter`` whose pools tell the running call which connection it got."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _DEADLINE_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are urllib3's own classes: left as they are
            manager.pool_classes_by_scheme = _DEADLINE_POOLS
        return manager


class _Watchdog:
    """One thread per process that expires calls past their deadline (a heap, not a timer per call)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Call]] = []
        self._order = itertools.count()
        self._pid: int | None = None

    def watch(self, call: _Call) -> None:
        with self._cond:
            if self._pid != os.getpid():  # first use in this process (threads do not survive a fork)
                self._heap = []
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="sfmc-deadline", daemon=True).start()
            heapq.heappush(self._heap, (call.deadline, next(self._order), call))
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    if self._heap and self._heap[0][2].done:
                        heapq.heappop(self._heap)  # finished in time: forget it
                        continue
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                _deadline, _order, call = heapq.heappop(self._heap)
            if not call.expire():
                with self._cond:  # still connecting: look again in 50 ms
                    heapq.heappush(self._heap, (time.monotonic() + 0.05, next(self._order), call))


_WATCHDOG = _Watchdog()


def _failed_before_sending(exc: requests.ConnectionError) -> bool:
    """True when urllib3 gave up while connecting (refused, DNS, connect timeout, TLS handshake)."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError) or isinstance(
        exc, requests.exceptions.SSLError | requests.exceptions.ProxyError
    )


def _host(url: str) -> str:
    """The host of ``url`` for messages (no path, no query: nothing secret)."""
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or url
