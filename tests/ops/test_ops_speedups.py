"""The two speed patches of ``app/speedups.py`` are really on: a library upgrade that changes the internals
they rely on makes them no-ops (by design, never a failure), and this is where that shows."""

from __future__ import annotations

from typing import Any

import flask.app
import pytest
from flask import Flask


def test_flask_is_asked_about_each_hook_and_view_once_not_on_every_request(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # the first request: Flask is asked about each callable
    asked: list[Any] = []
    real = flask.app.iscoroutinefunction
    monkeypatch.setattr(flask.app, "iscoroutinefunction", lambda func: asked.append(func) or real(func))
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert asked == [], f"Flask's ensure_sync ran again for {len(asked)} callables: the memo is off"


def test_the_rate_limiters_hooks_run_only_for_post(app: Flask) -> None:
    limiters = app.extensions["limiter"]

    def of_limiter(hook: Any) -> bool:
        inner = getattr(hook, "__wrapped__", hook)
        owner = getattr(inner, "__self__", None)
        return owner in limiters or any(arg in limiters for arg in getattr(inner, "args", ()))

    hooks = [
        hook
        for registry in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
        for hook in registry.get(None, [])
        if of_limiter(hook)
    ]
    assert hooks, "Flask-Limiter registers no hooks any more: revisit app/speedups.py"
    unwrapped = [hook for hook in hooks if not hasattr(hook, "__wrapped__")]
    assert unwrapped == [], "some of Flask-Limiter's hooks run on every GET: the patch is off"
