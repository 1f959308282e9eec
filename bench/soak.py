"""Fault-injection soak: many unsubscribe POSTs against a failing Marketing Cloud while we kill the app.

    .venv/bin/python -m bench.soak [--db sqlite|postgres] [--requests 10000] [--kills 2] [--clients 32]

The emulator fails a large share of SOAP calls at random (HTTP 500 outage, timeouts that are processed but
answered too late, Token Expired, Rate Limited, dropped connections). Client threads (requests.Session)
POST the landing page's form for distinct subscriptions; the app (every gunicorn process) and the journal
worker (``flask journal deliver --forever``) are each killed with SIGKILL ``--kills`` times during the load
and restarted. Then the faults are switched off and the worker drains the journal. Every subscription the
app accepted (2xx page) must show up in the emulator's UnsubEvents: the script prints accepted, delivered,
lost, duplicates in Marketing Cloud and 5xx seen by clients, and exits 1 when anything was lost.

``--db postgres`` runs two app processes and two workers on one fresh PostgreSQL database (created on the
server at TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test, and dropped afterwards).
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import requests

from bench import _common as common

FAULTS = {
    "error_rate": 0.5,
    "errors": ["outage", "timeout", "token_expired", "rate_limited", "drop"],
    # Longer than SFMC_TIMEOUT below: the call is processed by "Marketing Cloud" but our client gives up,
    # the case where a retry may duplicate an event.
    "timeout_ms": 3000,
    "seed": 20261125,
}
#: Documented settings, shortened so that minutes of production retries fit into the soak's few minutes:
#: a killed worker's claim (lease) ends after 15 s instead of 120 s, retries wait 1 s doubling up to 20 s
#: instead of 10 s up to an hour, the worker polls every 0.5 s. Nothing else differs from production.
TIME_COMPRESSION = {
    "SFMC_TIMEOUT": "2",
    "DELIVERY_LEASE_SECONDS": "15",
    "DELIVERY_BACKOFF_BASE_SECONDS": "1",
    "DELIVERY_BACKOFF_MAX_SECONDS": "20",
    "WORKER_POLL_SECONDS": "0.5",
}
MAX_TRIES = 20


@dataclass
class Tally:
    """What the clients saw, updated from many threads under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: set[int] = field(default_factory=set)
    pages: Counter = field(default_factory=Counter)
    posts: int = 0
    server_errors: int = 0
    connection_errors: int = 0
    rate_limited: int = 0
    other_4xx: Counter = field(default_factory=Counter)
    given_up: int = 0
    finished: int = 0
    latencies: list[float] = field(default_factory=list)


def classify_page(html: str) -> str:
    """Which result page the app answered with (English pages: the clients send Accept-Language: en)."""
    text = html.lower()
    if "processing" in text or "within minutes" in text or "we have your request" in text:
        return "processing"
    if "already" in text:
        return "already"
    if "could not find" in text:
        return "not found"
    if "unsubscribed" in text:
        return "unsubscribed"
    return "other"


class Cluster:
    """The app's gunicorn instances and journal workers, killable and restartable by index."""

    def __init__(self, tmp_path: Path, env: dict[str, str], apps: int, workers: int) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.ports = [common.free_port() for _ in range(apps)]
        self.apps: list[subprocess.Popen | None] = [None] * apps
        self.workers: list[subprocess.Popen | None] = [None] * workers
        self.app_kills = 0
        self.worker_kills = 0

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def start_app(self, index: int) -> None:
        log = self.tmp_path / f"app{index}.log"
        self.apps[index] = common.start_gunicorn("wsgi:app", self.ports[index], self.env, log)

    def start_worker(self, index: int) -> None:
        self.workers[index] = common.start_worker(self.env, self.tmp_path / f"worker{index}.log")

    def start(self) -> None:
        for index in range(len(self.apps)):
            self.start_app(index)
        for index in range(len(self.workers)):
            self.start_worker(index)

    def kill_app(self, index: int) -> None:
        """SIGKILL the gunicorn master and all its workers at once (a crash), then start it again."""
        process = self.apps[index]
        assert process is not None
        common.kill_group(process)
        self.app_kills += 1
        time.sleep(0.5)
        self.start_app(index)

    def kill_worker(self, index: int) -> None:
        process = self.workers[index]
        assert process is not None
        common.kill_group(process)
        self.worker_kills += 1
        time.sleep(0.2)
        self.start_worker(index)

    def check_alive(self) -> None:
        """A worker that exits on its own (instead of being killed) is a finding, not something to hide."""
        for index, process in enumerate(self.workers):
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"worker {index} exited by itself with {process.returncode}")

    def stop(self) -> None:
        for process in [*self.workers, *self.apps]:
            if process is not None:
                common.stop_group(process)


@dataclass
class SoakReport:
    """The figures the soak prints; ``lost`` must be 0."""

    db: str
    requests: int
    accepted: int
    delivered: int
    lost: int
    duplicates: int
    server_errors: int
    connection_errors: int
    rate_limited: int
    other_4xx: dict[str, int]
    given_up: int
    app_kills: int
    worker_kills: int
    faults_injected: int
    journal_states: dict[str, int]
    possible_duplicates: int
    pages: dict[str, int]
    load_seconds: float
    drain_seconds: float
    p50_ms: float
    p99_ms: float
    lost_examples: list[str]

    def lines(self) -> list[str]:
        return [
            f"database                 {self.db}",
            f"POSTs planned            {self.requests}",
            f"accepted (2xx page)      {self.accepted}   pages: {dict(self.pages)}",
            f"delivered (in MC events) {self.delivered}",
            f"lost                     {self.lost}" + (f"   e.g. {self.lost_examples}" if self.lost else ""),
            f"duplicates in MC         {self.duplicates}   (journal: {self.possible_duplicates} possible: "
            "retries of a call that may have arrived)",
            f"5xx seen by clients      {self.server_errors}",
            f"connection errors        {self.connection_errors}   (while the app was killed; retried)",
            f"429 / other 4xx          {self.rate_limited} / {self.other_4xx}",
            f"given up after retries   {self.given_up}",
            f"SIGKILLs app / worker    {self.app_kills} / {self.worker_kills}",
            f"faults injected by MC    {self.faults_injected}",
            f"journal states           {self.journal_states}",
            f"client latency p50/p99   {self.p50_ms:.0f} ms / {self.p99_ms:.0f} ms",
            f"load / drain time        {self.load_seconds:.0f} s / {self.drain_seconds:.0f} s",
        ]


def _client(
    urls: list[str],
    jobs: queue.Queue,
    tokens: list[str],
    body: str,
    tally: Tally,
    slot: int,
) -> None:
    """One person after another: POST the form until the app accepts it (a person presses again)."""
    session = requests.Session()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "en"}
    while True:
        try:
            index = jobs.get_nowait()
        except queue.Empty:
            return
        accepted = False
        for attempt in range(MAX_TRIES):
            url = urls[(slot + attempt) % len(urls)]
            started = time.monotonic()
            try:
                response = session.post(
                    f"{url}/unsubscribe", params={"t": tokens[index]}, data=body, headers=headers, timeout=30
                )
            except requests.RequestException:
                with tally.lock:
                    tally.posts += 1
                    tally.connection_errors += 1
                session.close()
                session = requests.Session()
                time.sleep(0.2 * (attempt + 1))
                continue
            elapsed = time.monotonic() - started
            with tally.lock:
                tally.posts += 1
                tally.latencies.append(elapsed)
                if 200 <= response.status_code < 300:
                    tally.accepted.add(index)
                    tally.pages[classify_page(response.text)] += 1
                    accepted = True
                elif response.status_code >= 500:
                    tally.server_errors += 1
                elif response.status_code == 429:
                    tally.rate_limited += 1
                else:
                    tally.other_4xx[str(response.status_code)] += 1
            if accepted or (400 <= response.status_code < 500 and response.status_code != 429):
                break
            time.sleep(0.2 * (attempt + 1))
        with tally.lock:
            tally.finished += 1
            if not accepted:
                tally.given_up += 1


def _kill_plan(kills: int) -> list[tuple[float, str, int]]:
    """Progress fractions at which to kill: apps and workers interleaved, spread over the load."""
    plan: list[tuple[float, str, int]] = []
    for k in range(kills):
        plan.append(((k + 0.4) / (kills + 0.5), "app", k))
        plan.append(((k + 0.8) / (kills + 0.5), "worker", k))
    return sorted(plan)


def _wait_drained(env: dict[str, str], cluster: Cluster, timeout: float) -> dict:
    """Poll the journal until nothing is pending (or ``timeout``); returns the last ``journal status``."""
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        cluster.check_alive()
        status = common.journal_status(env)
        if common.state_counts(status).get("pending", 0) == 0:
            return status
        time.sleep(1.0)
    return status


def run_soak(
    db: str = "sqlite",
    requests_total: int = 10000,
    kills: int = 2,
    clients: int = 32,
    drain_timeout: float = 300.0,
    progress: bool = True,
) -> SoakReport:
    """Run the whole soak and return its figures (``bench/soak.py`` prints them; the short test asserts)."""
    say = print if progress else (lambda *_a, **_k: None)
    with contextlib.ExitStack() as stack:
        tmp_path = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-soak-")))
        say(f"bench/soak.py: logs in {tmp_path}", flush=True)
        subscriptions = common.generate_subscriptions(requests_total)
        data_file = common.write_emulator_data(tmp_path / "emulator-data.json", subscriptions)
        emulator = common.start_emulator(tmp_path / "emulator.log", data_file)
        stack.callback(emulator.stop)
        if db == "postgres":
            database_url = stack.enter_context(common.fresh_postgres_database())
            apps = workers = 2
        else:
            database_url = f"sqlite:///{tmp_path / 'journal.sqlite3'}"
            apps = workers = 1
        env = common.app_env(emulator, database_url, LOG_LEVEL="WARNING", **TIME_COMPRESSION)
        cluster = Cluster(tmp_path, env, apps, workers)
        stack.callback(cluster.stop)
        cluster.start()

        tokens = [common.mint_token(sub) for sub in subscriptions]
        landing = requests.get(f"{cluster.urls()[0]}/unsubscribe", params={"t": tokens[0]}, timeout=10)
        landing.raise_for_status()
        body = urlencode(common.form_fields(landing.text, scope="list"))

        emulator.faults(**FAULTS)
        tally = Tally()
        jobs: queue.Queue = queue.Queue()
        for index in range(requests_total):
            jobs.put(index)
        threads = [
            threading.Thread(
                target=_client, args=(cluster.urls(), jobs, tokens, body, tally, slot), daemon=True
            )
            for slot in range(clients)
        ]
        load_started = time.monotonic()
        for thread in threads:
            thread.start()
        plan = _kill_plan(kills)
        last_report = time.monotonic()
        while any(thread.is_alive() for thread in threads):
            done_fraction = tally.finished / requests_total
            while plan and done_fraction >= plan[0][0]:
                _, what, k = plan.pop(0)
                if what == "app":
                    cluster.kill_app(k % apps)
                else:
                    cluster.kill_worker(k % workers)
                say(f"  SIGKILL {what} {k % (apps if what == 'app' else workers)} at {done_fraction:.0%}")
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                say(f"  {tally.finished}/{requests_total} done, {len(tally.accepted)} accepted", flush=True)
            time.sleep(0.05)
        # Kills not yet made (the load ended first) still happen: the soak promises them.
        for _, what, k in plan:
            cluster.kill_app(k % apps) if what == "app" else cluster.kill_worker(k % workers)
        load_seconds = time.monotonic() - load_started

        say("load done; faults off, waiting for the worker to drain the journal", flush=True)
        emulator.faults()
        drain_started = time.monotonic()
        journal_status = _wait_drained(env, cluster, drain_timeout)
        drain_seconds = time.monotonic() - drain_started
        state = emulator.state()

    events = Counter(
        (str(event.get("subscriber_key")), str(event.get("job_id"))) for event in state.get("events", [])
    )
    accepted_keys = {
        (subscriptions[i].subscriber_key, subscriptions[i].job_id): i for i in sorted(tally.accepted)
    }
    lost = [key for key in accepted_keys if key not in events]
    latencies_ms = [x * 1000 for x in tally.latencies]
    return SoakReport(
        db=db,
        requests=requests_total,
        accepted=len(tally.accepted),
        delivered=sum(1 for key in accepted_keys if key in events),
        lost=len(lost),
        duplicates=sum(count - 1 for count in events.values() if count > 1),
        server_errors=tally.server_errors,
        connection_errors=tally.connection_errors,
        rate_limited=tally.rate_limited,
        other_4xx=dict(tally.other_4xx),
        given_up=tally.given_up,
        app_kills=cluster.app_kills,
        worker_kills=cluster.worker_kills,
        faults_injected=int(state.get("stats", {}).get("faults_injected", 0)),
        journal_states=common.state_counts(journal_status),
        possible_duplicates=int(journal_status.get("possible_duplicates", 0)),
        pages=dict(tally.pages),
        load_seconds=load_seconds,
        drain_seconds=drain_seconds,
        p50_ms=common.percentile(latencies_ms, 0.50),
        p99_ms=common.percentile(latencies_ms, 0.99),
        lost_examples=[f"{key}/job {job}" for key, job in lost[:5]],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--requests", type=int, default=10000, help="distinct unsubscribe POSTs (default 10000)"
    )
    parser.add_argument(
        "--kills", type=int, default=2, help="SIGKILLs of the app and of the worker (default 2)"
    )
    parser.add_argument("--clients", type=int, default=32, help="concurrent client threads (default 32)")
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="seconds to wait for the drain")
    args = parser.parse_args(argv)
    started = time.monotonic()
    report = run_soak(args.db, args.requests, args.kills, args.clients, args.drain_timeout)
    print()
    print("\n".join(report.lines()))
    print(f"total time               {time.monotonic() - started:.0f} s")
    ok = report.lost == 0 and report.accepted > 0
    print("RESULT: nothing lost" if ok else f"RESULT: {report.lost} accepted unsubscribes LOST")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
