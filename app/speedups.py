"""The speed patches that reach into other projects' internals, each kept because a bench shows it earns
at least 10 % on a figure we target (landing-GET ratio, POST ratio, worker PSS/USS); everything else uses
the libraries as they come.

``install`` is called once, at the end of ``create_app``; without it the app behaves exactly the same, only
slower. Each patch says why it is needed and which command shows it; the figures are in docs/benchmarks.md
("Speed patches on private APIs"). A library upgrade that changes the internals a patch relies on makes
that patch a no-op (it checks before it patches), never a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, wraps
from typing import Any

from flask import Flask, request

from .ops.limits import LIMITED_METHODS


def install(app: Flask) -> None:
    """Switch every speed patch on for ``app`` (after all extensions and blueprints are registered)."""
    skip_rate_limiter_for_unlimited_methods(app)
    remember_sync_callables(app)


def skip_rate_limiter_for_unlimited_methods(app: Flask) -> None:
    """Run Flask-Limiter's hooks (check, response headers, context reset) only for POST.

    Why: its ``request_filter`` exempts GET, but only after the limiter has identified the endpoint and
    gathered its limits on every request; on the landing GET that is the largest single cost we add to
    Flask (``python -m bench.http --duration 5``, landing-GET ratio). Relies on Flask-Limiter registering
    its hooks as bound methods of the limiter or ``partial``s taking it, in Flask's public hook lists.
    """
    limiters = app.extensions.get("limiter") or set()

    def of_limiter(hook: Any) -> bool:
        owner = getattr(hook, "__self__", None)
        return owner in limiters or (isinstance(hook, partial) and any(arg in limiters for arg in hook.args))

    def only_when_limited(hook: Callable[..., Any], passthrough: bool) -> Callable[..., Any]:
        @wraps(hook)
        def limited_methods_only(*args: Any) -> Any:
            if request.method in LIMITED_METHODS:
                return hook(*args)
            return args[0] if passthrough else None

        return limited_methods_only

    for registry, passthrough in (
        (app.before_request_funcs, False),
        (app.after_request_funcs, True),  # after_request hooks hand the response on
        (app.teardown_request_funcs, False),
    ):
        hooks = registry.setdefault(None, [])
        registry[None] = [only_when_limited(h, passthrough) if of_limiter(h) else h for h in hooks]


def remember_sync_callables(app: Flask) -> None:
    """Keep Flask's ``ensure_sync`` answer for each hook and view instead of asking again per request.

    Why: Flask asks ``ensure_sync`` about every hook, context processor and the view on every request, and
    each answer inspects the function again (a dozen ``inspect.iscoroutinefunction`` calls per landing
    GET); the answer for a function never changes. Coroutine functions still get Flask's own wrapper.
    Shown by ``python -m bench.http --duration 5`` (landing-GET ratio), together with the patch above.
    """
    flask_ensure_sync = app.ensure_sync
    known: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return known[func]
        except KeyError:
            wrapped = known[func] = flask_ensure_sync(func)
            return wrapped
        except TypeError:  # an unhashable callable: ask Flask every time
            return flask_ensure_sync(func)

    app.ensure_sync = ensure_sync  # type: ignore[method-assign]
