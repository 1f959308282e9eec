"""``SfmcClient``: calls to Marketing Cloud with a shared token and typed outcomes (Execute here; Retrieve
and Update in ``object_calls``).

One call = build (``envelope``) → POST (``transport``) → read (``response``): ``_send``, for every action.
A ``Token Expired`` or ``Login failed`` fault gets one token refresh and one retry (Marketing Cloud refused
the call before doing anything, so the retry cannot duplicate an event); nothing else is retried here.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from lxml import etree

from . import envelope as envelopes
from .auth import AccessToken, SfmcObserver, TokenProvider
from .errors import (
    SfmcAuthError,
    SfmcConfigError,
    SfmcError,
    SfmcProtocolError,
    SfmcRequestError,
    SfmcTransientError,
)
from .models import ExecuteResult, LogUnsubEvent, OutcomeKind, SoapFault, with_refusals
from .object_calls import ObjectCalls
from .response import fault_error, is_token_fault, parse_response
from .schema import check_envelope
from .transport import HttpReply, Transport

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: What ``ping`` sends: a LogUnsubEvent without any parameter. Marketing Cloud answers ErrorCode 402
#: ("the Parameters array held no values") without looking anybody up: it proves the token and the SOAP
#: endpoint work and cannot unsubscribe anyone.
PING_REQUEST = LogUnsubEvent()


@dataclass(frozen=True)
class PingResult:
    """What ``SfmcClient.ping`` found, step by step."""

    token_ok: bool
    soap_url: str | None
    soap_reached: bool
    request_id: str | None = None
    error_code: int | None = None
    status_message: str | None = None
    problem: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Both steps worked and nothing was odd: what ``flask sfmc ping``'s exit status says."""
        return self.token_ok and self.soap_reached and self.problem is None


class SfmcClient(ObjectCalls):
    """Marketing Cloud's SOAP API as far as this project needs it: LogUnsubEvent (batched) here; Retrieve of
    lists, memberships, subscribers and business units and Update of list statuses in ``ObjectCalls``."""

    def __init__(
        self,
        *,
        tokens: TokenProvider,
        transport: Transport,
        soap_url: str | None = None,
        observer: SfmcObserver | None = None,
    ) -> None:
        self.tokens = tokens
        self.transport = transport
        self.soap_url = soap_url
        self.observer = observer
        tokens.on_refresh = self._token_refreshed

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, observer: SfmcObserver | None = None) -> SfmcClient:
        """A client from the app's parsed settings (``config.load_config``: numbers are numbers already, and
        every default lives in its ``SETTINGS`` table, so none is repeated here); no network yet."""
        required = ("SFMC_AUTH_URL", "SFMC_CLIENT_ID", "SFMC_CLIENT_SECRET", "SFMC_TIMEOUT")
        missing = [name for name in required if not config.get(name)]
        if missing:
            raise SfmcConfigError(f"missing setting(s): {', '.join(missing)}")
        transport = Transport(timeout=config["SFMC_TIMEOUT"])
        tokens = TokenProvider(
            auth_url=str(config["SFMC_AUTH_URL"]),
            client_id=str(config["SFMC_CLIENT_ID"]),
            client_secret=str(config["SFMC_CLIENT_SECRET"]),
            account_id=config.get("SFMC_ACCOUNT_ID"),
            transport=transport,
        )
        return cls(
            tokens=tokens, transport=transport, soap_url=config.get("SFMC_SOAP_URL"), observer=observer
        )

    @property
    def token_refreshes(self) -> int:
        """How many tokens this client has obtained (for ops and tests)."""
        return self.tokens.refreshes

    def log_unsub_events(
        self, requests: Sequence[LogUnsubEvent], *, timeout: float | None = None
    ) -> ExecuteResult:
        """Send 1..50 LogUnsubEvent requests in one Execute call; ``outcomes[i]`` answers ``requests[i]``.

        A request that cannot be sent as it is (a MID that is not a number, an identifier with characters
        XML cannot carry) is answered REJECTED without being sent, and the others still go: one bad entry
        must not hold back a batch. ``timeout`` overrides SFMC_TIMEOUT for this call (inline delivery has a
        tighter budget). Raises ``SfmcTransientError``, ``SfmcAuthError``, ``SfmcProtocolError``, or
        ``SfmcRequestError`` for an empty or oversized batch.
        """
        requests = list(requests)
        envelopes.check_batch_size(requests)
        started = time.monotonic()
        try:
            result = self._execute_sendable(requests, timeout=timeout)
        except SfmcError as exc:
            self._observe(exc.outcome, time.monotonic() - started)
            raise
        seconds = time.monotonic() - started
        self._observe("ok", seconds)
        logger.info(
            "sfmc execute: %d request(s), OverallStatus %s, RequestID %s, %s in %.3f s",
            len(requests),
            result.overall_status,
            result.request_id,
            _tally(result),
            seconds,
        )
        return result

    def _execute_sendable(self, requests: list[LogUnsubEvent], *, timeout: float | None) -> ExecuteResult:
        try:
            return self._execute(requests, timeout=timeout)
        except SfmcRequestError:
            # Building failed before anything was sent. Find the requests at fault (rare: only then is each
            # one built alone) and send the rest.
            refusals = [envelopes.refusal(request) for request in requests]
            if not any(refusals):
                raise  # not one request's fault: a bug of ours, let it show
        sendable = [request for request, refusal in zip(requests, refusals, strict=True) if refusal is None]
        logger.warning(
            "sfmc: %d of %d request(s) refused before sending", len(requests) - len(sendable), len(requests)
        )
        sent = self._execute(sendable, timeout=timeout) if sendable else None
        return ExecuteResult(
            overall_status=sent.overall_status if sent else "Not sent",
            request_id=sent.request_id if sent else None,
            outcomes=with_refusals(refusals, sent.outcomes if sent else []),
        )

    def ping(self) -> PingResult:
        """Get a token and reach the SOAP endpoint with a request that cannot unsubscribe anybody.

        Sends ``PING_REQUEST`` (LogUnsubEvent with no parameters); any readable Execute answer proves the
        endpoint and the token work (Marketing Cloud's documented answer is ErrorCode 402).
        """
        started = time.monotonic()
        try:
            token = self.tokens.current()
        except SfmcError as exc:
            elapsed = time.monotonic() - started
            return PingResult(False, self.soap_url, False, problem=str(exc), seconds=elapsed)
        soap_url = self._soap_url(token) if (self.soap_url or token.soap_instance_url) else None
        try:
            result = self._execute([PING_REQUEST], timeout=None)
        except SfmcError as exc:
            return PingResult(True, soap_url, False, problem=str(exc), seconds=time.monotonic() - started)
        outcome = result.outcomes[0]
        problem = None
        if outcome.kind is OutcomeKind.DELIVERED:  # cannot happen with no parameters; say so if it does
            problem = "Marketing Cloud accepted an empty LogUnsubEvent: unexpected"
        return PingResult(
            token_ok=True,
            soap_url=soap_url,
            soap_reached=True,
            request_id=result.request_id,
            error_code=outcome.error_code,
            status_message=outcome.status_message,
            problem=problem,
            seconds=time.monotonic() - started,
        )

    def close(self) -> None:
        """Close pooled connections (the token is forgotten with the client)."""
        self.transport.close()

    def _execute(self, requests: list[LogUnsubEvent], *, timeout: float | None) -> ExecuteResult:
        return self._send(
            "Execute",
            lambda token: envelopes.execute_envelope(token, requests),
            functools.partial(_read_execute, expected=len(requests)),
            timeout=timeout,
        )

    def _send(
        self,
        action: str,
        build: Callable[[str], etree._Element],
        read: Callable[[HttpReply], T | SoapFault],
        *,
        timeout: float | None,
        deadline: float | None = None,
    ) -> T:
        """One call of any action (Execute, Retrieve, Update): ``build`` the envelope for a token, POST it,
        ``read`` the answer; one token refresh and retry on ``Token Expired``/``Login failed``, faults raised.

        ``deadline`` (``time.monotonic``), when given, bounds both attempts: none starts after it, each
        waits at most until it (its timeout cut to what is left, its whole answer due by then).
        """
        token = self.tokens.current()
        default = self.transport.timeout
        answer = self._call(token, action, build, read, _within(timeout, deadline, default), deadline)
        if isinstance(answer, SoapFault) and is_token_fault(answer):
            # Refused before any work was done: one fresh token, one retry, no more.
            logger.warning("sfmc refused the token (%s): refreshing once and retrying", answer.faultstring)
            token = self.tokens.renew(token)
            answer = self._call(token, action, build, read, _within(timeout, deadline, default), deadline)
        if isinstance(answer, SoapFault):
            error = fault_error(answer)
            if isinstance(error, SfmcAuthError):
                raise SfmcAuthError(f"{error} (again after a token refresh)", fault=answer)
            raise error
        return answer

    def _call(
        self,
        token: AccessToken,
        action: str,
        build: Callable[[str], etree._Element],
        read: Callable[[HttpReply], T | SoapFault],
        timeout: float | None,
        deadline: float | None = None,
    ) -> T | SoapFault:
        tree = build(token.value)
        check_envelope(tree)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("sfmc envelope: %s", envelopes.redacted(tree).decode())
        body = envelopes.serialise(tree)
        url = self._soap_url(token)
        reply = self.transport.post_soap(url, body, timeout=timeout, action=action, deadline=deadline)
        return read(reply)

    def _soap_url(self, token: AccessToken) -> str:
        if self.soap_url:
            return self.soap_url
        if not token.soap_instance_url:
            raise SfmcConfigError("SFMC_SOAP_URL is not set and the token response has no soap_instance_url")
        return f"{token.soap_instance_url.rstrip('/')}/Service.asmx"

    def _token_refreshed(self) -> None:
        if self.observer is not None:
            try:
                self.observer.on_token_refresh()
            except Exception:
                logger.exception("sfmc observer failed in on_token_refresh")

    def _observe(self, outcome: str, seconds: float) -> None:
        if self.observer is not None:
            try:
                self.observer.on_call(outcome, seconds)
            except Exception:
                logger.exception("sfmc observer failed in on_call")


def _tally(result: ExecuteResult) -> str:
    """``delivered=3 already=1`` for a log line (no personal data)."""
    counts: dict[str, int] = {}
    for outcome in result.outcomes:
        counts[outcome.kind.value] = counts.get(outcome.kind.value, 0) + 1
    return " ".join(f"{kind}={count}" for kind, count in sorted(counts.items()))


def _read_execute(reply: HttpReply, *, expected: int) -> ExecuteResult | SoapFault:
    answer = parse_response(
        reply.body, http_status=reply.status, content_type=reply.content_type, expected=expected
    )
    if isinstance(answer, ExecuteResult) and reply.status != 200:
        raise SfmcProtocolError(f"an Execute result with HTTP {reply.status}")
    return answer


def _within(timeout: float | None, deadline: float | None, default: float) -> float | None:
    """The timeout of one attempt: ``timeout`` (or the default), cut to what is left before ``deadline``."""
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0.01:
        raise SfmcTransientError("the call's deadline passed before it could be sent", maybe_sent=False)
    return min(default if timeout is None else timeout, left)
