"""Preference-change soak: people change their lists while Marketing Cloud is down and we kill the app.

    .venv/bin/python -m bench.soak_preferences [--db sqlite|postgres] [--people 200] [--saves 4]
                                               [--kills 1] [--clients 16] [--sabotage-order]

Every person is on three public publication lists besides the email's own. Before Marketing Cloud goes
down each GETs their manage page (``wsgi:app`` under gunicorn) and keeps its lists form
(``bench/_prefs_pages.py``). Then each makes ``--saves`` saves one after another (the next only once the
last was acknowledged, as on a page): real form POSTs to ``/manage?t=…`` that change one or two boxes,
each change the opposite of that list's last one (unsubscribe, resubscribe, unsubscribe, …), while the
emulator fails **every** SOAP call (Marketing Cloud down: outage, timeouts answered too late but processed,
dropped connections, Rate Limited, token refused, an nginx 502); the app and the journal worker are each
SIGKILLed ``--kills`` times and restarted. A person presses again after a refused connection or a 5xx.
Then Marketing Cloud comes back and the worker drains. The verdict (``bench/_prefs_verdict.py``) fails
the run on an acknowledged change lost, a membership that is not the person's last change, a person's
changes of a list reaching Marketing Cloud (or the journal) out of order, anything left pending, dead or
rejected, a 5xx other than a clear 503 "try again", fewer kills than asked, or a call that got through
while Marketing Cloud was meant to be down. ``--db postgres`` runs two apps and two workers on one fresh
PostgreSQL database (on the server at TEST_DATABASE_URL, dropped afterwards), killed round robin.
``--sabotage-order`` makes every person post their first two saves the other way round (what they meant
stays the plan): the verdict must then fail on order (``tests/soak/test_preferences_soak.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import queue
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench import _common as common
from bench._prefs_pages import Post, form_posts, recorded, warm_up
from bench._prefs_verdict import PrefsReport, judge_order, verdict
from bench._soak_cluster import Cluster
from bench.soak import TIME_COMPRESSION, _event_plan, _journal_rows, _wait_drained

#: The lists every person is on and changes (besides the email's own list, ``common.BENCH_LIST_ID``,
#: which stays ticked: its unsubscribe is a LogUnsubEvent, outside the emulator's ``updates``).
EXTRA_LISTS = ("8000002", "8000003", "8000004")
LISTS = EXTRA_LISTS
KEYS = [common.SIGNING_KEY]
#: The warm-up GETs every person's page at once; the per-process read budget (a scanner guard with its own
#: tests) would answer most with the plain form, which has no lists form to keep.
WARM_UP_BUDGET = {"MANAGE_READ_RATE": "1000", "MANAGE_READ_BURST": "1000"}
DOWN = {
    "error_rate": 1.0,
    "errors": ["outage", "timeout", "drop", "rate_limited", "token_expired", "login_failed", "html_502"],
    "timeout_ms": 3000,
    "seed": 20261202,
}
MAX_TRIES = 20
Save = list[tuple[str, str]]  # (list ID, "off" | "on")


def plan_saves(people: int, saves: int, seed: int = 12) -> list[list[Save]]:
    """Each person's saves: one or two lists each, every change the opposite of that list's last."""
    rng = random.Random(seed)
    plans: list[list[Save]] = []
    for _ in range(people):
        subscribed = dict.fromkeys(LISTS, True)
        person: list[Save] = []
        for _ in range(saves):
            chosen = rng.sample(LISTS, rng.choice((1, 1, 2)))
            person.append([(list_id, "off" if subscribed[list_id] else "on") for list_id in chosen])
            for list_id in chosen:
                subscribed[list_id] = not subscribed[list_id]
        plans.append(person)
    return plans


def write_data(path: Path, subscriptions: list[common.Subscription]) -> Path:
    """The bench data set, every person also Active on ``EXTRA_LISTS`` (public publication lists)."""
    common.write_emulator_data(path, subscriptions)
    data = json.loads(path.read_text())
    for n, list_id in enumerate(EXTRA_LISTS, start=2):
        data["lists"].append(
            {
                "id": int(list_id),
                "name": f"Bench list {n}",
                "type": "publication",
                "mid": common.BENCH_MID,
                "members": {sub.subscriber_id: "Active" for sub in subscriptions},
            }
        )
    path.write_text(json.dumps(data))
    return path


@dataclass
class Tally:
    """What the people saw (from many threads, under one lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: dict[int, int] = field(default_factory=dict)  # person → saves acknowledged
    try_again_503: int = 0
    unclear_5xx: int = 0
    connection_errors: int = 0
    refused: int = 0
    given_up: int = 0
    finished: int = 0


def _person(urls: list[str], posts: list[Post], index: int, tally: Tally) -> None:
    """Send ``posts`` one after another, each until acknowledged; stop at a refusal or after MAX_TRIES."""
    session = requests.Session()
    for action, body in posts:
        for attempt in range(MAX_TRIES):
            url = urls[(index + attempt) % len(urls)]
            try:
                answer = session.post(f"{url}{action}", data=body, timeout=30)
            except requests.RequestException:
                with tally.lock:
                    tally.connection_errors += 1
                session = requests.Session()
                time.sleep(0.2 * (attempt + 1))
                continue
            with tally.lock:
                if answer.status_code == 200 and recorded(answer):
                    tally.acknowledged[index] = tally.acknowledged.get(index, 0) + 1
                    break
                if answer.status_code == 503 and "try again" in answer.text.lower():
                    tally.try_again_503 += 1
                elif answer.status_code >= 500:
                    tally.unclear_5xx += 1
                else:
                    tally.refused += 1
                    tally.finished += 1
                    return
            time.sleep(0.2 * (attempt + 1))
        else:
            with tally.lock:
                tally.given_up += 1
                tally.finished += 1
            return
    with tally.lock:
        tally.finished += 1


def _load(
    cluster: Cluster,
    tally: Tally,
    people: list[list[Post]],
    clients: int,
    kills: int,
) -> float:
    """The people, ``clients`` at a time, with the kills spread over the load; returns its seconds."""
    jobs: queue.Queue = queue.Queue()
    for index in range(len(people)):
        jobs.put(index)

    def client() -> None:
        while True:
            try:
                index = jobs.get_nowait()
            except queue.Empty:
                return
            _person(cluster.urls(), people[index], index, tally)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    plan = _event_plan(kills, 0)  # (share of people done, "app" | "worker", k), interleaved
    while any(thread.is_alive() for thread in threads):
        while plan and tally.finished / len(people) >= plan[0][0]:
            _, what, k = plan.pop(0)
            _kill(cluster, what, k)
        cluster.restart_dead()
        time.sleep(0.05)
    for _, what, k in plan:  # the kills the load ended too soon for still happen
        _kill(cluster, what, k)
    return time.monotonic() - started


def _kill(cluster: Cluster, what: str, k: int) -> None:
    """SIGKILL an app (gunicorn's master and workers) or a journal worker, round robin, and restart it."""
    if what == "app":
        cluster.kill_app(k % len(cluster.apps))
    else:
        cluster.kill_worker(k % len(cluster.workers))


def run(
    db: str = "sqlite",
    people: int = 200,
    saves: int = 4,
    kills: int = 1,
    clients: int = 16,
    drain_timeout: float = 180.0,
    progress: bool = True,
    sabotage_order: bool = False,
) -> PrefsReport:
    """The whole soak; returns its figures (``main`` prints them, the short test asserts the verdict)."""
    say = print if progress else (lambda *_a, **_k: None)
    plans = plan_saves(people, saves)
    with contextlib.ExitStack() as stack:
        tmp_path = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-prefs-")))
        say(f"bench/soak_preferences.py: logs in {tmp_path}", flush=True)
        subscriptions = common.generate_subscriptions(people)
        emulator = common.start_emulator(
            tmp_path / "emulator.log", write_data(tmp_path / "data.json", subscriptions)
        )
        stack.callback(emulator.stop)
        if db == "postgres":  # several app machines and workers share one database
            database_url, processes = stack.enter_context(common.fresh_postgres_database()), 2
        else:
            database_url, processes = f"sqlite:///{tmp_path / 'journal.sqlite3'}", 1
        env = common.app_env(
            emulator, database_url, LOG_LEVEL="WARNING", **TIME_COMPRESSION, **WARM_UP_BUDGET
        )
        cluster = Cluster(tmp_path, env, processes, processes)
        tally = Tally()
        stack.callback(cluster.stop)
        cluster.start()
        tokens = [common.mint_token(sub) for sub in subscriptions]
        say(f"{people} people GET their manage page while Marketing Cloud is up", flush=True)
        forms = warm_up(cluster.urls()[0], tokens, KEYS, (common.BENCH_LIST_ID, *LISTS), clients)
        posts = [
            form_posts(form, token, KEYS, plan)
            for form, token, plan in zip(forms, tokens, plans, strict=True)
        ]
        if sabotage_order:
            posts = [[*person[1::-1], *person[2:]] for person in posts]

        up = emulator.state()  # the warm-up's calls, not counted as calls while down
        emulator.faults(**DOWN)
        say(f"Marketing Cloud down; {people} people make {people * saves} saves", flush=True)
        load_seconds = _load(cluster, tally, posts, clients, kills)
        down = emulator.state()
        say("load done; Marketing Cloud back, waiting for the worker to drain the journal", flush=True)
        emulator.faults()
        drain_started = time.monotonic()
        status = _wait_drained(env, cluster, drain_timeout)
        drain_seconds = time.monotonic() - drain_started
        state = emulator.state()
        rows = _journal_rows(env)

    intended: dict[tuple[str, str], list[str]] = {}
    for index, done in tally.acknowledged.items():
        key = subscriptions[index].subscriber_key
        for save in plans[index][:done]:  # what the person meant (the sabotage posts it otherwise)
            for list_id, word in save:
                intended.setdefault((key, list_id), []).append("Unsubscribed" if word == "off" else "Active")
    return PrefsReport(
        db=db,
        people=people,
        saves_planned=people * saves,
        saves_acknowledged=sum(tally.acknowledged.values()),
        order=judge_order(intended, rows, state),
        unclear_5xx=tally.unclear_5xx,
        try_again_503=tally.try_again_503,
        connection_errors=tally.connection_errors,
        refused=tally.refused,
        given_up=tally.given_up,
        kills_asked=kills,
        app_kills=cluster.app_kills,
        worker_kills=cluster.worker_kills,
        died_by_themselves=dict(cluster.died),
        soap_calls_under_faults=int(down["stats"]["soap_calls"]) - int(up["stats"]["soap_calls"]),
        faults_under_faults=int(down["stats"]["faults_injected"]) - int(up["stats"]["faults_injected"]),
        calls_through_while_down=_calls_through(down) - _calls_through(up),
        journal_states=common.state_counts(status),
        possible_duplicates=int(status.get("possible_duplicates", 0)),
        load_seconds=load_seconds,
        drain_seconds=drain_seconds,
    )


def _calls_through(state: dict) -> int:
    """Calls the emulator processed without a fault: every processed call (Execute, Update, Retrieve)
    minus the ``timeout`` faults (processed, answered too late). A call counted in ``soap_calls`` but
    never answered (its sender was SIGKILLed mid-request) is neither, so it is no false alarm."""
    stats = state["stats"]
    processed = stats["execute"] + stats["update"] + sum(stats.get("retrieve", {}).values())
    return processed - int(state.get("faults_injected_by_kind", {}).get("timeout", 0))


def main(argv: list[str] | None = None) -> int:
    """Run the soak, print its figures; exit 1 when the verdict finds anything."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--saves", type=int, default=4, help="saves per person, one after another")
    parser.add_argument("--kills", type=int, default=1, help="SIGKILLs of the app and of the worker")
    parser.add_argument("--clients", type=int, default=16, help="people posting at once")
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    parser.add_argument(
        "--sabotage-order", action="store_true", help="post each person's first two saves swapped"
    )
    args = parser.parse_args(argv)
    report = run(
        args.db,
        args.people,
        args.saves,
        args.kills,
        args.clients,
        args.drain_timeout,
        sabotage_order=args.sabotage_order,
    )
    print()
    print("\n".join(report.lines()))
    failures = verdict(report)
    if not failures:
        print("RESULT: passed: nothing lost, every change in order, the last change of each list in force")
        return 0
    print("RESULT: FAILED")
    for failure in failures:
        print(f"  - {failure}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
