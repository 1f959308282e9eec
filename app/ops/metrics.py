"""Prometheus metrics at ``/metrics``, correct under gunicorn's several worker processes.

- requests by route (the endpoint name, never the raw path: it may carry a token) and status, and a latency
  histogram by route;
- Marketing Cloud calls by outcome and their latency, and token refreshes (``SfmcMetricsObserver``, handed
  to the client by ``create_app``);
- journal entries by state, the age of the oldest pending entry and possible duplicates, read from the
  journal when scraped (so every process reports the same shared truth, and nothing goes stale).

With ``PROMETHEUS_MULTIPROC_DIR`` set (``gunicorn.conf.py`` sets it) each process writes its counters to
files there and a scrape adds them up, whichever worker answers. ``METRICS_TOKEN``, when set, must be sent as
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from .logs import route_name

logger = logging.getLogger(__name__)

bp = Blueprint("ops_metrics", __name__)

PREFIX = "profile_center"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Multiprocess mode opens its files as soon as a metric exists: make sure the directory does too.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# Created unregistered: each scrape builds its own registry (several apps may live in one test process).
HTTP_REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests answered, by route (endpoint name), method and status",
    ("route", "method", "status"),
    registry=None,
)
HTTP_LATENCY = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time to answer an HTTP request, by route",
    ("route",),
    buckets=LATENCY_BUCKETS,
    registry=None,
)
SFMC_CALLS = Counter(
    f"{PREFIX}_sfmc_calls",
    "Marketing Cloud calls by outcome: Execute ok, transient, auth, request, config, protocol; Retrieve and "
    "Update the same with retrieve_ / update_ before it (and retrieve_refused)",
    ("outcome",),
    registry=None,
)
SFMC_LATENCY = Histogram(
    f"{PREFIX}_sfmc_call_duration_seconds",
    "Duration of Marketing Cloud calls (token refresh, retry and a Retrieve's pages included)",
    buckets=LATENCY_BUCKETS,
    registry=None,
)
SFMC_TOKEN_REFRESHES = Counter(
    f"{PREFIX}_sfmc_token_refreshes",
    "OAuth tokens obtained from Marketing Cloud",
    registry=None,
)
#: Where the app keeps its SfmcMetricsObserver (read only through ``sfmc_observer``).
OBSERVER_KEY = "ops_sfmc_observer"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"})
PROCESS_METRICS = (HTTP_REQUESTS, HTTP_LATENCY, SFMC_CALLS, SFMC_LATENCY, SFMC_TOKEN_REFRESHES)


class SfmcMetricsObserver:
    """The Marketing Cloud client's observer: counts calls and refreshes, remembers when auth last worked."""

    def __init__(self) -> None:
        self.last_auth_ok: float | None = None  # time.monotonic() of the last token or successful call

    def on_token_refresh(self) -> None:
        """Count it, and note that Marketing Cloud accepted our credentials now (``/readyz``)."""
        SFMC_TOKEN_REFRESHES.inc()
        self.last_auth_ok = time.monotonic()

    def on_call(self, outcome: str, seconds: float) -> None:
        """Count the call by outcome with its duration; a successful one also proves the credentials."""
        SFMC_CALLS.labels(outcome=outcome).inc()
        SFMC_LATENCY.observe(seconds)
        if outcome == "ok" or outcome.endswith("_ok"):  # Execute's "ok", "retrieve_ok", "update_ok"
            self.last_auth_ok = time.monotonic()


def sfmc_observer(app: Flask) -> SfmcMetricsObserver:
    """The app's one observer of Marketing Cloud calls: ``create_app`` hands it to the client when the client
    is made (so a worker that serves no request counts its calls too), and ``/readyz`` reads it."""
    observer = app.extensions.get(OBSERVER_KEY)
    if observer is None:
        observer = app.extensions.setdefault(OBSERVER_KEY, SfmcMetricsObserver())
    return observer


class JournalCollector:
    """Journal gauges read at scrape time: entries by state, oldest pending age, possible duplicates."""

    def __init__(self, journal: Any) -> None:
        self.journal = journal

    def collect(self) -> Iterator[Metric]:
        """The gauges as the journal stands now (a scrape never fails: ``journal_up`` 0 when unreachable)."""
        up = GaugeMetricFamily(f"{PREFIX}_journal_up", "1 when the journal answered this scrape")
        try:
            counts = self.journal.counts_by_state()
            oldest = self.journal.oldest_pending_age()
            duplicates = self.journal.possible_duplicates()
        except Exception as exc:  # a scrape must still answer (and say the journal is down)
            logger.warning("metrics: journal unreachable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        entries = GaugeMetricFamily(
            f"{PREFIX}_journal_entries", "Journal entries by delivery state", labels=("state",)
        )
        for state, count in sorted(counts.items()):
            entries.add_metric([state], count)
        yield entries
        yield GaugeMetricFamily(
            f"{PREFIX}_journal_oldest_pending_age_seconds",
            "Seconds the oldest pending entry has waited (0 when nothing is pending)",
            value=oldest or 0.0,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_journal_possible_duplicates",
            "Attempts that may have reached Marketing Cloud unanswered (a retry may have repeated them)",
            value=duplicates,
        )


def multiprocess_dir() -> str | None:
    """The directory where worker processes share their counters, when running under gunicorn."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def scrape(app: Flask) -> bytes:
    """The metrics text: this process's (or every worker's) counters plus the journal read now."""
    registry = CollectorRegistry(auto_describe=True)
    directory = multiprocess_dir()
    if directory:
        MultiProcessCollector(registry, path=directory)
    else:
        for metric in PROCESS_METRICS:
            registry.register(metric)
    journal = app.extensions.get("journal")
    if journal is not None:
        registry.register(JournalCollector(journal))
    return generate_latest(registry)


def _authorized() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return True
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format; 401 without the bearer token when ``METRICS_TOKEN`` is set."""
    if not _authorized():
        return Response(
            "metrics need a bearer token\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return Response(scrape(current_app._get_current_object()), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Register ``/metrics`` and count every request by route and status."""
    app.register_blueprint(bp)
    sfmc_observer(app)

    # The labelled children, looked up once per (route, method, status) rather than on every request.
    counters: dict[tuple[str, str, int], Any] = {}
    latencies: dict[str, Any] = {}

    @app.after_request
    def _count_request(response):
        route = route_name()
        method = request.method if request.method in KNOWN_METHODS else "other"
        key = (route, method, response.status_code)
        counter = counters.get(key)
        if counter is None:
            counter = counters[key] = HTTP_REQUESTS.labels(route=route, method=method, status=str(key[2]))
        counter.inc()
        started = g.get("request_started")
        if started is not None:
            latency = latencies.get(route)
            if latency is None:
                latency = latencies[route] = HTTP_LATENCY.labels(route=route)
            latency.observe(time.perf_counter() - started)
        return response
