"""The application factory: builds a configured Flask app; nothing is configured at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from config import ConfigError, parse_settings

from .templating import SandboxedFlask, restrict_templates

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _settings_or_every_problem(source: dict[str, Any]) -> dict[str, Any]:
    """The parsed settings; or a ``ConfigError`` listing every problem at once: what does not parse, the
    rate limit's syntax, and what ``check-config`` would report about the values that did parse."""
    from .ops.config_checks import errors
    from .ops.limits import setting_problems

    settings, problems = parse_settings(source)
    problems += [line for line in setting_problems(settings) if line.split(" ", 1)[0] in settings]
    if problems:
        raise ConfigError(problems + errors(settings))
    return settings


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the app from the environment, with ``test_config`` values taking precedence.

    Raises ``config.ConfigError`` when a setting is missing or malformed; ``wsgi.py`` turns that into
    one readable line and a non-zero exit.
    """
    import os

    app = SandboxedFlask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    source: dict[str, Any] = dict(os.environ)
    if test_config:
        source.update(test_config)
    settings = _settings_or_every_problem(source)
    app.config.update(settings)
    if test_config:
        # Anything that is not one of our settings (Flask's own keys such as TESTING or
        # TEMPLATES_AUTO_RELOAD, which Flask's defaults already hold) is passed straight through.
        app.config.update({k: v for k, v in test_config.items() if k not in settings})
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from . import journal, links, ops, preferences, preview, sfmc, speedups, unsubscribe
    from .ops.metrics import sfmc_observer

    ops.init_app(app)
    sfmc.init_app(app, observer=sfmc_observer(app))
    journal.init_app(app)
    links.init_app(app)
    unsubscribe.init_app(app)
    preferences.init_app(app)
    preview.init_app(app)
    restrict_templates(app)
    speedups.install(app)
    return app
