"""Deliver journaled requests to Marketing Cloud: batching per business unit, outcome mapping, backoff.

No Flask here; the worker, the CLI and the inline attempt after a POST all send through ``Delivery.attempt``
(one claimed batch, one Execute call). Its settings and its drain report are in ``delivery_values``, the
mapping of an entry to a LogUnsubEvent in ``events``.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta
from typing import Any

from app.sfmc.errors import SfmcAuthError, SfmcError, SfmcProtocolError
from app.sfmc.models import ExecuteResult, UnsubOutcome

from .delivery_values import OUTCOME_STATES, DeliverySettings, DrainReport, short_error
from .events import to_event
from .models import JournalEntry, State
from .store import Journal
from .values import AttemptResult, Claim, JournalError, utcnow

logger = logging.getLogger(__name__)

#: Inline attempts running at once per process: at least gunicorn's threads (16 per worker in
#: ``gunicorn.conf.py``), so a POST's attempt starts at once (threads are started on demand). An attempt not
#: started within the budget is left to the worker.
INLINE_POOL_SIZE = 32


class Delivery:
    """Sends journaled requests: ``deliver_due`` (the worker) and ``attempt_within_budget`` (right after a
    POST has recorded and claimed its entry, see ``app.journal.record_and_deliver``)."""

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
    def inline_owner(self) -> str:
        """Who holds an inline attempt's claim: the process, marked so an operator tells it from a worker."""
        return f"{self.owner}:inline"

    @property
    def client(self) -> Any:
        """The Marketing Cloud client, made on first use (a worker that finds nothing due makes none)."""
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
            batch_report, whole_call_failed = self.attempt(claim)
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

    def attempt_within_budget(self, claim: Claim, *, recorded: JournalEntry) -> JournalEntry:
        """``attempt(claim)`` in the inline pool, waiting at most ``INLINE_DELIVERY_BUDGET``; the entry as it
        stands then (``recorded``, the committed entry, when it cannot be re-read).

        A slow Marketing Cloud costs the page the budget, not the call: the attempt finishes in the
        background (or the worker takes over once the claim's lease ends). An attempt that could not even
        start within the budget gives its claim back, so the worker may send the entry at once. Nothing
        raises here once the entry is committed: the page then says "processing".
        """
        entry_id = recorded.id
        future = self._inline_pool().submit(self.attempt, claim)
        try:
            future.result(timeout=self.settings.inline_budget_seconds)
        except FutureTimeout:
            if future.cancel():
                logger.info("inline delivery not started within budget", extra={"entry_id": entry_id})
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
            # Committed already: the page must say "processing" rather than fail; the worker goes on.
            logger.warning("journal entry not re-read after its commit", extra={"entry_id": entry_id})
            return recorded
        return recorded if entry is None else entry

    def _inline_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = ThreadPoolExecutor(
                    max_workers=INLINE_POOL_SIZE, thread_name_prefix="inline-delivery"
                )
                self._pool_pid = os.getpid()
            return self._pool

    def shutdown(self) -> None:
        """Wait for inline attempts still running (process exit)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pool_pid == os.getpid():
            pool.shutdown(wait=True, cancel_futures=True)

    # -- one attempt -----------------------------------------------------------------------------------

    def attempt(self, claim: Claim) -> tuple[DrainReport, bool]:
        """Send one claimed batch in one Execute call and apply each outcome by position, under the claim.

        Returns the batch's report and whether the call failed as a whole (the drain then leaves that
        business unit alone). Never raises for Marketing Cloud problems: the entries stay pending.
        """
        entries = claim.entries
        report = DrainReport(calls=1, sent=len(entries))
        events = [to_event(entry.request, all_subscribers=self.settings.all_subscribers) for entry in entries]
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
                    "detail": short_error(exc),
                    "entries": len(entries),
                    "maybe_sent": maybe_sent,
                },
            )
            error = f"{type(exc).__name__}: {short_error(exc)}"
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

    def _result(self, entry: JournalEntry, outcome: UnsubOutcome, request_id: str | None) -> AttemptResult:
        state = OUTCOME_STATES.get(outcome.kind)
        if state is None:  # TRANSIENT: an error code we do not know; worth another try
            return self._retry_or_bury(
                entry,
                short_error(outcome.summary),
                outcome.error_code,
                maybe_sent=False,
                request_id=request_id,
            )
        return AttemptResult(
            entry_id=entry.id,
            state=state,
            # Marketing Cloud's own words first: they name what failed (the list, the job, the unit).
            last_error=short_error(outcome.summary) if state is State.REJECTED else None,
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
                last_error=short_error(
                    f"gave up after {entry.attempts} attempts over {age_hours:.1f} h: {error}"
                ),
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
