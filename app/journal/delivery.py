"""Deliver journaled requests to Marketing Cloud: batching per business unit, outcome mapping, backoff.

No Flask here; the worker, the CLI and the inline attempt after a POST all send through ``Delivery.attempt``
(one claimed batch: an Execute call for its unsubscribes, an Update call for its list changes, planned in
``delivery_calls``). Outcomes and backoff are in ``delivery_outcomes``, settings and the drain report in
``delivery_values``, the mapping of an entry to a LogUnsubEvent or a list status in ``events``.
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
from typing import Any

from app.sfmc.errors import SfmcAuthError, SfmcError, SfmcProtocolError

from .delivery_calls import PlannedCall, person_of, plan_calls, send_call
from .delivery_outcomes import OutcomesMixin
from .delivery_values import DeliverySettings, DrainReport, short_error
from .models import JournalEntry, State
from .store import Journal
from .values import AttemptResult, Claim, JournalError

logger = logging.getLogger(__name__)

#: Inline attempts running at once per process: at least gunicorn's threads (16 per worker in
#: ``gunicorn.conf.py``), so a POST's attempt starts at once (threads are started on demand). An attempt not
#: started within the budget is left to the worker.
INLINE_POOL_SIZE = 32


class Delivery(OutcomesMixin):
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
        return self.attempt_many_within_budget(claim, recorded=[recorded])[0]

    def attempt_many_within_budget(self, claim: Claim, *, recorded: list[JournalEntry]) -> list[JournalEntry]:
        """``attempt_within_budget`` for the entries of one save (``record_and_deliver_many``): one
        attempt, one budget, each entry as it stands then."""
        ids = [entry.id for entry in recorded]
        future = self._inline_pool().submit(self.attempt, claim)
        try:
            future.result(timeout=self.settings.inline_budget_seconds)
        except FutureTimeout:
            if future.cancel():
                logger.info("inline delivery not started within budget", extra={"entry_ids": ids})
                try:
                    self.journal.release(claim)
                except Exception:
                    logger.exception("unused inline claim not released", extra={"entry_ids": ids})
            else:
                logger.info("inline delivery continues past its budget", extra={"entry_ids": ids})
        except Exception:
            logger.exception("inline delivery failed unexpectedly", extra={"entry_ids": ids})
        try:
            now = [self.journal.get(entry_id) for entry_id in ids]
        except JournalError:
            # Committed already: the page must say "processing" rather than fail; the worker goes on.
            logger.warning("journal entries not re-read after their commit", extra={"entry_ids": ids})
            return recorded
        return [old if new is None else new for old, new in zip(recorded, now, strict=True)]

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
        """Send one claimed batch (``delivery_calls.plan_calls``: an Execute call for unsubscribes, an
        Update call for list changes, a person's entries in order) and apply each outcome by position,
        under the claim, after each call.

        An entry whose person's older entry did not finish in this attempt (it failed, or its claim was
        lost) is not sent: it is given back, uncounted, and waits its turn. After a call that failed as a
        whole nothing more is sent. Returns the report and whether a call failed as a whole (the drain then
        leaves that business unit alone). Never raises for Marketing Cloud problems: the entries stay
        pending.
        """
        report = DrainReport()
        waiting: set[str] = set()  # people whose older entry is still pending
        whole_call_failed = False
        for call in plan_calls(claim.entries, self.settings.batch_size):
            held_back = [e for e in call.entries if whole_call_failed or person_of(e) in waiting]
            if held_back:
                self.journal.release_entries(claim, [entry.id for entry in held_back])
                waiting.update(person_of(entry) for entry in held_back)
                held_ids = {entry.id for entry in held_back}
                call = PlannedCall(call.kind, [e for e in call.entries if e.id not in held_ids])
            if not call.entries:
                continue
            results, failed = self._send(call)
            report.calls += 1
            report.sent += len(call.entries)
            report.failed_calls += int(failed)
            whole_call_failed = whole_call_failed or failed
            applied = set(self.journal.apply_results(claim.token, results))
            for entry, item in zip(call.entries, results, strict=True):
                if item.entry_id in applied:
                    report.count(item.state)
                if item.state is State.PENDING or item.entry_id not in applied:
                    waiting.add(person_of(entry))
        return report, whole_call_failed

    def _send(self, call: PlannedCall) -> tuple[list[AttemptResult], bool]:
        """One call and the result of each of its entries; True when the call failed as a whole."""
        entries = call.entries
        try:
            answer = send_call(self.client, call, all_subscribers=self.settings.all_subscribers)
        except SfmcError as exc:
            maybe_sent = bool(getattr(exc, "maybe_sent", isinstance(exc, SfmcProtocolError)))
            log = logger.error if isinstance(exc, SfmcAuthError) else logger.warning
            log(
                "Marketing Cloud call failed; batch will be retried",
                extra={
                    "call": str(call.kind),
                    "error": type(exc).__name__,
                    "detail": short_error(exc),
                    "entries": len(entries),
                    "maybe_sent": maybe_sent,
                },
            )
            error = f"{type(exc).__name__}: {short_error(exc)}"
            return [self._retry_or_bury(entry, error, None, maybe_sent=maybe_sent) for entry in entries], True
        except Exception as exc:  # a bug must not stop the worker or fail the page; the batch is retried
            logger.exception(
                "unexpected error delivering a batch", extra={"call": str(call.kind), "entries": len(entries)}
            )
            error = f"unexpected {type(exc).__name__}"
            return [self._retry_or_bury(entry, error, None, maybe_sent=True) for entry in entries], True
        results = [
            self._result(entry, outcome, answer.request_id)
            for entry, outcome in zip(entries, answer.outcomes, strict=True)
        ]
        return results, False
