"""The soak in miniature, so that a regression in "nothing is ever lost" fails `make test`.

The same run as ``bench.soak`` with fewer people, judged by the same verdict (``bench._soak_verdict``):
distinct people POST the form ("only this list", "all email"), one-click, and free text with NUL or
Latin-1 bytes, from concurrent clients against the app under gunicorn, while the emulator fails half of
the SOAP calls with every fault it has; the app and the worker are each killed once with SIGKILL and
restarted, and on PostgreSQL the app's database connections are ended five times. Then the faults stop and
the worker drains. The verdict must be empty: nothing lost, no 5xx the journal did not hold, nobody refused
or given up, nothing left in the journal, every kill, drop and fault done.
"""

from __future__ import annotations

import pytest

from bench._soak_verdict import verdict
from bench.soak import run_soak

pytestmark = pytest.mark.slow


def test_short_soak_on_sqlite_passes_the_soaks_verdict() -> None:
    report = run_soak(db="sqlite", requests_total=500, kills=1, clients=16, drain_timeout=120, progress=False)
    assert verdict(report) == [], "\n".join(report.lines())
    assert report.accepted == report.delivered == 500


@pytest.mark.postgres
def test_short_soak_on_postgres_with_dropped_connections_passes_the_soaks_verdict(
    postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DATABASE_URL", postgres_server_url)
    report = run_soak(
        db="postgres", requests_total=300, kills=1, drops=5, clients=16, drain_timeout=120, progress=False
    )
    assert verdict(report) == [], "\n".join(report.lines())
    assert report.accepted == report.delivered == 300
