"""Abuse limits on POST requests (Flask-Limiter): ``RATELIMIT_POST`` per client address.

GET, HEAD and OPTIONS are never limited (a scanner fetching links is not abuse, and health checks and
scrapes must always answer). The key is the client address after ``ProxyFix``, so behind nginx it is the
visitor's, not nginx's. One exception: RFC 8058 one-click POSTs (``List-Unsubscribe=One-Click``) come from
the mailbox provider's few servers on behalf of many people, so they are counted per link instead of per
address — otherwise a large campaign would throttle legitimate unsubscribes.

Storage is ``RATELIMIT_STORAGE_URI`` (``memory://`` per process; ``redis://`` shared by every machine). If
that storage is down the limiter falls back to per-process memory rather than refusing unsubscribes.
"""

from __future__ import annotations

import hashlib

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.errors import ConfigurationError

from config import ConfigError

LIMITED_METHODS = frozenset({"POST"})


def rate_limit_key() -> str:
    """The client address, or a hash of the link for an RFC 8058 one-click POST."""
    is_form = request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
    if is_form and request.form.get("List-Unsubscribe") == "One-Click":
        link = request.args.get("t", "")
        return "one-click:" + hashlib.sha256(link.encode()).hexdigest()[:32]
    return get_remote_address() or "unknown"


def _not_limited() -> bool:
    return request.method not in LIMITED_METHODS


def init_app(app: Flask) -> Limiter:
    """Create the limiter for ``app`` with one application-wide POST limit."""
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "profile-center")
    try:
        parse_many(app.config["RATELIMIT_POST"])
    except ValueError as exc:
        raise ConfigError([f"RATELIMIT_POST is invalid: {exc}"]) from exc
    limiter = Limiter(
        rate_limit_key,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        application_limits=[app.config["RATELIMIT_POST"]],
        application_limits_exempt_when=_not_limited,
        headers_enabled=True,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        key_prefix=app.config["RATELIMIT_KEY_PREFIX"],
    )
    try:
        limiter.init_app(app)
    except (ConfigurationError, ValueError) as exc:
        raise ConfigError([f"RATELIMIT_STORAGE_URI is invalid: {exc}"]) from exc
    limiter.request_filter(_not_limited)
    return limiter
