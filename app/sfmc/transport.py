"""HTTP to Marketing Cloud: pooled ``requests.Session``s, timeouts on every call, typed failures.

Every call also has a **total deadline**, ``DEADLINE_FACTOR`` x the timeout: ``(connect, read)`` timeouts
apply to each socket read, so a server dripping a byte at a time would otherwise hold a call for as long as
it likes, past the journal's lease (and a second worker would then send the same batch). The answer's
status line, headers and body are all read through ``deadline.py``'s reader, which waits for each read no
longer than what is left of the deadline: no thread, no timer, nothing to cancel. A caller may bring the
deadline forward (a paged Retrieve's own deadline); such a call connects once, without connect retries.

Retry policy (urllib3 ``Retry``, bounded): only failures *before the request was sent* are retried —
a refused or timed-out connect, DNS — because then Marketing Cloud cannot have seen the request. A read
timeout or a connection dropped after the request went out raises ``SfmcTransientError(maybe_sent=True)``
and is never retried here: a blind retry of the POST could log the event twice, so the journal decides.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from .deadline import Deadline, DeadlineAdapter, current
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
        self.session = _session(pool_size, connect_retries)
        # A call with a deadline of its own (a paged Retrieve) connects once: retried connects, each
        # waiting up to the timeout, would hold it past its deadline (a host that drops packets).
        self._once = _session(pool_size, 0)
        # requests reads proxies and CA bundles from the environment on every call, scanning all of
        # os.environ twice (docs/benchmarks.md); read once per URL instead, with the same result.
        self._environment: dict[str, dict[str, Any]] = {}

    def post_soap(
        self,
        url: str,
        envelope: bytes,
        *,
        timeout: float | None = None,
        action: str = "Execute",
        deadline: float | None = None,
    ) -> HttpReply:
        """POST an envelope with the SOAP 1.1 headers Marketing Cloud routes on (``SOAPAction: <action>``,
        one of ``ACTION_HEADERS``). ``deadline`` (``time.monotonic``) brings the call's total deadline
        forward when it comes before ``DEADLINE_FACTOR`` x the timeout (a paged Retrieve's one deadline)."""
        headers = ACTION_HEADERS[action]
        return self._post(url, data=envelope, headers=headers, timeout=timeout, deadline=deadline)

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
        self._once.close()

    def _post(
        self,
        url: str,
        *,
        data: bytes,
        headers: dict[str, str],
        timeout: float | None,
        deadline: float | None = None,
    ) -> HttpReply:
        seconds = self.timeout if timeout is None else timeout
        started = time.monotonic()
        at = started + seconds * DEADLINE_FACTOR
        at = at if deadline is None else min(at, deadline)
        call_deadline = current.deadline = Deadline(at, started=started)
        session = self.session if deadline is None else self._once
        try:
            response = session.post(
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
            raise _transient_error(exc, urlsplit(url).netloc or url, seconds, call_deadline) from exc
        finally:
            current.deadline = None

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
    exc: requests.RequestException, host: str, seconds: float, deadline: Deadline
) -> SfmcTransientError:
    """What a failed call means for the journal: above all, whether Marketing Cloud may have seen it."""
    if deadline.passed:
        return SfmcTransientError(
            f"no complete answer from {host} within {deadline.at - deadline.started:.2g} s", maybe_sent=True
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


def _session(pool_size: int, connect_retries: int) -> requests.Session:
    """A session whose connections read under the call's deadline, retrying only failed connects."""
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
    adapter = DeadlineAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=retry)
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = False  # the environment is read once per URL (``_environment_settings``)
    return session
