"""Worker-level checks of two journal rules that unit tests of the store and of ``backoff`` alone cannot
prove where they matter: in real deliveries to the emulator, on a real journal (SQLite file, PostgreSQL).

- A late result of an attempt whose claim ran out must not touch the entry another worker has claimed
  since: it would free that claim, and a third worker would send the entry while the second is still on
  the wire.
- Retries back off: a short Marketing Cloud outage must not burn an entry's attempts (and make it dead)
  nor hammer Marketing Cloud with a call per poll.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import Flask
from journal_helpers import NEWSLETTER, request_for, start_worker, wait_until, worker_env

from app.journal.delivery_values import DrainReport
from app.journal.models import State


def _drain_in_thread(app: Flask) -> tuple[threading.Thread, list[DrainReport]]:
    """``deliver_due`` of ``app``'s real Delivery (its own Marketing Cloud client) in a thread."""
    reports: list[DrainReport] = []
    thread = threading.Thread(target=lambda: reports.append(app.extensions["journal_delivery"].deliver_due()))
    thread.start()
    return thread, reports


def _claim_ended(entry: Any) -> bool:
    return entry.claimed_until is not None and entry.claimed_until.timestamp() < time.time()


def test_a_late_result_never_frees_the_claim_of_the_worker_now_sending(
    make_app: Callable[..., Flask], emulator: Any
) -> None:
    # Worker A: a lease shorter than its call (a misconfiguration init_app warns about) and a timeout
    # shorter than Marketing Cloud's answer. Worker B: a long lease. Worker C: the next worker to look.
    slow = make_app(SFMC_TIMEOUT="1.0", DELIVERY_LEASE_SECONDS="0.3")
    patient = make_app(SFMC_TIMEOUT="4", DELIVERY_LEASE_SECONDS="30")
    next_worker = make_app(SFMC_TIMEOUT="4", DELIVERY_LEASE_SECONDS="30")
    journal = patient.extensions["journal"]
    entry = journal.record(request_for("demo-014", NEWSLETTER))
    emulator.faults(latency_ms=2000)

    worker_a, _ = _drain_in_thread(slow)
    worker_b, b_reports = worker_a, []
    try:
        a_claim = wait_until(lambda: journal.get(entry.id).claimed_by, timeout=5)
        wait_until(lambda: _claim_ended(journal.get(entry.id)), timeout=5)
        worker_b, b_reports = _drain_in_thread(patient)  # takes the expired claim over and sends again
        b_claim = wait_until(lambda: (c := journal.get(entry.id).claimed_by) != a_claim and c, timeout=5)
        worker_a.join(timeout=10)  # A's read timed out; its late "retry" result came back meanwhile

        time.sleep(0.3)  # past any backoff A's result could have set (FAST: at most 0.2 s)
        assert next_worker.extensions["journal_delivery"].deliver_due().calls == 0  # nothing to take
        held = journal.get(entry.id)
        assert (held.state, held.claimed_by) == (State.PENDING, b_claim)  # B still holds it
    finally:
        worker_a.join(timeout=10)
        worker_b.join(timeout=10)

    assert b_reports and b_reports[0].sent == 1
    done = journal.get(entry.id)
    # A's call was processed by Marketing Cloud after all, so B's finds the person unsubscribed already.
    assert done.state.unsubscribed and done.claimed_by is None
    assert done.duplicates == 1  # A's call may have reached Marketing Cloud: counted, not applied
    assert emulator.state()["stats"]["soap_calls"] == 2  # A and B; never a third sender
    assert Counter(event["subscriber_key"] for event in emulator.events()) == Counter({"demo-014": 1})


def test_a_short_outage_does_not_use_up_the_attempts_of_the_worker(
    make_app: Callable[..., Flask], emulator: Any, database_url: str
) -> None:
    app = make_app()
    journal = app.extensions["journal"]
    entry = journal.record(request_for("demo-015", NEWSLETTER))
    emulator.faults(error_rate=1.0, errors=["outage"])
    env = worker_env(
        emulator,
        database_url,
        DELIVERY_BACKOFF_BASE_SECONDS="0.5",
        DELIVERY_BACKOFF_MAX_SECONDS="2",
        DELIVERY_MAX_ATTEMPTS="6",
        WORKER_POLL_SECONDS="0.1",
    )
    worker = start_worker(env, "deliver", "--forever")
    try:
        wait_until(lambda: journal.get(entry.id).attempts >= 1, timeout=20)
        time.sleep(2.0)  # two seconds of outage: 0 s, 0.25-0.5 s, 0.75-1.5 s, ... with backoff; 20 polls
        during = journal.get(entry.id)
        calls_during = emulator.state()["stats"]["soap_calls"]
        assert during.state is State.PENDING, during.last_error
        assert 2 <= during.attempts <= 4
        assert calls_during == during.attempts  # one call per attempt, none in between
        assert (during.next_attempt_at - during.updated_at).total_seconds() >= 0.25  # base/2 at least

        emulator.faults()  # Marketing Cloud is back: the next due attempt delivers
        delivered = wait_until(
            lambda: (e := journal.get(entry.id)).state is State.DELIVERED and e, timeout=10
        )
        assert delivered.attempts <= 6
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=10)
    assert worker.returncode == 0, output
    assert Counter(event["subscriber_key"] for event in emulator.events()) == Counter({"demo-015": 1})
