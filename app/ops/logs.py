"""JSON logs, one object per line on stdout, with personal data masked and tokens redacted.

Every record passes ``RedactingFilter`` (email addresses masked, JWTs, ``t=`` link values, bearer tokens and
OAuth secrets replaced) and is written by ``JsonFormatter`` with the request's id, route, status, duration
and outcome when it was logged inside a request. Gunicorn's own logs use the same format through
``GunicornJsonLogger`` (``logger_class`` in ``gunicorn.conf.py``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, has_request_context, request

from .redact import may_need_redaction, redact

logger = logging.getLogger(__name__)

#: Fields a record may carry (``extra=``) that the formatter writes; anything else stays out of the log.
CONTEXT_FIELDS = ("request_id", "route", "method", "status", "duration_ms", "outcome")
_QUIET_ROUTES = frozenset({"ops_health.healthz", "ops_health.readyz", "ops_metrics.metrics"})
#: Where the app leaves its request fields for the server's access line (a WSGI environ key).
REQUEST_FIELDS_KEY = "profile_center.request_fields"
#: Whether this process's server writes the request line (gunicorn with its access log on).
_server_writes_request_line = False


def server_writes_request_line(enabled: bool = True) -> None:
    """Say that the server writes an access line for every request (gunicorn.conf.py calls this in each
    worker whose access log is on). The app then puts its request fields (request id, route, status,
    duration, outcome) on that line instead of writing a second line of its own: one line per request."""
    global _server_writes_request_line
    _server_writes_request_line = enabled


class RedactingFilter(logging.Filter):
    """Mask email addresses and redact tokens in the message and its arguments before anything formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        return True


class RequestContextFilter(logging.Filter):
    """Attach the current request's id and route to records logged while it is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            if not hasattr(record, "request_id"):
                record.request_id = g.get("request_id")
            if not hasattr(record, "route"):
                record.route = route_name()
        return True


#: ``json.dumps(entry, ensure_ascii=False, default=str)`` without building an encoder for every line.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the request context fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        # One search over all the line's strings rules out the usual case (nothing to redact anywhere).
        if may_need_redaction("\0".join(value for value in entry.values() if isinstance(value, str))):
            for key, value in entry.items():
                if isinstance(value, str):
                    entry[key] = redact(value)
        return _ENCODER.encode(entry)


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time (test runners replace it).

    Under the ``flask`` command line the logs go to stderr instead, so that what a command prints
    (``check-config``, ``journal export``, ``mint-link``) stays clean on stdout for pipes.
    """

    def __init__(self) -> None:
        super().__init__(sys.stdout)
        # Decided once: the flask command line sets this before it creates the app (and its logging).
        self._to_stderr = os.environ.get("FLASK_RUN_FROM_CLI") == "true"

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr if self._to_stderr else sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(level: str) -> None:
    """Send every log record (root logger) through our filters and JSON formatter to stdout, once."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_profile_center", False):
            root.removeHandler(handler)
    handler = _StdoutHandler()
    handler._profile_center = True  # type: ignore[attr-defined]
    handler.addFilter(RequestContextFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # Werkzeug's development server logs the request line with its query string (the token): keep it quiet.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def route_name() -> str:
    """The matched endpoint name (never the raw path, which may carry a token), or ``unmatched``."""
    rule = request.url_rule
    return rule.endpoint if rule is not None else "unmatched"


def init_app(app: Flask) -> None:
    """Configure JSON logging and log one line per request with route, status, duration and outcome."""
    configure_logging(app.config["LOG_LEVEL"])

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
        route = route_name()
        method = request.method
        fields = {
            # Given here so that RequestContextFilter need not look them up again.
            "request_id": g.get("request_id"),
            "route": route,
            "method": method,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "outcome": g.get("outcome"),
        }
        if _server_writes_request_line:
            request.environ[REQUEST_FIELDS_KEY] = fields
            return response
        level = logging.DEBUG if route in _QUIET_ROUTES else logging.INFO
        if logger.isEnabledFor(level):
            logger.log(level, "%s %s %s", method, route, response.status_code, extra=fields)
        return response


try:  # gunicorn is a runtime dependency, but the app itself must not need it (flask CLI, tests)
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = None


if _GunicornLogger is not None:

    class GunicornJsonLogger(_GunicornLogger):
        """Gunicorn's error and access logs in our JSON format, through the same redacting filter; the
        access line also carries the app's request fields (``server_writes_request_line``)."""

        def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
            """Gunicorn's own ``access`` (its format, its atoms), with the app's fields as JSON keys."""
            if not self.access_log_enabled:
                return
            atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
            try:
                self.access_log.info(self.cfg.access_log_format, atoms, extra=environ.get(REQUEST_FIELDS_KEY))
            except Exception:
                self.error(traceback.format_exc())

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(JsonFormatter())
                    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                        handler.addFilter(RedactingFilter())
