"""HTTP to Marketing Cloud: one pooled ``requests.Session``, timeouts on every call, typed failures.

Retry policy (urllib3 ``Retry``, bounded): only failures *before the request was sent* are retried —
a refused or timed-out connect, DNS — because then Marketing Cloud cannot have seen the request. A read
timeout or a connection dropped after the request went out raises ``SfmcTransientError(maybe_sent=True)``
and is never retried here: a blind retry of the POST could log the event twice, so the journal decides.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
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
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=retry)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

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
        started = time.monotonic()
        try:
            response = self.session.post(
                url,
                data=data,
                headers=headers,
                timeout=(seconds, seconds),
                stream=True,
                allow_redirects=False,
            )
            with response:
                body = self._read_capped(response)
                return HttpReply(
                    status=response.status_code,
                    content_type=response.headers.get("Content-Type"),
                    body=body,
                    seconds=time.monotonic() - started,
                )
        except requests.ConnectTimeout as exc:
            raise SfmcTransientError(f"connect to {_host(url)} timed out", maybe_sent=False) from exc
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

    def _read_capped(self, response: requests.Response) -> bytes:
        """The body, refused as soon as it grows over the cap (before any parser sees it)."""
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise SfmcProtocolError(f"answer of {declared} bytes is over the {self.max_body_bytes} cap")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > self.max_body_bytes:
                raise SfmcProtocolError(f"answer is over the {self.max_body_bytes} byte cap")
            chunks.append(chunk)
        return b"".join(chunks)


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
