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
import io
import json
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, abort, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.errors import ConfigurationError
from limits.storage import SCHEMES
from werkzeug.exceptions import RequestEntityTooLarge

from config import ConfigError

from .redact import redact

LIMITED_METHODS = frozenset({"POST"})
#: Marks (in the WSGI environ) a body without Content-Length that turned out larger than the cap.
BODY_TOO_LARGE = "profile_center.body_too_large"
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
    return json.dumps(
        [
            claims.subscriber_key,
            claims.subscriber_id,
            claims.email,
            claims.job_id,
            claims.list_id,
            claims.batch_id,
            claims.mid,
        ]
    )


def _is_one_click() -> bool:
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return False
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request.environ.get(BODY_TOO_LARGE):
        return False  # refused with 413 right after the limit's check
    if limit is not None and request.content_length is not None and request.content_length > limit:
        return False  # refused with 413 before anything reads it
    try:
        return request.form.get("List-Unsubscribe") == "One-Click"
    except RequestEntityTooLarge:  # a chunked body (no Content-Length) that turns out too large
        return False


def buffer_unsized_body() -> None:
    """Read a POST body that comes without ``Content-Length`` (chunked) up to the cap, before the limit's
    key looks at the form.

    Werkzeug bounds such a body at ``MAX_CONTENT_LENGTH`` by cutting it off silently: the form would be
    parsed from the first bytes as if they were all (a truncated one-click POST accepted, or a 400). So
    the body is read here, at most one byte past the cap: one that fits replaces the input stream, one that
    does not is marked for ``refuse_oversized_body`` (which runs after the limiter, so it is counted).
    """
    environ = request.environ
    if request.method not in LIMITED_METHODS or request.content_length is not None:
        return
    if not environ.get("wsgi.input_terminated"):
        return  # a server that cannot end such a body: werkzeug reads it as empty
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    body = _read_at_most(environ["wsgi.input"], limit + 1)
    if len(body) > limit:
        environ[BODY_TOO_LARGE] = True
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)


def _read_at_most(stream: Any, size: int) -> bytes:
    chunks: list[bytes] = []
    while size > 0:
        chunk = stream.read(min(size, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def refuse_oversized_body() -> None:
    """413 for a POST body over ``MAX_CONTENT_LENGTH``, declared or found by ``buffer_unsized_body``."""
    if request.method not in LIMITED_METHODS:
        return
    declared = request.content_length
    if request.environ.get(BODY_TOO_LARGE) or (
        declared is not None and declared > current_app.config["MAX_CONTENT_LENGTH"]
    ):
        abort(413)


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
