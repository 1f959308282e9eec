"""Abuse limits on POST requests (Flask-Limiter): ``RATELIMIT_POST`` per client address.

GET, HEAD and OPTIONS are never limited (a scanner fetching links is not abuse, and health checks and
scrapes must always answer). The key is the client address after ``ProxyFix``, so behind nginx it is the
visitor's, not nginx's. One exception: RFC 8058 one-click POSTs (``List-Unsubscribe=One-Click``) come from
the mailbox provider's few servers on behalf of many people, so they are counted per verified person and
send instead of per address — otherwise a large campaign would throttle legitimate unsubscribes — and the
first one-click POST for a person and send is never refused.

Flask-Limiter writes ``Retry-After`` on every limited response; only a 429 (and a 503) may keep it: on a
400, 413 or 500 it would tell a client to wait and send the same request again.

Storage is ``RATELIMIT_STORAGE_URI`` (``memory://`` per process; ``redis://`` shared by every machine). If
that storage is down the limiter falls back to per-process memory rather than refusing unsubscribes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import astuple
from typing import Any

from flask import Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.errors import ConfigurationError
from limits.storage import SCHEMES
from werkzeug.exceptions import RequestEntityTooLarge

from config import ConfigError

from .body_size import body_too_large, buffer_unsized_body, refuse_oversized_body
from .redact import redact

LIMITED_METHODS = frozenset({"POST"})
#: The statuses whose answer says "come back later".
RETRY_AFTER_STATUSES = frozenset({429, 503})


def rate_limit_key() -> str:
    """The client address; for an RFC 8058 one-click POST with a valid link, the person and send it names.

    A one-click POST is counted per verified subscriber and send (key, ID, address, job, list, batch, MID),
    not per link text: several links for the same person and send (another expiry, another language, the
    claims in another order) share one count, and a link that does not verify counts against the sender's
    address like any other POST. A body the app refuses as too large (413) is never read here: it counts
    per address.
    """
    if _is_one_click():
        person_and_send = _verified_person_and_send(request.args.get("t", ""))
        if person_and_send is not None:
            return "one-click:" + hashlib.sha256(person_and_send.encode()).hexdigest()[:32]
    return get_remote_address() or "unknown"


def _verified_person_and_send(token: str) -> str | None:
    from app.links import TokenError, verify_with_app_keys

    try:
        claims = verify_with_app_keys(token)
    except TokenError:
        return None
    return json.dumps(astuple(claims.recipient))


def _is_one_click() -> bool:
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return False
    if body_too_large():
        return False  # refused with 413 right after the limit's check, before anything reads it
    try:
        return request.form.get("List-Unsubscribe") == "One-Click"
    except RequestEntityTooLarge:  # a chunked body (no Content-Length) that turns out too large
        return False


def retry_after_only_when_waiting_helps(response: Response) -> Response:
    """Drop ``Retry-After`` from every answer but a 429 or 503 (Flask-Limiter adds it to all)."""
    if response.status_code not in RETRY_AFTER_STATUSES and "Retry-After" in response.headers:
        del response.headers["Retry-After"]
    return response


def _not_limited() -> bool:
    return request.method not in LIMITED_METHODS


def setting_problems(values: Mapping[str, Any]) -> list[str]:
    """Problems with the limit settings that ``config.py`` cannot see: the limit's syntax, the storage."""
    problems = []
    try:
        parse_many(str(values.get("RATELIMIT_POST", "")))
    except ValueError as exc:
        problems.append(f"RATELIMIT_POST is invalid: {exc} (e.g. '20 per minute' or '20/minute;200/hour')")
    scheme = str(values.get("RATELIMIT_STORAGE_URI", "")).split("://", 1)[0]
    if scheme not in SCHEMES:
        problems.append(f"RATELIMIT_STORAGE_URI is invalid: unknown storage {scheme!r} (memory://, redis://)")
    return problems


def init_app(app: Flask) -> Limiter:
    """Create the limiter for ``app`` with one application-wide POST limit."""
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "profile-center")
    problems = setting_problems(app.config)
    if problems:
        raise ConfigError(problems)
    # Registered before the limiter's own hooks: the body is read before its check, and Retry-After is
    # dropped after its header hook (Flask runs after_request hooks in reverse order).
    app.before_request(buffer_unsized_body)
    app.after_request(retry_after_only_when_waiting_helps)
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
        raise ConfigError([f"RATELIMIT_STORAGE_URI is invalid: {redact(str(exc))}"]) from exc
    limiter.request_filter(_not_limited)
    app.before_request(refuse_oversized_body)  # after the limiter's check: an oversized POST counts too
    return limiter
