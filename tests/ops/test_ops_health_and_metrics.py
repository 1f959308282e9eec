"""/healthz, /readyz and /metrics: what a load balancer and Prometheus see before and after a flow."""

from __future__ import annotations

import time

import psycopg
import pytest
from ops_helpers import demo_link_token, form_fields
from prometheus_client.parser import text_string_to_metric_families

from app.identity import Recipient
from app.ops.metrics import SFMC_CALLS


def samples(client, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by name and sorted labels."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def unsubscribe(client, number: int) -> None:
    page = client.get(f"/unsubscribe?t={demo_link_token(number)}")
    assert page.status_code == 200
    action, fields = form_fields(page.get_data(as_text=True))
    assert client.post(action, data=fields).status_code == 200


def test_healthz_says_alive_without_touching_anything(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ready_on_a_fresh_journal(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["journal"] == "ok"
    assert body["checks"]["oldest_pending_age_seconds"] is None


def test_readyz_proves_the_journal_writes_without_touching_an_entry_and_at_most_once_a_second(
    make_app, tmp_path
) -> None:
    import sqlite3

    from app.ops.health import WRITE_PROBE_SECONDS

    app = make_app()
    client = app.test_client()
    database = app.config["DATABASE_URL"].removeprefix("sqlite:///")

    def heartbeat() -> str:
        with sqlite3.connect(database) as conn:
            return conn.execute("SELECT beat_at FROM journal_heartbeat").fetchone()[0]

    assert client.get("/readyz").status_code == 200
    first = heartbeat()  # a committed write, seen by another connection
    for _ in range(10):  # a load balancer probing often: the answer is reused, nothing is written
        assert client.get("/readyz").status_code == 200
    assert heartbeat() == first
    time.sleep(WRITE_PROBE_SECONDS + 0.1)
    assert client.get("/readyz").status_code == 200
    assert heartbeat() > first
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM journal_entries").fetchone()[0] == 0


def test_readyz_turns_unready_when_pending_entries_age_without_marketing_cloud(make_app, emulator) -> None:
    client = make_app(READY_MAX_PENDING_AGE="0.5").test_client()
    emulator.faults(error_rate=1.0, errors=["outage"])
    unsubscribe(client, 5)  # journaled, left pending: Marketing Cloud is down
    assert client.get("/readyz").status_code == 200  # young backlog: fine
    time.sleep(0.7)
    stuck = client.get("/readyz")
    assert stuck.status_code == 503
    body = stuck.get_json()
    assert body["status"] == "not ready"
    assert body["checks"]["backlog"] == "stuck"
    assert body["checks"]["oldest_pending_age_seconds"] >= 0.5
    assert "demo" not in stuck.get_data(as_text=True)  # no personal data, not even the key


def test_readyz_stays_ready_while_marketing_cloud_accepts_us_despite_an_old_entry(make_app, emulator) -> None:
    client = make_app(READY_MAX_PENDING_AGE="0.5").test_client()
    emulator.faults(error_rate=1.0, errors=["outage"])
    unsubscribe(client, 7)
    time.sleep(0.7)
    emulator.faults()  # Marketing Cloud is back; a new unsubscribe goes through
    unsubscribe(client, 9)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["sfmc"] == "ok"
    assert response.get_json()["checks"]["backlog"] == "stuck"


@pytest.mark.postgres
def test_readyz_is_unready_when_the_journal_is_unreachable(
    make_app, postgres_url: str, postgres_server_url
) -> None:
    client = make_app(DATABASE_URL=postgres_url).test_client()
    assert client.get("/readyz").status_code == 200
    name = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["journal"] == "unreachable"
    scrape = samples(client)
    assert value(scrape, "profile_center_journal_up") == 0


def test_metrics_count_a_flow(make_app, emulator) -> None:
    client = make_app().test_client()
    before = samples(client)
    unsubscribe(client, 13)
    after = samples(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "profile_center_http_requests_total"
    assert moved(requests, route="unsubscribe.show", method="GET", status="200") == 1
    assert moved(requests, route="unsubscribe.submit", method="POST", status="200") == 1
    assert moved("profile_center_http_request_duration_seconds_count", route="unsubscribe.submit") == 1
    assert moved("profile_center_sfmc_calls_total", outcome="ok") == 1  # the unsubscribe's Execute
    assert (
        moved("profile_center_sfmc_calls_total", outcome="retrieve_ok") == 1
    )  # the landing page's list name
    assert moved("profile_center_sfmc_call_duration_seconds_count") == 2
    assert moved("profile_center_sfmc_token_refreshes_total") >= 1
    assert value(after, "profile_center_journal_entries", state="delivered") == 1
    assert value(after, "profile_center_journal_entries", state="pending") == 0
    assert value(after, "profile_center_journal_up") == 1
    routes = {dict(labels).get("route") for name, labels in after if name.startswith(requests)}
    assert not any("/" in str(route) or "t=" in str(route) for route in routes)  # endpoint names only


def test_metrics_show_the_pending_backlog_age(make_app, emulator) -> None:
    client = make_app().test_client()
    emulator.faults(error_rate=1.0, errors=["outage"])
    unsubscribe(client, 15)
    time.sleep(0.2)
    scrape = samples(client)
    assert value(scrape, "profile_center_journal_entries", state="pending") == 1
    assert value(scrape, "profile_center_journal_oldest_pending_age_seconds") >= 0.2
    assert value(scrape, "profile_center_sfmc_calls_total", outcome="transient") >= 1


def test_metrics_need_the_bearer_token_when_one_is_set(make_app) -> None:
    client = make_app(METRICS_TOKEN="scrape-secret-123").test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert samples(client, Authorization="Bearer scrape-secret-123")
    assert client.get("/healthz").status_code == 200  # health checks stay open


def test_the_worker_counts_its_marketing_cloud_calls_without_serving_a_request(make_app, emulator) -> None:
    """`flask journal deliver` serves no request, yet its calls must reach the metrics (worker dashboards)."""
    from app.journal import get_journal
    from app.journal.models import Source, UnsubscribeRequest

    app = make_app()
    with app.app_context():
        get_journal().record(
            UnsubscribeRequest(Recipient(subscriber_key="demo-001", job_id="18099"), source=Source.IMPORT)
        )
    # Read the counter without a request: the worker's client must count its calls from the start.
    before = SFMC_CALLS.labels(outcome="ok")._value.get()
    result = app.test_cli_runner().invoke(args=["journal", "deliver"])
    assert result.exit_code == 0, result.output
    after = value(samples(app.test_client()), "profile_center_sfmc_calls_total", outcome="ok")
    assert after == before + 1
