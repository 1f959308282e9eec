"""The one limit on request bodies: ``MAX_BODY_BYTES``, and every place that enforces it.

Why one module: the cap is enforced in three ways, and all three must use the same number or a body
between two of them is treated differently depending on how it arrives:

- Flask/werkzeug read bodies up to ``MAX_CONTENT_LENGTH`` and keep form fields to
  ``MAX_FORM_MEMORY_SIZE`` (500 kB by default, a second, different limit): ``init_app`` sets both from
  ``MAX_BODY_BYTES``, so werkzeug's own parsing never disagrees with ours;
- a POST that *declares* a larger ``Content-Length`` is refused before anything reads it
  (``refuse_oversized_body``), whether or not the view would read its form;
- a POST *without* ``Content-Length`` (chunked) is read here up to the cap (``buffer_unsized_body``):
  werkzeug would cut it at the cap silently and parse the first bytes as if they were all.

The hooks are registered by ``app.ops.limits`` around Flask-Limiter's check, so an oversized POST is
counted like any other; the rate-limit key asks ``body_too_large`` before it looks at a form.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Flask, abort, current_app, request

#: The methods whose bodies the app reads (every other method is answered without reading one).
BODY_METHODS = frozenset({"POST"})
#: Marks (in the WSGI environ) a body without Content-Length that turned out larger than the cap.
BODY_TOO_LARGE = "profile_center.body_too_large"


def init_app(app: Flask) -> None:
    """Make ``MAX_BODY_BYTES`` werkzeug's limits too (Flask reads them from these two keys)."""
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_BODY_BYTES"]


def body_cap() -> int:
    """The largest body, in bytes, this app accepts (``MAX_BODY_BYTES``)."""
    return current_app.config["MAX_BODY_BYTES"]


def body_too_large() -> bool:
    """Whether this request's body is over the cap: declared so, or found so by ``buffer_unsized_body``."""
    if request.environ.get(BODY_TOO_LARGE):
        return True
    declared = request.content_length
    return declared is not None and declared > body_cap()


def buffer_unsized_body() -> None:
    """Read a POST body that comes without ``Content-Length`` (chunked) up to the cap, before the limit's
    key looks at the form.

    Werkzeug bounds such a body at ``MAX_CONTENT_LENGTH`` by cutting it off silently: the form would be
    parsed from the first bytes as if they were all (a truncated one-click POST accepted, or a 400). So
    the body is read here, at most one byte past the cap: one that fits replaces the input stream, one that
    does not is marked for ``refuse_oversized_body`` (which runs after the limiter, so it is counted).
    """
    environ = request.environ
    if request.method not in BODY_METHODS or request.content_length is not None:
        return
    if not environ.get("wsgi.input_terminated"):
        return  # a server that cannot end such a body: werkzeug reads it as empty
    cap = body_cap()
    body = _read_at_most(environ["wsgi.input"], cap + 1)
    if len(body) > cap:
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
    """413 for a POST body over the cap, declared or found by ``buffer_unsized_body``."""
    if request.method in BODY_METHODS and body_too_large():
        abort(413)
