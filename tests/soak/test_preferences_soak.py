"""The preference-change soak in miniature (``bench.soak_preferences``), so that "a change made while
Marketing Cloud is down is delivered later, in order, without loss" fails `make test` when it breaks.

People GET their manage page (``wsgi:app`` under gunicorn) while Marketing Cloud is up, then, while every
SOAP call fails, make saves one after another as real lists-form POSTs to ``/manage?t=…`` (each change the
opposite of that list's last); the app and the worker are each SIGKILLed and restarted. Then Marketing
Cloud comes back and the worker drains. The verdict (``bench._prefs_verdict``) must be empty: every
acknowledged change journaled and delivered, each person's changes of a list reached Marketing Cloud and
the journal in order, every membership the person's last change, nothing left over. And the same run with
each person's first two saves posted the other way round must fail on order.
"""

from __future__ import annotations

import pytest

from bench._prefs_verdict import verdict
from bench.soak_preferences import run

pytestmark = pytest.mark.slow
SMALL = {"people": 30, "saves": 4, "kills": 1, "clients": 10, "drain_timeout": 120, "progress": False}


def test_preference_changes_made_while_marketing_cloud_is_down_arrive_in_order_on_sqlite() -> None:
    report = run(db="sqlite", **SMALL)
    assert verdict(report) == [], "\n".join(report.lines())
    assert report.saves_acknowledged == 120
    assert report.order.changes > 120  # some saves change two lists


def test_the_soak_fails_when_saves_are_posted_out_of_order() -> None:
    report = run(db="sqlite", **{**SMALL, "kills": 0}, sabotage_order=True)
    failures = verdict(report)
    assert any("reached Marketing Cloud out of order" in failure for failure in failures), failures
    assert any("journaled out of order" in failure for failure in failures), failures
    assert report.saves_acknowledged == 120  # every save went through: only the order is wrong


@pytest.mark.postgres
def test_preference_changes_made_while_marketing_cloud_is_down_arrive_in_order_on_postgres(
    postgres_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DATABASE_URL", postgres_server_url)
    report = run(db="postgres", **SMALL)
    assert verdict(report) == [], "\n".join(report.lines())
    assert report.saves_acknowledged == 120
