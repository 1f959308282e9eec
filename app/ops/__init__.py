"""Production operations: logging, request ids, proxies, security headers, limits, errors, health, metrics.

One module per concern, each with its own ``init_app``; ``create_app`` calls this ``init_app`` first, so the
request id, logging and headers are in place for everything the other packages register afterwards.
Submodules are imported inside ``init_app``: ``gunicorn.conf.py`` imports ``app.ops.logs`` in the master
before ``PROMETHEUS_MULTIPROC_DIR`` matters, and nothing here may touch prometheus_client that early.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register every operations concern with ``app`` (order matters: ids and timing first)."""
    from . import (
        body,
        body_size,
        cli,
        errors,
        headers,
        health,
        limits,
        logs,
        metrics,
        proxy,
        request_id,
    )

    body_size.init_app(app)
    request_id.init_app(app)
    logs.init_app(app)
    proxy.init_app(app)
    body.init_app(app)
    headers.init_app(app)
    limits.init_app(app)
    errors.init_app(app)
    health.init_app(app)
    metrics.init_app(app)
    cli.init_app(app)
