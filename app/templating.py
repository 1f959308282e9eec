"""Templates run in Jinja's sandbox and see only what the pages need: no settings, no request, no secrets.

A marketer's ``TEMPLATE_DIR`` is content, not code: whoever edits it must not be able to print
``SFMC_CLIENT_SECRET`` or the signing keys, or climb from a function's ``__globals__`` into Python. So

- every template is rendered by an ``ImmutableSandboxedEnvironment`` (no ``_``-prefixed attributes, no
  function internals, no changing lists or dicts; ``str.format`` checked too);
- Flask's template globals ``config``, ``request``, ``session``, ``g`` and ``get_flashed_messages`` are
  removed, and so are the ``g``, ``request`` and ``session`` that Flask's default context processor adds
  to every page (``SandboxedFlask.update_template_context``, Flask's documented hook for the context);
  what the built-in templates used of them is passed as plain values (``request_id`` for error pages).

The names a template can use are listed in docs/pages.md ("What a template can use");
``tests/flow/test_flow_sandbox.py`` fails when they change without the list.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from flask.templating import Environment as FlaskEnvironment
from jinja2.sandbox import ImmutableSandboxedEnvironment
from wtforms import Field

#: Flask's template globals that expose settings or the request (and, through them, secrets).
WITHHELD_GLOBALS = ("config", "request", "session", "g", "get_flashed_messages")
#: What Flask's default context processor adds to every template's context.
WITHHELD_CONTEXT = ("request", "session", "g")


class SandboxedTemplates(ImmutableSandboxedEnvironment, FlaskEnvironment):
    """Flask's template environment (its loader, its blueprint lookup) inside Jinja's immutable sandbox."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """As the sandbox, but a WTForms field's ``_value()`` may be called: it is WTForms' documented way
        for a template to write a field's current value, and the built-in ``_macros.html`` uses it."""
        if attr == "_value" and isinstance(obj, Field):
            return True
        return super().is_safe_attribute(obj, attr, value)


class SandboxedFlask(Flask):
    """Flask whose templates run in the sandbox and whose template context holds no request or session."""

    jinja_environment = SandboxedTemplates

    def update_template_context(self, context: dict[str, Any]) -> None:
        """Flask's context, without what its default context processor adds (``WITHHELD_CONTEXT``); a value
        passed to ``render_template`` under one of those names is kept."""
        passed = set(context)
        super().update_template_context(context)
        for name in WITHHELD_CONTEXT:
            if name not in passed:
                context.pop(name, None)


def _page_values() -> dict[str, Any]:
    """What every template gets from here: the request id (error pages print it as a reference)."""
    return {"request_id": g.get("request_id")}


def restrict_templates(app: Flask) -> None:
    """Remove Flask's globals from every template and give every template the request id instead."""
    for name in WITHHELD_GLOBALS:
        app.jinja_env.globals.pop(name, None)
    app.context_processor(_page_values)
