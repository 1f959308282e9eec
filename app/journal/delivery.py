"""Deliver journaled requests to Marketing Cloud: batching per business unit, outcome mapping, backoff.

No Flask here except reading settings in ``DeliverySettings.from_config``; the worker, the CLI and the inline
attempt after a POST all go through ``Delivery``.
"""

from __future__ import annotations

import logging
import os
import random
import re
import socket
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from app.sfmc.errors import SfmcAuthError, SfmcError, SfmcProtocolError
from app.sfmc.models import MAX_REQUESTS_PER_CALL, ExecuteResult, LogUnsubEvent, OutcomeKind

from .models import REASON_LABELS, JournalEntry, Scope, Source, State, UnsubscribeRequest
from .store import AttemptResult, Claim, Journal, JournalError, utcnow

logger = logging.getLogger(__name__)

ONE_CLICK_REASON = "One-click unsubscribe (RFC 8058)"
NO_REASON = "Profile Center: No reason given"
MAX_REASON_CHARS = 250  # Marketing Cloud's reports show a short line; a long free text is cut
MAX_ERROR_CHARS = 500
#: Inline attempts running at once per process: at least gunicorn's threads, so a POST's attempt starts
#: at once (threads are started on demand). An attempt not started within the budget is left to the worker.
INLINE_POOL_SIZE = 32

# Characters XML 1.0 cannot carry; a pasted free text must never make the whole batch unbuildable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_OUTCOME_STATES = {
    OutcomeKind.DELIVERED: State.DELIVERED,
    OutcomeKind.ALREADY: State.ALREADY,
    OutcomeKind.REJECTED: State.REJECTED,
}


#: HTTP calls one delivery attempt may make: token, Execute, token refresh, Execute again.
CALLS_PER_ATTEMPT = 4


@dataclass(frozen=True)
class DeliverySettings:
    """The delivery knobs, from the app's settings (see docs/journal.md, "Tuning")."""

    batch_size: int = MAX_REQUESTS_PER_CALL
    max_attempts: int = 30
    max_age_hours: float = 36.0
    lease_seconds: float = 120.0
    backoff_base_seconds: float = 10.0
    backoff_max_seconds: float = 3600.0
    inline_budget_seconds: float = 1.0
    sfmc_timeout_seconds: float = 5.0
    poll_seconds: float = 2.0
    all_subscribers_list_id: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliverySettings:
        return cls(
            batch_size=max(1, min(int(config["DELIVERY_BATCH_SIZE"]), MAX_REQUESTS_PER_CALL)),
            max_attempts=int(config["DELIVERY_MAX_ATTEMPTS"]),
            max_age_hours=float(config["DELIVERY_MAX_AGE_HOURS"]),
            lease_seconds=float(config.get("DELIVERY_LEASE_SECONDS") or 120.0),
            backoff_base_seconds=float(config.get("DELIVERY_BACKOFF_BASE_SECONDS") or 10.0),
            backoff_max_seconds=float(config.get("DELIVERY_BACKOFF_MAX_SECONDS") or 3600.0),
            inline_budget_seconds=float(config["INLINE_DELIVERY_BUDGET"]),
            sfmc_timeout_seconds=float(config["SFMC_TIMEOUT"]),
            poll_seconds=float(config["WORKER_POLL_SECONDS"]),
            all_subscribers_list_id=config.get("SFMC_ALL_SUBSCRIBERS_LIST_ID"),
        )

    @property
    def inline_lease_seconds(self) -> float:
        """An inline attempt may outlive the page's budget: a token fetch, the call, a token refresh and one
        retry, each bounded by the client's total deadline of 2 x SFMC_TIMEOUT. The worker leaves it alone
        meanwhile."""
        return max(self.lease_seconds, CALLS_PER_ATTEMPT * 2 * self.sfmc_timeout_seconds + 5)


@dataclass
class DrainReport:
    """What one drain did: Execute calls, entries sent, and where they ended."""

    calls: int = 0
    sent: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    failed_calls: int = 0
    buried: int = 0

    def count(self, state: State, n: int = 1) -> None:
        key = "retry" if state is State.PENDING else str(state)
        self.outcomes[key] = self.outcomes.get(key, 0) + n

    def merge(self, other: DrainReport) -> None:
        self.calls += other.calls
        self.sent += other.sent
        self.failed_calls += other.failed_calls
        self.buried += other.buried
        for key, n in other.outcomes.items():
            self.outcomes[key] = self.outcomes.get(key, 0) + n


def reason_text(request: UnsubscribeRequest) -> str:
    """The English ``Reason`` Marketing Cloud shows in its reports (contract in docs/architecture.md)."""
    if request.source is Source.ONE_CLICK:
        return ONE_CLICK_REASON
    if not request.reason_code:
        return NO_REASON
    label = REASON_LABELS.get(request.reason_code, REASON_LABELS["other"])
    reason = f"Profile Center: {label}"
    free_text = " ".join(_NOT_XML.sub("", request.reason_text or "").split())
    if request.reason_code == "other" and free_text:
        reason = f"{reason}: {free_text}"
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 1] + "…"
    return reason


def to_event(request: UnsubscribeRequest, *, all_subscribers_list_id: str | None = None) -> LogUnsubEvent:
    """Map a journaled request to the LogUnsubEvent Marketing Cloud should receive.

    ``Scope.LIST`` sends the job context from the link. ``Scope.ALL`` sends JobID/BatchID with the All
    Subscribers list when it is configured (master unsubscribe tracked against the job), otherwise no job
    context at all (Marketing Cloud then master-unsubscribes without an UnsubEvent).
    """
    if request.scope is Scope.LIST:
        job_id, list_id, batch_id = request.job_id, request.list_id, request.batch_id
    elif all_subscribers_list_id:
        job_id, list_id, batch_id = request.job_id, all_subscribers_list_id, request.batch_id
    else:
        job_id = list_id = batch_id = None
    return LogUnsubEvent(
        subscriber_key=request.subscriber_key or None,
        subscriber_id=request.subscriber_id or None,
        email=request.email or None,
        job_id=job_id or None,
        list_id=list_id or None,
        batch_id=batch_id or None,
        reason=reason_text(request),
        client_mid=request.mid or None,
    )


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


class Delivery:
    """Sends journaled requests: ``deliver_due`` (worker) and ``deliver_inline`` (right after a POST)."""

    def __init__(
        self,
        journal: Journal,
        client_factory: Callable[[], Any],
        settings: DeliverySettings,
        *,
        owner: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.journal = journal
        self.settings = settings
        self._client_factory = client_factory
        self._client: Any = None
        self._owner = owner
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_pid: int | None = None

    @property
    def owner(self) -> str:
        """Who holds a claim: host and process, so an operator can tell workers apart."""
        return self._owner or f"{socket.gethostname()}:{os.getpid()}"

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    # -- the worker's side -----------------------------------------------------------------------------

    def deliver_due(
        self, *, stop: threading.Event | None = None, max_calls: int | None = None
    ) -> DrainReport:
        """Send every due entry, one Execute call per business unit and batch, until none is due.

        A business unit whose call failed as a whole is left alone for the rest of this drain (its entries
        wait for their backoff), so an outage costs one failed call per unit and drain, not one per batch.
        """
        report = DrainReport()
        report.buried = self.journal.bury_abandoned(max_attempts=self.settings.max_attempts)
        failed_mids: set[str | None] = set()
        empty_claims = 0
        while not (stop is not None and stop.is_set()):
            if max_calls is not None and report.calls >= max_calls:
                break
            mids = [mid for mid in self.journal.due_mids() if mid not in failed_mids]
            if not mids:
                break
            claim = self.journal.claim_due(
                mid=mids[0],
                limit=self.settings.batch_size,
                lease_seconds=self.settings.lease_seconds,
                owner=self.owner,
            )
            if not claim.entries:
                # Another worker took them between our look and our claim; a few times is normal, more
                # means rows stay locked elsewhere: leave them to the next drain rather than spin.
                empty_claims += 1
                if empty_claims > 20:
                    break
                continue
            empty_claims = 0
            batch_report, whole_call_failed = self._attempt(claim)
            report.merge(batch_report)
            if whole_call_failed:
                failed_mids.add(mids[0])
        if report.calls:
            logger.info(
                "journal drain finished",
                extra={"calls": report.calls, "sent": report.sent, "outcomes": report.outcomes},
            )
        return report

    # -- the page's side -------------------------------------------------------------------------------

    def deliver_inline(self, entry_id: int) -> JournalEntry:
        """One attempt for ``entry_id`` within the inline budget; the entry with its current state.

        The attempt runs in a small thread pool: when the budget runs out the page gets the entry as
        pending while the attempt finishes in the background (or the worker takes over once the claim's
        lease ends). Marketing Cloud problems never raise here.
        """
        return self._within_budget(entry_id, lambda: self._inline_attempt(entry_id))

    def record_and_deliver(self, request: UnsubscribeRequest) -> JournalEntry:
        """``record`` the request and claim it for one inline attempt in a single commit, then attempt it
        within the inline budget (as ``deliver_inline``). Once the commit is done the request cannot be
        lost; a failure of the attempt leaves it pending for the worker."""
        entry, claim = self.journal.record_claimed(
            request, owner=f"{self.owner}:inline", lease_seconds=self.settings.inline_lease_seconds
        )
        if claim is None:  # the pending twin is being delivered elsewhere right now
            return entry
        return self._within_budget(entry.id, lambda: self._attempt(claim), claim=claim, recorded=entry)

    def _within_budget(
        self,
        entry_id: int,
        attempt: Callable[[], Any],
        *,
        claim: Claim | None = None,
        recorded: JournalEntry | None = None,
    ) -> JournalEntry:
        budget = self.settings.inline_budget_seconds
        future = self._inline_pool().submit(attempt)
        try:
            future.result(timeout=budget)
        except FutureTimeout:
            if future.cancel():
                logger.info("inline delivery not started within budget", extra={"entry_id": entry_id})
                if claim is not None:  # never started: leave the entry to the worker at once
                    try:
                        self.journal.release(claim)
                    except Exception:
                        logger.exception("unused inline claim not released", extra={"entry_id": entry_id})
            else:
                logger.info("inline delivery continues past its budget", extra={"entry_id": entry_id})
        except Exception:
            logger.exception("inline delivery failed unexpectedly", extra={"entry_id": entry_id})
        try:
            entry = self.journal.get(entry_id)
        except JournalError:
            if recorded is None:
                raise
            # Committed already: the page must say "processing" rather than fail; the worker goes on.
            logger.warning("journal entry not re-read after its commit", extra={"entry_id": entry_id})
            return recorded
        if entry is None:
            raise LookupError(f"journal entry {entry_id} does not exist")
        return entry

    def _inline_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(
                    max_workers=INLINE_POOL_SIZE, thread_name_prefix="inline-delivery"
                )
                self._pool_pid = os.getpid()
            return self._pool

    def _inline_attempt(self, entry_id: int) -> None:
        claim = self.journal.claim_entry(
            entry_id, lease_seconds=self.settings.inline_lease_seconds, owner=f"{self.owner}:inline"
        )
        if claim is None:
            return  # finished already, or a worker is delivering it right now
        self._attempt(claim)

    def shutdown(self) -> None:
        """Wait for inline attempts still running (process exit)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pool_pid == os.getpid():
            pool.shutdown(wait=True, cancel_futures=True)

    # -- one attempt -----------------------------------------------------------------------------------

    def _attempt(self, claim: Claim) -> tuple[DrainReport, bool]:
        """Send one claimed batch in one Execute call and apply each outcome by position."""
        entries = claim.entries
        report = DrainReport(calls=1, sent=len(entries))
        events = [
            to_event(entry.request, all_subscribers_list_id=self.settings.all_subscribers_list_id)
            for entry in entries
        ]
        whole_call_failed = False
        try:
            result: ExecuteResult = self.client.log_unsub_events(events)
            if len(result.outcomes) != len(entries):
                raise SfmcProtocolError(
                    f"{len(result.outcomes)} results for {len(entries)} requests; cannot match by position"
                )
        except SfmcError as exc:
            whole_call_failed = True
            report.failed_calls = 1
            maybe_sent = bool(getattr(exc, "maybe_sent", isinstance(exc, SfmcProtocolError)))
            log = logger.error if isinstance(exc, SfmcAuthError) else logger.warning
            log(
                "Marketing Cloud call failed; batch will be retried",
                extra={
                    "error": type(exc).__name__,
                    "detail": _short(exc),
                    "entries": len(entries),
                    "maybe_sent": maybe_sent,
                },
            )
            error = f"{type(exc).__name__}: {_short(exc)}"
            results = [self._retry_or_bury(entry, error, None, maybe_sent=maybe_sent) for entry in entries]
        except Exception as exc:  # a bug must not stop the worker or fail the page; the batch is retried
            whole_call_failed = True
            report.failed_calls = 1
            logger.exception("unexpected error delivering a batch", extra={"entries": len(entries)})
            error = f"unexpected {type(exc).__name__}"
            results = [self._retry_or_bury(entry, error, None, maybe_sent=True) for entry in entries]
        else:
            results = [
                self._result(entry, outcome, result.request_id)
                for entry, outcome in zip(entries, result.outcomes, strict=True)
            ]
        applied = set(self.journal.apply_results(claim.token, results))
        for item in results:
            if item.entry_id in applied:
                report.count(item.state)
        return report, whole_call_failed

    def _result(self, entry: JournalEntry, outcome: Any, request_id: str | None) -> AttemptResult:
        state = _OUTCOME_STATES.get(outcome.kind)
        if state is None:  # TRANSIENT: an error code we do not know; worth another try
            error = (
                f"error code {outcome.error_code}: {outcome.meaning or outcome.status_message or 'unknown'}"
            )
            return self._retry_or_bury(
                entry, _short(error), outcome.error_code, maybe_sent=False, request_id=request_id
            )
        last_error = None
        if state is State.REJECTED:
            last_error = _short(
                outcome.meaning or outcome.status_message or f"error code {outcome.error_code}"
            )
        return AttemptResult(
            entry_id=entry.id,
            state=state,
            last_error=last_error,
            error_code=outcome.error_code,
            sfmc_request_id=request_id,
            sfmc_status_message=outcome.status_message,
        )

    def _retry_or_bury(
        self,
        entry: JournalEntry,
        error: str,
        error_code: int | None,
        *,
        maybe_sent: bool,
        request_id: str | None = None,
    ) -> AttemptResult:
        """Back off exponentially with jitter; past the attempt or age limit the entry is dead."""
        now = utcnow()
        age_hours = (now - entry.created_at).total_seconds() / 3600
        if entry.attempts >= self.settings.max_attempts or age_hours >= self.settings.max_age_hours:
            logger.error(
                "journal entry is dead: delivery kept failing",
                extra={"entry_id": entry.id, "attempts": entry.attempts, "age_hours": round(age_hours, 2)},
            )
            return AttemptResult(
                entry_id=entry.id,
                state=State.DEAD,
                last_error=_short(f"gave up after {entry.attempts} attempts over {age_hours:.1f} h: {error}"),
                error_code=error_code,
                sfmc_request_id=request_id,
                possible_duplicate=maybe_sent,
            )
        return AttemptResult(
            entry_id=entry.id,
            state=State.PENDING,
            next_attempt_at=now + timedelta(seconds=self.backoff(entry.attempts)),
            last_error=error,
            error_code=error_code,
            sfmc_request_id=request_id,
            possible_duplicate=maybe_sent,
        )

    def backoff(self, attempts: int) -> float:
        """Seconds before the next attempt: base·2^(n-1), capped, then "equal jitter" (half fixed, half
        random) so a crowd of entries that failed together does not return together."""
        ceiling = min(
            self.settings.backoff_max_seconds,
            self.settings.backoff_base_seconds * 2 ** min(max(attempts - 1, 0), 30),
        )
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)


def due_report_line(report: DrainReport) -> str:
    """One line for the CLI: what a drain did."""
    outcomes = ", ".join(f"{key} {n}" for key, n in sorted(report.outcomes.items())) or "nothing"
    return f"{report.calls} call(s), {report.sent} entr{'y' if report.sent == 1 else 'ies'} sent: {outcomes}"
