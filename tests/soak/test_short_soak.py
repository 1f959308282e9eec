"""The soak in miniature, so that a regression in "nothing is ever lost" fails `make test`.

500 distinct unsubscribe POSTs from 16 concurrent clients against the app under gunicorn, while the
emulator fails half of the SOAP calls (outage, timeout, Token Expired, Rate Limited, dropped connection);
the app and the worker are each killed once with SIGKILL and restarted; then the faults stop and the worker
drains. Every subscription the app accepted must be an UnsubEvent in Marketing Cloud (the emulator).
"""

from __future__ import annotations

import pytest

from bench.soak import run_soak

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def short_soak():
    """One short soak run on SQLite (about 30 s), shared by the assertions below."""
    return run_soak(db="sqlite", requests_total=500, kills=1, clients=16, drain_timeout=120, progress=False)


def test_every_accepted_unsubscribe_reaches_marketing_cloud(short_soak) -> None:
    assert short_soak.accepted >= 490, short_soak.lines()
    assert short_soak.lost == 0, short_soak.lines()
    assert short_soak.delivered == short_soak.accepted


def test_the_app_and_the_worker_were_really_killed_under_real_faults(short_soak) -> None:
    assert short_soak.app_kills == 1
    assert short_soak.worker_kills == 1
    assert short_soak.faults_injected > 50, "the emulator hardly failed any call: the soak proved nothing"


def test_clients_never_saw_a_server_error_and_the_journal_is_drained(short_soak) -> None:
    assert short_soak.server_errors == 0, short_soak.lines()
    assert short_soak.other_4xx == {}, short_soak.lines()
    assert short_soak.journal_states.get("pending", 0) == 0
    assert short_soak.journal_states.get("rejected", 0) == 0
    assert short_soak.journal_states.get("dead", 0) == 0
