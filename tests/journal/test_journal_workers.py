"""Real worker processes (`flask journal deliver`): SIGKILL mid-batch, SIGTERM, two workers at once.

Each test runs on SQLite and on PostgreSQL; the emulator's latency makes a Marketing Cloud call last long
enough for a signal to land in the middle of it.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from journal_helpers import (
    BRAND_EVENTS,
    BRAND_NEWSLETTER,
    CHILD_ACTIVE,
    NEWSLETTER,
    PARENT_ACTIVE,
    PRODUCT_NEWS,
    request_for,
    run_cli,
    start_worker,
    wait_until,
    worker_env,
)

from app.journal.models import State
from app.journal.values import utcnow


def in_flight(journal: Any) -> list[Any]:
    """Pending entries a worker holds right now (a call is under way)."""
    return [entry for entry in journal.entries(state=State.PENDING) if entry.claimed_by]


def drained_line(output: str) -> tuple[int, int]:
    """(calls, entries) from the worker's last line."""
    match = re.search(r"^delivered: (\d+) call\(s\), (\d+) entries", output, re.MULTILINE)
    assert match, output
    return int(match[1]), int(match[2])


def finish(process: subprocess.Popen, timeout: float = 20) -> str:
    output, _ = process.communicate(timeout=timeout)
    return output


def test_worker_killed_mid_batch_loses_nothing(
    make_app: Callable[..., Flask], emulator: Any, database_url: str
) -> None:
    app = make_app()
    journal = app.extensions["journal"]
    entries = [journal.record(request_for(key, NEWSLETTER)) for key in PARENT_ACTIVE]
    # Each call stays on the wire 1.5 s, so the kill below lands inside a call even on a loaded machine.
    emulator.faults(latency_ms=1500)
    env = worker_env(emulator, database_url, DELIVERY_BATCH_SIZE="5", DELIVERY_LEASE_SECONDS="1")
    worker = start_worker(env, "deliver", "--forever")
    try:
        # Wait until the first batch is settled and the next one is on the wire: claims seen before the
        # first batch settles may be gone an instant later, and a kill then hits nothing in flight.
        def next_batch_in_flight() -> list[Any]:
            return in_flight(journal) if journal.counts_by_state()["delivered"] >= 5 else []

        held = wait_until(next_batch_in_flight, timeout=30)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
        finish(worker)
    assert worker.returncode == -signal.SIGKILL
    assert len(held) == 5
    # The killed batch is neither lost nor finished: it is pending under a claim nobody will settle.
    orphaned = in_flight(journal)
    assert orphaned
    counts = journal.counts_by_state()
    assert counts["pending"] >= 5
    assert counts["pending"] + counts["delivered"] == 20

    emulator.faults()
    # After the lease (1 s) the killed claims are due again; a new run delivers the rest.
    lease_end = max(entry.claimed_until for entry in orphaned)
    time.sleep(max(0.0, (lease_end - utcnow()).total_seconds()) + 0.05)
    completed = run_cli(env, "deliver")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert journal.counts_by_state()["pending"] == 0
    states = [journal.get(entry.id) for entry in entries]
    assert all(entry.state.unsubscribed for entry in states), [e.state for e in states]
    # The killed call may have reached Marketing Cloud; its retry then finds the person unsubscribed.
    assert all(entry.state is State.DELIVERED or entry.error_code == 401 for entry in states)
    events = Counter(event["subscriber_key"] for event in emulator.events())
    assert set(events) == set(PARENT_ACTIVE)
    assert max(events.values()) == 1
    # Each entry of the killed call was sent again after its lease ran out: a possible duplicate each.
    assert journal.possible_duplicates() == len(orphaned)


def test_sigterm_stops_after_the_current_batch(
    make_app: Callable[..., Flask], emulator: Any, database_url: str
) -> None:
    app = make_app()
    journal = app.extensions["journal"]
    for key in PARENT_ACTIVE[:10]:
        journal.record(request_for(key, PRODUCT_NEWS))
    emulator.faults(latency_ms=700)
    env = worker_env(emulator, database_url, DELIVERY_BATCH_SIZE="5")
    worker = start_worker(env, "deliver", "--forever")
    try:
        held = wait_until(lambda: in_flight(journal), timeout=20)
        worker.send_signal(signal.SIGTERM)
        output = finish(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
            finish(worker)
    assert worker.returncode == 0, output
    assert drained_line(output) == (1, 5)
    # The batch under way was finished and recorded; nothing is left claimed; the rest waits, unclaimed.
    assert all(journal.get(entry.id).state is State.DELIVERED for entry in held)
    assert in_flight(journal) == []
    assert journal.counts_by_state()["pending"] == 5
    assert len(emulator.events()) == 5


def test_two_workers_deliver_every_entry_exactly_once(
    make_app: Callable[..., Flask], emulator: Any, database_url: str
) -> None:
    app = make_app()
    journal = app.extensions["journal"]
    requests = (
        [request_for(key, NEWSLETTER) for key in PARENT_ACTIVE]
        + [request_for(key, PRODUCT_NEWS) for key in PARENT_ACTIVE]
        + [request_for(key, BRAND_NEWSLETTER) for key in CHILD_ACTIVE]
        + [request_for(key, BRAND_EVENTS) for key in CHILD_ACTIVE[:5]]
    )
    entries = [journal.record(request) for request in requests]
    assert len({entry.id for entry in entries}) == 53
    emulator.faults(latency_ms=250)  # ~18 calls: long enough for both workers to be up and share them
    env = worker_env(emulator, database_url, DELIVERY_BATCH_SIZE="3")
    workers = [start_worker(env, "deliver") for _ in range(2)]
    try:
        outputs = [finish(worker, timeout=60) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                finish(worker)
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    sent = [drained_line(output)[1] for output in outputs]
    assert sum(sent) == 53  # no entry was sent by both
    assert min(sent) > 0  # and both took part
    assert journal.counts_by_state() == {
        "pending": 0,
        "delivered": 53,
        "already": 0,
        "rejected": 0,
        "dead": 0,
    }
    events = Counter((event["subscriber_key"], event["list_id"]) for event in emulator.events())
    assert len(events) == 53
    assert max(events.values()) == 1
    assert emulator.state()["stats"]["requests_executed"] == 53


def test_a_worker_whose_database_is_down_logs_one_line_per_poll_and_keeps_going(
    emulator: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("the journal's folder cannot be made here")
    database_url = f"sqlite:///{blocker / 'journal.sqlite3'}"
    env = worker_env(emulator, database_url, WORKER_POLL_SECONDS="0.2")
    worker = start_worker(env, "deliver", "--forever")
    try:
        time.sleep(6)  # start-up takes seconds on a loaded 2-core machine; polls are every 0.2 s
        assert worker.poll() is None  # still polling
        worker.send_signal(signal.SIGTERM)
        output = finish(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
            finish(worker)
    failed = [line for line in output.splitlines() if "journal drain failed" in line]
    assert len(failed) >= 3, output
    assert "Traceback" not in output and 'File "' not in output, output
    assert all("cannot write" in line for line in failed), failed
    assert worker.returncode == 0, output
