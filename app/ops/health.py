"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job), cheap and without personal data.

``/readyz`` is ready when the journal can *write* (a committed heartbeat, no entry touched, at most one
probe per process every ``WRITE_PROBE_SECONDS``, each waiting at most ``WRITE_PROBE_WAIT`` seconds for a
connection or the write lock) and either Marketing Cloud accepted our credentials recently
(a token or a successful call in this process within ``READY_MAX_PENDING_AGE``) or the oldest pending
journal entry is younger than ``READY_MAX_PENDING_AGE`` — i.e. nothing says unsubscribes are piling up.
Status 200 when ready, 503 otherwise; the JSON body says which check failed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify

from .metrics import sfmc_observer

logger = logging.getLogger(__name__)

bp = Blueprint("ops_health", __name__)

#: A probe's answer is reused this long (probes from a load balancer every second do not each write).
WRITE_PROBE_SECONDS = 1.0
#: Longest wait of one probe for a connection or the write lock: a probe must answer before its caller
#: gives up, and a journal that makes it wait longer is not fit for POSTs either.
WRITE_PROBE_WAIT = 1.0


class _WriteProbe:
    """The last write probe's answer for a while; one probe at a time (others reuse the last answer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answer: tuple[float, str] | None = None  # (monotonic time, "ok" or "unreachable")

    def check(self, journal: Any) -> str:
        answer = self._answer
        if answer is not None and time.monotonic() - answer[0] < WRITE_PROBE_SECONDS:
            return answer[1]
        if answer is not None and not self._lock.acquire(blocking=False):
            return answer[1]  # another thread is probing right now: its answer comes in a moment
        if answer is None:
            self._lock.acquire()  # the very first probe: wait for it rather than guess
        try:
            try:
                journal.probe_write(wait=WRITE_PROBE_WAIT)
                state = "ok"
            except Exception as exc:  # any failure to write means not ready; say which kind, no detail
                logger.warning("readyz: journal cannot write: %s: %s", type(exc).__name__, exc)
                state = "unreachable"
            self._answer = (time.monotonic(), state)
            return state
        finally:
            self._lock.release()


@bp.get("/healthz")
def healthz():
    """The process is alive and serving requests."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready when the journal is reachable and deliveries are not stuck (see the module docstring)."""
    app = current_app._get_current_object()
    threshold = float(app.config["READY_MAX_PENDING_AGE"])
    checks: dict[str, object] = {}
    ready = True

    journal = app.extensions.get("journal")
    oldest: float | None = None
    checks["journal"] = "unreachable" if journal is None else app.extensions["ops_write_probe"].check(journal)
    if checks["journal"] == "ok":
        try:
            oldest = journal.oldest_pending_age()
        except Exception as exc:  # written a moment ago, unreadable now: not ready either
            logger.warning("readyz: journal unreachable: %s", type(exc).__name__)
            checks["journal"] = "unreachable"
    if checks["journal"] != "ok":
        ready = False
    checks["oldest_pending_age_seconds"] = None if oldest is None else round(oldest, 1)

    last_auth_ok = sfmc_observer(app).last_auth_ok
    auth_age = None if last_auth_ok is None else time.monotonic() - last_auth_ok
    checks["sfmc_auth_age_seconds"] = None if auth_age is None else round(auth_age, 1)
    auth_recent = auth_age is not None and auth_age <= threshold
    backlog_ok = oldest is None or oldest < threshold
    checks["sfmc"] = "ok" if auth_recent else "unknown"
    checks["backlog"] = "ok" if backlog_ok else "stuck"
    if checks["journal"] == "ok" and not (auth_recent or backlog_ok):
        ready = False

    body = jsonify(status="ready" if ready else "not ready", checks=checks)
    return body, 200 if ready else 503


def init_app(app: Flask) -> None:
    """Register the two endpoints."""
    app.extensions["ops_write_probe"] = _WriteProbe()
    app.register_blueprint(bp)
