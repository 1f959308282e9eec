"""``/healthz`` (the process answers) and ``/readyz`` (it can do its job), cheap and without personal data.

``/readyz`` is ready when the journal answers and either Marketing Cloud accepted our credentials recently
(a token or a successful call in this process within ``READY_MAX_PENDING_AGE``) or the oldest pending
journal entry is younger than ``READY_MAX_PENDING_AGE`` — i.e. nothing says unsubscribes are piling up.
Status 200 when ready, 503 otherwise; the JSON body says which check failed.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, current_app, jsonify

from .metrics import sfmc_observer

logger = logging.getLogger(__name__)

bp = Blueprint("ops_health", __name__)


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
    try:
        if journal is None:
            raise RuntimeError("no journal configured")
        oldest = journal.oldest_pending_age()
        checks["journal"] = "ok"
    except Exception as exc:  # any failure to read the journal means not ready; say which kind, no detail
        logger.warning("readyz: journal unreachable: %s", type(exc).__name__)
        checks["journal"] = "unreachable"
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
    app.register_blueprint(bp)
