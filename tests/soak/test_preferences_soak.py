"""The preference-change soak in miniature (``bench.soak_preferences``), so that "a change made while
Marketing Cloud is down is delivered later, in order, without loss" fails `make test` when it breaks.

People on three lists make saves one after another (each change the opposite of that list's last) through
the app under gunicorn while every SOAP call fails; the app and the worker are each SIGKILLed and
restarted. Then Marketing Cloud comes back and the worker drains. The verdict (``bench._prefs_verdict``)
must be empty: every acknowledged change journaled and delivered, each person's changes of a list reached
Marketing Cloud and the journal in order, every membership the person's last change, nothing left over.
"""

from __future__ import annotations

import pytest

from bench._prefs_verdict import verdict
from bench.soak_preferences import run

pytestmark = pytest.mark.slow


def test_preference_changes_made_while_marketing_cloud_is_down_arrive_in_order_on_sqlite() -> None:
    report = run(db="sqlite", people=40, saves=4, kills=1, clients=10, drain_timeout=120, progress=False)
    assert verdict(report) == [], "\n".join(report.lines())
    assert report.saves_acknowledged == 160
    assert report.order.changes > 160  # some saves change two lists


@pytest.mark.postgres
def test_preference_changes_made_while_marketing_cloud_is_down_arrive_in_order_on_postgres(
    postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DATABASE_URL", postgres_server_url)
    report = run(db="postgres", people=40, saves=4, kills=1, clients=10, drain_timeout=120, progress=False)
    assert verdict(report) == [], "\n".join(report.lines())
    assert report.saves_acknowledged == 160
