"""Fault-injection soak: many unsubscribe POSTs against a failing Marketing Cloud while we kill the app.

    .venv/bin/python -m bench.soak [--db sqlite|postgres] [--requests 10000] [--kills 2] [--clients 32]
                                   [--drops 10] [--sabotage 0.9]

The emulator fails a large share of SOAP calls at random (HTTP 500 outage, timeouts that are processed but
answered too late, Token Expired, Login failed, Rate Limited, an nginx 502 page, dropped connections).
Client threads (``bench/_soak_clients.py``) POST for distinct people: the form for "only this list" or
"all marketing email", RFC 8058 one-click, free text with a NUL byte or in Latin-1 (escaped and raw). The
app (every gunicorn process) and the journal worker (``flask journal deliver --forever``) are each killed
with SIGKILL ``--kills`` times during the load and restarted; on PostgreSQL the app's and workers'
database connections are ended ``--drops`` times as well. Then the faults are switched off and the worker
drains the journal. The script prints its figures and exits 1 when ``bench._soak_verdict.verdict`` finds
anything: a lost unsubscribe, a 5xx whose request the journal did not hold, anyone refused or given up,
anything not drained, fewer kills, drops or faults than asked, re-executions the journal did not count.

``--db postgres`` runs two app processes and two workers on one fresh PostgreSQL database (created on the
server at TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test, and dropped afterwards).
``--sabotage 0.9`` puts a proxy in front of the app that answers 90 % of POSTs with a 503 "try again"
page without forwarding them: the soak's self-check, which must fail.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import requests

from bench import _common as common
from bench import _soak_clients as soak_clients
from bench._soak_cluster import Cluster
from bench._soak_faults import ConnectionDropper, SabotageProxy
from bench._soak_verdict import (
    SoakReport,
    first_journaled,
    judge_server_errors,
    marketing_cloud_figures,
    verdict,
)

FAULT_KINDS = ["outage", "timeout", "token_expired", "login_failed", "rate_limited", "drop", "html_502"]
FAULTS = {
    "error_rate": 0.5,
    "errors": FAULT_KINDS,
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
DEFAULT_DROPS = {"sqlite": 0, "postgres": 10}


def _event_plan(kills: int, drops: int) -> list[tuple[float, str, int]]:
    """Progress fractions at which to kill (apps and workers interleaved) and to drop the database
    connections, spread over the load."""
    plan: list[tuple[float, str, int]] = []
    for k in range(kills):
        plan.append(((k + 0.4) / (kills + 0.5), "app", k))
        plan.append(((k + 0.8) / (kills + 0.5), "worker", k))
    for k in range(drops):
        plan.append(((k + 0.5) / (drops + 0.5), "drop", k))
    return sorted(plan)


class _Disturber:
    """Makes one planned event: a SIGKILL of an app or a worker (round robin), or a connection drop."""

    def __init__(self, cluster: Cluster, dropper: ConnectionDropper | None) -> None:
        self.cluster = cluster
        self.dropper = dropper

    def __call__(self, what: str, k: int) -> str:
        if what == "app":
            index = k % len(self.cluster.apps)
            self.cluster.kill_app(index)
            return f"SIGKILL app {index}"
        if what == "worker":
            index = k % len(self.cluster.workers)
            self.cluster.kill_worker(index)
            return f"SIGKILL worker {index}"
        assert self.dropper is not None
        return f"ended {self.dropper.drop()} database connections"


def _load(
    people: soak_clients.People,
    clients: int,
    plan: list[tuple[float, str, int]],
    disturb: _Disturber,
    say: Callable[..., None],
) -> float:
    """Run ``clients`` client threads until every person is done, making each planned event when the share
    of people done reaches it; returns the load's duration in seconds."""
    total = people.jobs.qsize()
    tally = people.tally
    threads = [
        threading.Thread(target=soak_clients.run_client, args=(people, slot), daemon=True)
        for slot in range(clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    last_report = time.monotonic()
    while any(thread.is_alive() for thread in threads):
        done_fraction = tally.finished / total
        while plan and done_fraction >= plan[0][0]:
            _, what, k = plan.pop(0)
            say(f"  {disturb(what, k)} at {done_fraction:.0%}", flush=True)
        disturb.cluster.restart_dead()
        if time.monotonic() - last_report > 10:
            last_report = time.monotonic()
            say(f"  {tally.finished}/{total} done, {len(tally.accepted)} accepted", flush=True)
        time.sleep(0.05)
    # Kills and drops not yet made (the load ended first) still happen: the soak promises them.
    for _, what, k in plan:
        say(f"  {disturb(what, k)} after the load", flush=True)
    return time.monotonic() - started


def _wait_drained(env: dict[str, str], cluster: Cluster, timeout: float) -> dict:
    """Poll the journal until nothing is pending (or ``timeout``); returns the last ``journal status``."""
    deadline = time.monotonic() + timeout
    status: dict = {}
    while time.monotonic() < deadline:
        cluster.restart_dead()
        status = common.journal_status(env)
        if common.state_counts(status).get("pending", 0) == 0:
            return status
        time.sleep(1.0)
    return status


def _journal_rows(env: dict[str, str]) -> list[dict]:
    """Every journal entry (``flask journal export --format jsonl``): who, when created, in what state."""
    done = common.flask_cli(env, "journal", "export", "--format", "jsonl", timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"journal export failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def run_soak(
    db: str = "sqlite",
    requests_total: int = 10000,
    kills: int = 2,
    clients: int = 32,
    drain_timeout: float = 300.0,
    progress: bool = True,
    drops: int | None = None,
    sabotage: float = 0.0,
) -> SoakReport:
    """Run the whole soak and return its figures (``bench/soak.py`` prints them; the short test asserts)."""
    say = print if progress else (lambda *_a, **_k: None)
    drops = DEFAULT_DROPS[db] if drops is None else drops
    if drops and db != "postgres":
        raise ValueError("--drops needs --db postgres (SQLite has no connections to end)")
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
        dropper = ConnectionDropper(database_url) if db == "postgres" else None
        env = common.app_env(emulator, database_url, LOG_LEVEL="WARNING", **TIME_COMPRESSION)
        cluster = Cluster(tmp_path, env, apps, workers)
        stack.callback(cluster.stop)
        cluster.start()
        urls = cluster.urls()
        if sabotage:
            proxies = [SabotageProxy(url, sabotage) for url in urls]
            for proxy in proxies:
                stack.callback(proxy.stop)
            urls = [proxy.url for proxy in proxies]

        tokens = [common.mint_token(sub) for sub in subscriptions]
        landing = requests.get(f"{cluster.urls()[0]}/unsubscribe", params={"t": tokens[0]}, timeout=10)
        landing.raise_for_status()
        form = urlencode(common.form_fields(landing.text, scope="list"))
        bodies = {kind: soak_clients.body_for(kind, form) for kind in set(soak_clients.KINDS)}

        emulator.faults(**FAULTS)
        tally = soak_clients.Tally()
        jobs: queue.Queue = queue.Queue()
        for index in range(requests_total):
            jobs.put(index)
        people = soak_clients.People(urls=urls, tokens=tokens, bodies=bodies, jobs=jobs, tally=tally)
        load_seconds = _load(people, clients, _event_plan(kills, drops), _Disturber(cluster, dropper), say)

        say("load done; faults off, waiting for the worker to drain the journal", flush=True)
        emulator.faults()
        calls_under_faults = int(emulator.state()["stats"]["soap_calls"])
        drain_started = time.monotonic()
        journal_status = _wait_drained(env, cluster, drain_timeout)
        drain_seconds = time.monotonic() - drain_started
        state = emulator.state()
        rows = _journal_rows(env)

    return _report(
        db=db,
        subscriptions=subscriptions,
        tally=tally,
        cluster=cluster,
        dropper=dropper,
        state=state,
        rows=rows,
        journal_status=journal_status,
        asked={"kills": kills, "drops": drops, "sabotage": sabotage},
        seconds=(load_seconds, drain_seconds),
        calls_under_faults=calls_under_faults,
    )


def _report(
    *,
    db: str,
    subscriptions: list[common.Subscription],
    tally: soak_clients.Tally,
    cluster: Cluster,
    dropper: ConnectionDropper | None,
    state: dict,
    rows: list[dict],
    journal_status: dict,
    asked: dict,
    seconds: tuple[float, float],
    calls_under_faults: int,
) -> SoakReport:
    """The figures of a finished run, from what the clients saw, Marketing Cloud and the journal."""
    mc = marketing_cloud_figures(state, common.BENCH_LIST_ID)
    lost: list[str] = []
    for index in sorted(tally.accepted):
        sub = subscriptions[index]
        if soak_clients.kind_of(index) in soak_clients.ALL_EMAIL_KINDS:
            done = sub.subscriber_key in mc.master_unsubscribed
        else:
            done = (sub.subscriber_key, sub.job_id) in mc.events
        if not done:
            lost.append(f"{sub.subscriber_key}/job {sub.job_id} ({soak_clients.kind_of(index)})")
    person_of = {sub.subscriber_key: index for index, sub in enumerate(subscriptions)}
    latencies_ms = [x * 1000 for x in tally.latencies]
    return SoakReport(
        db=db,
        requests=len(subscriptions),
        accepted=len(tally.accepted),
        delivered=len(tally.accepted) - len(lost),
        lost=len(lost),
        server_errors=judge_server_errors(tally.server_errors, first_journaled(rows, person_of)),
        retries_after_5xx=tally.retries_after_5xx,
        connection_errors=tally.connection_errors,
        rate_limited=tally.rate_limited,
        refused=dict(tally.refused),
        given_up=tally.given_up,
        kills_asked=asked["kills"],
        app_kills=cluster.app_kills,
        worker_kills=cluster.worker_kills,
        died_by_themselves=dict(cluster.died),
        drops_asked=asked["drops"],
        drops_done=dropper.drops if dropper else 0,
        backends_terminated=dropper.backends if dropper else 0,
        faults_asked=list(FAULT_KINDS),
        fault_rate_asked=float(FAULTS["error_rate"]),
        soap_calls=calls_under_faults,
        faults_by_kind=mc.faults_by_kind,
        journal_states=common.state_counts(journal_status),
        possible_duplicates=int(journal_status.get("possible_duplicates", 0)),
        re_executions=mc.re_executions,
        duplicate_events=mc.duplicate_events,
        pages=dict(tally.pages),
        load_seconds=seconds[0],
        drain_seconds=seconds[1],
        p50_ms=common.percentile(latencies_ms, 0.50),
        p99_ms=common.percentile(latencies_ms, 0.99),
        lost_examples=lost[:5],
        sabotage=asked["sabotage"],
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
    parser.add_argument(
        "--drops",
        type=int,
        default=None,
        help="times to end the app's PostgreSQL connections during the load (default 10 on postgres)",
    )
    parser.add_argument("--clients", type=int, default=32, help="concurrent client threads (default 32)")
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="seconds to wait for the drain")
    parser.add_argument(
        "--sabotage",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="self-check: a proxy answers this share of POSTs with 503 'try again' unforwarded (must fail)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    report = run_soak(
        args.db,
        args.requests,
        args.kills,
        args.clients,
        args.drain_timeout,
        drops=args.drops,
        sabotage=args.sabotage,
    )
    print()
    print("\n".join(report.lines()))
    print(f"total time               {time.monotonic() - started:.0f} s")
    failures = verdict(report)
    if not failures:
        print("RESULT: passed: nothing lost, every 5xx journaled, everyone served, journal drained")
        return 0
    print("RESULT: FAILED")
    for failure in failures:
        print(f"  - {failure}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
