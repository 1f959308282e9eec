"""The delivery worker: drain the journal once, or keep draining until SIGTERM/SIGINT.

A stop signal never interrupts a Marketing Cloud call: the current batch finishes and its outcomes are
committed, then the loop ends. A worker killed harder (SIGKILL, power loss) loses nothing either: its
claims expire after ``DELIVERY_LEASE_SECONDS`` and another run sends those entries again.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .delivery import Delivery
from .delivery_values import DrainReport
from .values import JournalError, first_line

logger = logging.getLogger(__name__)


def run_once(delivery: Delivery, *, stop: threading.Event | None = None) -> DrainReport:
    """Deliver everything due now, then return (`journal deliver`, from cron or by hand)."""
    return delivery.deliver_due(stop=stop)


def run_forever(
    delivery: Delivery,
    *,
    stop: threading.Event,
    on_drain: Callable[[DrainReport], None] | None = None,
) -> DrainReport:
    """Drain, wait ``WORKER_POLL_SECONDS``, repeat, until ``stop`` is set. Returns the totals.

    A journal that cannot be reached costs one log line per poll (its cause, no traceback: the database
    being down for an hour must not bury the log), and the loop keeps going until it answers again.
    """
    totals = DrainReport()
    logger.info("journal worker started", extra={"owner": delivery.owner})
    while not stop.is_set():
        try:
            report = delivery.deliver_due(stop=stop)
        except JournalError as exc:  # the database is down or went away: one line, wait, try again
            logger.warning("journal drain failed; retrying after the poll interval: %s", first_line(exc))
            report = DrainReport()
        except Exception:  # a bug: its traceback, once per poll; the worker keeps delivering what it can
            logger.exception("journal drain failed unexpectedly; retrying after the poll interval")
            report = DrainReport()
        totals.merge(report)
        if on_drain is not None and report.calls:
            on_drain(report)
        stop.wait(delivery.settings.poll_seconds)
    logger.info("journal worker stopped", extra={"calls": totals.calls, "sent": totals.sent})
    return totals


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set ``stop`` on SIGTERM and SIGINT for the duration (main thread only), then restore handlers."""

    def handler(signum: int, _frame: object) -> None:
        logger.info("journal worker stopping after the current batch", extra={"signal": signum})
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals; the caller stops us through ``stop``
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
