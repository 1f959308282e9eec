"""OAuth 2.0 client credentials for Marketing Cloud: one token per client, shared across threads.

Salesforce asks for one token per ~20 minutes per client machine; asking per call gets you throttled.
The token is refreshed when fewer than ``REFRESH_MARGIN`` seconds remain, under a lock so that threads
that find it stale wait for the one refresh instead of each asking for their own (no thundering herd).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import SfmcAuthError, SfmcProtocolError, SfmcTransientError
from .transport import Transport

logger = logging.getLogger(__name__)

#: Refresh when fewer seconds than this remain (the SDKs' rule; Marketing Cloud's expires_in is ~1080).
REFRESH_MARGIN = 300.0


class SfmcObserver(Protocol):
    """Optional hook for metrics: token refreshes and calls by outcome and latency.

    Methods must be quick and must not raise (an exception is logged and swallowed).
    """

    def on_token_refresh(self) -> None:
        """A token was obtained (a health check can tell the credentials still work)."""

    def on_call(self, outcome: str, seconds: float) -> None:
        """One call ended; ``outcome`` is ``ok`` or its error's ``outcome`` (``transient``, ``auth``, …), with
        ``retrieve_`` or ``update_`` before it for a Retrieve or an Update (``retrieve_ok``), so metrics
        tell them from Execute (``log_unsub_events``)."""


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and where it may be used. ``expires_at`` is on the ``clock`` of the provider."""

    value: str = ""
    expires_at: float = 0.0
    refresh_at: float = 0.0
    soap_instance_url: str | None = None

    def __repr__(self) -> str:  # never show the token itself, not even in a traceback's locals
        return f"AccessToken(expires_at={self.expires_at:.0f}, soap_instance_url={self.soap_instance_url!r})"


class TokenProvider:
    """Fetches, caches and refreshes the client's token (``{auth_url}/v2/token``)."""

    def __init__(
        self,
        *,
        auth_url: str,
        client_id: str,
        client_secret: str,
        account_id: int | None,
        transport: Transport,
        clock: Callable[[], float] = time.monotonic,
        on_refresh: Callable[[], None] | None = None,
    ) -> None:
        self.token_url = f"{auth_url.rstrip('/')}/v2/token"
        self._client_id = client_id
        self._client_secret = client_secret
        self._account_id = account_id
        self._transport = transport
        self._clock = clock
        self.on_refresh = on_refresh
        self._lock = threading.Lock()
        self._token: AccessToken | None = None
        self.refreshes = 0

    @property
    def account_id(self) -> int | None:
        """The MID tokens are asked for (SFMC_ACCOUNT_ID), when one is configured: the token's own unit."""
        return self._account_id

    def current(self) -> AccessToken:
        """A token with more than the margin left: the cached one, or a fresh one."""
        token = self._token
        if token is not None and self._clock() < token.refresh_at:
            return token
        with self._lock:
            token = self._token  # another thread may have refreshed while we waited for the lock
            if token is not None and self._clock() < token.refresh_at:
                return token
            return self._fetch()

    def renew(self, rejected: AccessToken) -> AccessToken:
        """A token other than ``rejected`` (Marketing Cloud refused it: expired or unknown).

        When another thread already replaced it, that token is returned without a second request.
        """
        with self._lock:
            token = self._token
            if token is not None and token is not rejected and self._clock() < token.refresh_at:
                return token
            return self._fetch()

    def _fetch(self) -> AccessToken:
        payload: dict[str, Any] = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        if self._account_id is not None:
            payload["account_id"] = self._account_id
        reply = self._transport.post_json(self.token_url, payload)
        if reply.status >= 500 or reply.status in (408, 429):
            raise SfmcTransientError(f"token endpoint answered HTTP {reply.status}", maybe_sent=False)
        document = _json_object(reply.body)
        if reply.status != 200:
            error = str((document or {}).get("error") or f"HTTP {reply.status}")
            raise SfmcAuthError(f"token request refused: {error} (check SFMC_CLIENT_ID/SFMC_CLIENT_SECRET)")
        document = document or {}
        value = document.get("access_token")
        expires_in = document.get("expires_in")
        if not (isinstance(value, str) and value and isinstance(expires_in, int | float) and expires_in > 0):
            raise SfmcProtocolError("token response without access_token/expires_in")
        if not (value.isascii() and value.isprintable()):  # it goes into an XML header as it is
            raise SfmcProtocolError("token response with an access_token that is not printable ASCII")
        now = self._clock()
        # The SDKs' rule is "refresh when < 300 s remain"; a token that lives less than twice that
        # (a test emulator's --token-ttl) is refreshed at half its life instead of on every call.
        margin = min(REFRESH_MARGIN, expires_in / 2)
        soap_instance_url = document.get("soap_instance_url")
        token = AccessToken(
            value=value,
            expires_at=now + expires_in,
            refresh_at=now + expires_in - margin,
            soap_instance_url=soap_instance_url if isinstance(soap_instance_url, str) else None,
        )
        self._token = token
        self.refreshes += 1
        logger.info(
            "sfmc token obtained (expires in %d s, refreshed after %d s)", expires_in, expires_in - margin
        )
        if self.on_refresh is not None:
            self.on_refresh()
        return token


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None
