"""Helpers of the journal tests: demo identities, app settings, worker subprocesses, polling.

Plain functions and constants (fixtures live in conftest.py). The demo identities are the emulator's
(emulator/data/demo.json, docs/emulator.md).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.identity import FIELDS, Recipient
from app.journal.models import UnsubscribeRequest
from testkit.cli import FLASK, flask_cli
from tests.conftest import base_test_config

ROOT = Path(__file__).resolve().parents[2]

PARENT_MID = "510001000"
CHILD_MID = "510001001"
PARENT_ALL_SUBSCRIBERS = "1000"
NEWSLETTER = {"job_id": "18099", "list_id": "17914", "mid": PARENT_MID}
PRODUCT_NEWS = {"job_id": "18100", "list_id": "17920", "mid": PARENT_MID}
BRAND_NEWSLETTER = {"job_id": "28001", "list_id": "27914", "mid": CHILD_MID}
BRAND_EVENTS = {"job_id": "28002", "list_id": "27920", "mid": CHILD_MID}
PARENT_ACTIVE = [f"demo-{n:03d}" for n in range(1, 21)]  # active on the newsletter and product news
CHILD_ACTIVE = [f"child-{n:03d}" for n in range(1, 9)]  # active on the brand newsletter
ALREADY_OFF_NEWSLETTER = "demo-022"  # unsubscribed from the newsletter list already (401)
UNKNOWN_KEY = "nobody-at-all"  # no such subscriber (400)

# Fast retries and short claims, so a test waits tenths of seconds, never minutes.
FAST = {
    "INLINE_DELIVERY_BUDGET": "2",  # generous: a loaded CI machine must not turn "done" into "pending"
    "DELIVERY_BACKOFF_BASE_SECONDS": "0.05",
    "DELIVERY_BACKOFF_MAX_SECONDS": "0.2",
    "DELIVERY_LEASE_SECONDS": "10",
    "WORKER_POLL_SECONDS": "0.1",
    # The All Subscribers list belongs to the unit tokens act in: say which one that is.
    "SFMC_ACCOUNT_ID": PARENT_MID,
    "SFMC_ALL_SUBSCRIBERS_LIST_ID": PARENT_ALL_SUBSCRIBERS,
}


def app_config(emulator: Any, database_url: str, **overrides: Any) -> dict[str, Any]:
    """Settings of an app (or worker) on ``emulator`` and ``database_url``, with the fast knobs above."""
    return base_test_config(emulator, None, database_url=database_url, **{**FAST, **overrides})


def request_for(subscriber_key: str, context: dict[str, str], **fields: Any) -> UnsubscribeRequest:
    """A form request for a demo subscriber in a job context."""
    identity = {"subscriber_key": subscriber_key, **context}
    identity.update({name: fields.pop(name) for name in FIELDS if name in fields})
    values: dict[str, Any] = {"reason_code": "too_many", **fields}
    return UnsubscribeRequest(Recipient(**identity), **values)


def worker_env(emulator: Any, database_url: str, **overrides: Any) -> dict[str, str]:
    """The environment of a `flask --app wsgi journal …` subprocess, configured like the test's app."""
    config = app_config(emulator, database_url, **overrides)
    config.pop("TESTING")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SFMC_", "DELIVERY_"))}
    env.update({key: str(value) for key, value in config.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen:
    """`flask --app wsgi journal <args>` as a real process."""
    return subprocess.Popen(
        [*FLASK, "journal", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run_cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`flask --app wsgi journal <args>` to completion, output captured."""
    return flask_cli(env, "journal", *args, timeout=timeout)


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
