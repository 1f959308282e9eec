"""A request id for every request: taken from ``X-Request-ID`` when it looks safe, otherwise generated.

The id is stored in ``g.request_id``, written on every log line of the request and echoed back in the
response's ``X-Request-ID`` header, so a support desk can find a visitor's request in the logs.
"""

from __future__ import annotations

import re
import secrets

from flask import Flask, g, request

HEADER = "X-Request-ID"
MAX_LENGTH = 128
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


def incoming_or_new(value: str | None) -> str:
    """The proxy's id when it is short and made of safe characters; a fresh random one otherwise."""
    if value and len(value) <= MAX_LENGTH and _SAFE_ID.fullmatch(value):
        return value
    return secrets.token_hex(16)  # 32 hex digits, as uuid4().hex, without building a UUID object


def init_app(app: Flask) -> None:
    """Assign the id before anything else runs and echo it on every response."""

    @app.before_request
    def _assign_request_id() -> None:
        g.request_id = incoming_or_new(request.headers.get(HEADER))

    @app.after_request
    def _echo_request_id(response):
        request_id = g.get("request_id") or incoming_or_new(request.headers.get(HEADER))
        response.headers[HEADER] = request_id
        return response
