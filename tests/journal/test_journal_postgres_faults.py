"""PostgreSQL going away under load, through real HTTP (gunicorn): dropped sessions and a server restart.

- Every session of the test's database is ended (``pg_terminate_backend``) again and again during a burst
  of POSTs: no 500, every POST answered, every 200 journaled.
- A private PostgreSQL (initdb in a temporary folder, never the shared server) is stopped during a burst and
  started again (down for longer than a POST waits): every answer is 200 and journaled, or 503 "try again"
  in the person's language (German here); never 500, never a confirmation that is not in the journal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from app.identity import Recipient
from app.links import LinkClaims, mint
from tests.conftest import IN_CI, TEST_SIGNING_KEY, free_port
from tests.ops.ops_helpers import app_environment, start_gunicorn, stop_process

pytestmark = pytest.mark.postgres

PG_BIN = Path("/usr/lib/postgresql/15/bin")
NEWSLETTER = {"job_id": "18099", "list_id": "17914", "batch_id": "0"}
GERMAN_TRY_AGAIN = "Bitte senden Sie sie in einem Moment noch einmal"


def _post(base_url: str, key: str) -> tuple[str, int, str]:
    token = mint(LinkClaims(Recipient(subscriber_key=key, **NEWSLETTER)), TEST_SIGNING_KEY)
    try:
        response = requests.post(
            f"{base_url}/unsubscribe?t={token}",
            data={"scope": "list", "reason": "too_many"},
            headers={"Accept-Language": "de"},
            timeout=30,
        )
    except requests.RequestException as exc:
        return key, 0, type(exc).__name__
    return key, response.status_code, response.text


def _journaled_keys(database_url: str) -> set[str]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return {row[0] for row in conn.execute("SELECT subscriber_key FROM journal_entries")}


def _gunicorn_on(emulator: Any, tmp_path: Path, database_url: str) -> Any:
    env = app_environment(
        emulator,
        tmp_path,
        DATABASE_URL=database_url,
        RATELIMIT_POST="100000 per minute",
        INLINE_DELIVERY_BUDGET="1",
        GUNICORN_THREADS="4",
    )
    return start_gunicorn(env, tmp_path, workers=2)


def test_posts_survive_postgresql_ending_the_apps_sessions_again_and_again(
    emulator: Any, postgres_url: str, tmp_path: Path
) -> None:
    import psycopg

    server = _gunicorn_on(emulator, tmp_path, postgres_url)
    database = postgres_url.rpartition("/")[2]
    stop = threading.Event()
    terminated: list[int] = []

    def terminate_sessions() -> None:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            while not stop.wait(0.25):
                rows = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                ).fetchall()
                terminated.append(len(rows))

    try:
        assert _post(server.base_url, "warm-up")[1] == 200  # the schema exists, connections are pooled
        killer = threading.Thread(target=terminate_sessions)
        killer.start()
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                answers = list(pool.map(lambda n: _post(server.base_url, f"burst-{n:04d}"), range(400)))
        finally:
            stop.set()
            killer.join()
    finally:
        stop_process(server.process)
    assert len(terminated) >= 5 and sum(terminated) >= 5, terminated  # sessions really were ended
    statuses = [status for _key, status, _text in answers]
    assert statuses.count(200) == len(answers), {s: statuses.count(s) for s in set(statuses)}
    assert {key for key, _status, _text in answers} <= _journaled_keys(postgres_url)


# -- a private PostgreSQL, stopped and started during a burst ----------------------------------------------


def _as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@pytest.fixture
def private_postgres() -> Iterator[tuple[str, Any]]:
    """A PostgreSQL server of this test only: (database URL, restart function). Never the shared one."""
    if not (PG_BIN / "initdb").exists() or (os.geteuid() == 0 and not shutil.which("runuser")):
        if IN_CI:
            pytest.fail(f"{PG_BIN}/initdb (and runuser) are needed on CI")
        pytest.skip(f"{PG_BIN}/initdb is not installed: the restart test needs a private PostgreSQL")
    base = Path(tempfile.mkdtemp(prefix="private-pg-"))  # not under pytest's folder: postgres must enter it
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    data = base / "data"
    port = free_port()
    subprocess.run(
        _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"),
        check=True,
        capture_output=True,
    )
    log = base / "server.log"
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"

    def start() -> None:
        subprocess.run(
            _as_postgres(
                str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"
            ),
            check=True,
            capture_output=True,
        )

    def stop(mode: str = "fast") -> None:
        subprocess.run(
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "stop"),
            check=False,
            capture_output=True,
        )

    start()
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", (start, stop)
    finally:
        stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


def test_a_postgresql_restart_mid_load_costs_at_most_a_clear_try_again_page(
    emulator: Any, private_postgres: tuple[str, Any], tmp_path: Path
) -> None:
    import psycopg

    url, (start, stop) = private_postgres
    server = _gunicorn_on(emulator, tmp_path, url)
    answers: list[tuple[str, int, str]] = []
    done = threading.Event()

    def burst(worker: int) -> None:
        n = 0
        while not done.is_set():
            answers.append(_post(server.base_url, f"restart-{worker}-{n:04d}"))
            n += 1

    try:
        assert _post(server.base_url, "warm-up")[1] == 200
        clients = [threading.Thread(target=burst, args=(w,)) for w in range(6)]
        for client in clients:
            client.start()
        time.sleep(1.0)
        stop()
        with pytest.raises(psycopg.OperationalError):  # really down: POSTs now cannot be journaled
            psycopg.connect(url, connect_timeout=2).close()
        time.sleep(6.5)  # longer than a POST waits for a connection (5 s): some must get "try again"
        start()
        time.sleep(2.0)
        done.set()
        for client in clients:
            client.join()
        after = _post(server.base_url, "after-restart")
    finally:
        done.set()
        stop_process(server.process)
    statuses = [status for _key, status, _text in answers]
    assert 500 not in statuses and 0 not in statuses, {s: statuses.count(s) for s in set(statuses)}
    assert set(statuses) <= {200, 503}
    assert 503 in statuses, "no POST met the outage: the test did not test a restart"
    for _key, status, text in answers:
        if status == 503:
            assert GERMAN_TRY_AGAIN in text and 'lang="de"' in text
    confirmed = {key for key, status, _text in answers if status == 200}
    assert confirmed <= _journaled_keys(url)  # never a confirmation that is not in the journal
    assert after[1] == 200  # and the app works again after the restart
