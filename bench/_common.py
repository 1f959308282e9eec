"""Helpers of the benchmark and soak scripts: real processes on loopback, never mocks.

Starting and stopping processes, the emulator, gunicorn, the ``flask`` command line and PostgreSQL
databases come from ``testkit`` (the one copy the tests use too) and are re-exported here, so a script
says ``common.start_gunicorn``; what is the benchmarks' own lives here: generated subscribers and their
emulator data file, CPU and memory figures from /proc, reading the landing page's form, percentiles.
Every process runs in its own session so that a whole process group can be killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from testkit import cli as testkit_cli
from testkit import emulator as testkit_emulator
from testkit import gunicorn as testkit_gunicorn
from testkit import postgres as testkit_postgres
from testkit.cli import journal_status as journal_status
from testkit.cli import start_worker as start_worker
from testkit.emulator import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, Emulator
from testkit.processes import BIN as BIN
from testkit.processes import PYTHON as PYTHON
from testkit.processes import ROOT as ROOT
from testkit.processes import free_port as free_port
from testkit.processes import kill_group as kill_group
from testkit.processes import processes as processes
from testkit.processes import spawn as spawn
from testkit.processes import stop_group as stop_group
from testkit.processes import wait_for_http as wait_for_http

SIGNING_KEY = "bench-signing-key-0123456789abcdef"

#: Every load generator runs from one IP: the per-IP POST limit would otherwise answer 429 to most of it.
UNLIMITED_POSTS = "1000000 per minute"


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (gunicorn's workers of a master), from /proc."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) comes after the command name in parentheses, which may hold spaces.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def cpu_snapshot(pids: Iterable[int]) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each of ``pids`` *and by its children that ended and were
    reaped* (from /proc/<pid>/stat): a gunicorn master's figure thus keeps the CPU of recycled workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = sum(int(value) for value in fields[11:15]) / ticks  # utime stime cutime cstime
    return seconds


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots of a process tree (its root included).

    A process started in between counts whole. One that ended in between (a recycled gunicorn worker)
    reappears whole in its parent's reaped-children time, so what it had used before the first snapshot
    is taken off again.
    """
    used = sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
    return used - sum(seconds for pid, seconds in before.items() if pid not in after)


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


# --- the emulator -------------------------------------------------------------------------------------


def start_emulator(log_path: Path, data_file: Path | None = None) -> Emulator:
    """``python -m emulator`` on a free port, with ``data_file`` instead of the demo data when given."""
    return testkit_emulator.start_emulator(log_path=log_path, data_file=data_file)


# --- data: subscriptions the emulator knows, and signed links to them -----------------------------------


@dataclass(frozen=True)
class Subscription:
    """One person on one list who was sent one job: a distinct, valid unsubscribe target."""

    subscriber_id: str
    subscriber_key: str
    email: str
    list_id: str
    job_id: str
    batch_id: str


BENCH_MID = 7000001
BENCH_LIST_ID = "8000001"
BENCH_LIST_NAME = "Bench Newsletter"  # what the landing page names (the list directory)
BENCH_ALL_SUBSCRIBERS_LIST_ID = "8000000"


def generate_subscriptions(count: int, jobs: int = 20) -> list[Subscription]:
    """``count`` distinct subscribers on one publication list, each sent one of ``jobs`` jobs."""
    return [
        Subscription(
            subscriber_id=str(100000 + index),
            subscriber_key=f"bench-{index:06d}",
            email=f"bench{index:06d}@example.com",
            list_id=BENCH_LIST_ID,
            job_id=str(900000 + index % jobs),
            batch_id=str(1 + (index // jobs) % 5),
        )
        for index in range(count)
    ]


def write_emulator_data(path: Path, subscriptions: list[Subscription]) -> Path:
    """Write an emulator data file (the format of emulator/data/demo.json) holding ``subscriptions``."""
    jobs: dict[str, set[str]] = {}
    for sub in subscriptions:
        jobs.setdefault(sub.job_id, set()).add(sub.batch_id)
    data = {
        "account": {"subscriber_key_permission": True},
        "business_units": [{"mid": BENCH_MID, "name": "Bench Unit", "parent_mid": None}],
        "subscribers": [
            {
                "id": int(sub.subscriber_id),
                "key": sub.subscriber_key,
                "email": sub.email,
                "status": "Active",
                "mid": BENCH_MID,
            }
            for sub in subscriptions
        ],
        "lists": [
            {
                "id": int(BENCH_ALL_SUBSCRIBERS_LIST_ID),
                "name": "All Subscribers",
                "type": "all_subscribers",
                "mid": BENCH_MID,
            },
            {
                "id": int(BENCH_LIST_ID),
                "name": BENCH_LIST_NAME,
                "type": "publication",
                "mid": BENCH_MID,
                "members": {sub.subscriber_id: "Active" for sub in subscriptions},
            },
        ],
        "jobs": [
            {
                "id": int(job_id),
                "name": f"Bench job {job_id}",
                "list_id": int(BENCH_LIST_ID),
                "mid": BENCH_MID,
                "batches": sorted(int(b) for b in batches),
            }
            for job_id, batches in sorted(jobs.items())
        ],
        "sends": [
            {
                "subscriber_id": int(sub.subscriber_id),
                "job_id": int(sub.job_id),
                "batch_id": int(sub.batch_id),
                "time": "2026-11-01T09:00:00Z",
            }
            for sub in subscriptions
        ],
    }
    path.write_text(json.dumps(data))
    return path


def emulator_list_retrieves(emulator: Emulator) -> int:
    """List Retrieves the emulator has answered so far (its per-call counters in ``/_emulator/state``)."""
    return int(emulator.state()["stats"]["retrieve"].get("List", 0))


def mint_token(sub: Subscription, key: str = SIGNING_KEY, locale: str = "en") -> str:
    """A signed link token as docs/ampscript.md mints it (HS256, claims of issue 4)."""
    claims = {
        "v": 1,
        "sk": sub.subscriber_key,
        "sid": sub.subscriber_id,
        "j": sub.job_id,
        "l": sub.list_id,
        "b": sub.batch_id,
        "loc": locale,
    }
    return jwt.encode(claims, key, algorithm="HS256")


# --- the app, the worker and the journal ---------------------------------------------------------------


def app_env(emulator: Emulator, database_url: str, **overrides: str) -> dict[str, str]:
    """Environment of an app or worker process talking to ``emulator``, journaling into ``database_url``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SFMC_", "GUNICORN_", "WEB_CONCURRENCY", "DATABASE_URL"))
    }
    env.update(
        {
            "SFMC_AUTH_URL": emulator.base_url,
            "SFMC_CLIENT_ID": EMULATOR_CLIENT_ID,
            "SFMC_CLIENT_SECRET": EMULATOR_CLIENT_SECRET,
            "LINK_SIGNING_KEYS": SIGNING_KEY,
            "DATABASE_URL": database_url,
            "SFMC_ACCOUNT_ID": str(BENCH_MID),
            "PUBLIC_BASE_URL": "http://127.0.0.1",
            "RATELIMIT_POST": UNLIMITED_POSTS,
            "SECURE_HSTS": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


def start_gunicorn(
    app_spec: str, port: int, env: dict[str, str], log_path: Path, extra_args: tuple[str, ...] = ()
) -> subprocess.Popen:
    """gunicorn with the project's gunicorn.conf.py serving ``app_spec`` on 127.0.0.1:``port``.

    ``extra_args`` (command-line settings, which override the config file) are for experiments only.
    """
    # Metrics files in the run's own temporary directory: a SIGKILLed master never removes its own.
    metrics_dir = log_path.parent / f"metrics-{port}"
    metrics_dir.mkdir(exist_ok=True)
    return testkit_gunicorn.start_gunicorn(
        {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
        log_path,
        port,
        args=extra_args,
        app_spec=app_spec,
        ok_only=False,
    )


def gunicorn_workers(
    master: subprocess.Popen, expected: int | None = None, timeout: float = 20.0
) -> list[int]:
    """PIDs of the workers of a gunicorn master (waits until ``expected`` of them run)."""
    deadline = time.monotonic() + timeout
    while True:
        pids = children(master.pid)
        if pids and (expected is None or len(pids) >= expected or time.monotonic() > deadline):
            return pids
        if time.monotonic() > deadline:
            raise RuntimeError("gunicorn started no worker")
        time.sleep(0.2)


def flask_cli(env: dict[str, str], *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Run ``flask --app wsgi ARGS`` in the project root and return its completed process."""
    return testkit_cli.flask_cli(env, *args, timeout=timeout)


@contextmanager
def fresh_postgres_database(server_url: str | None = None) -> Iterator[str]:
    """A new, empty database on the server at TEST_DATABASE_URL (or the local default), dropped afterwards."""
    with testkit_postgres.fresh_database(server_url, prefix="bench_") as url:
        yield url


def state_counts(status: dict[str, Any]) -> dict[str, int]:
    """The per-state counts of a ``journal status --json`` answer."""
    counts = status.get("counts", status.get("states", status))
    return {str(k): int(v) for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}


# --- reading pages -------------------------------------------------------------------------------------


def form_fields(html: str, scope: str = "list") -> list[tuple[str, str]]:
    """The fields a person submits on the landing page: defaults, the ``scope`` choice, no reason.

    Read from the page itself (lxml.html) so that the benchmarks post exactly what a browser would.
    """
    import lxml.html

    document = lxml.html.fromstring(html)
    forms = [form for form in document.forms if (form.method or "GET").upper() == "POST"]
    if not forms:
        raise RuntimeError("the landing page has no POST form")
    form = forms[0]
    fields: list[tuple[str, str]] = []
    radios: dict[str, list[str]] = {}
    for element in form.inputs:
        name = element.get("name")
        if not name:
            continue
        kind = (element.get("type") or "text").lower()
        if kind == "radio":
            radios.setdefault(name, []).append(element.get("value") or "")
            continue
        if kind in ("submit", "button", "checkbox", "image", "reset", "file"):
            continue
        if element.tag in ("select", "textarea"):
            continue
        fields.append((name, element.get("value") or ""))
    for name, values in radios.items():
        wanted = [value for value in values if value == scope]
        if name == "scope" or wanted:
            fields.append((name, wanted[0] if wanted else values[0]))
    return fields


def percentile(values: Iterable[float], fraction: float) -> float:
    """The ``fraction`` percentile (nearest rank) of ``values``; 0.0 for none."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]
