"""The application factory: builds a configured Flask app; nothing is configured at import time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from config import load_config

from .templating import SandboxedTemplates, restrict_templates

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ProfileCenterApp(Flask):
    """Flask, remembering which hooks and views are plain functions.

    Flask asks ``ensure_sync`` about every hook and the view on every request, and each answer inspects the
    function again (a dozen ``inspect.iscoroutinefunction`` calls per request here). The answer for a given
    function never changes, so it is kept; coroutine functions still get Flask's wrapper.

    Templates are rendered in Jinja's sandbox (``app/templating.py``): a marketer's templates cannot read
    settings or secrets.
    """

    jinja_environment = SandboxedTemplates

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_callables: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._sync_callables[func]
        except KeyError:
            wrapped = super().ensure_sync(func)
            self._sync_callables[func] = wrapped
            return wrapped
        except TypeError:  # an unhashable callable: ask Flask every time
            return super().ensure_sync(func)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the app from the environment, with ``test_config`` values taking precedence.

    Raises ``config.ConfigError`` when a setting is missing or malformed; ``wsgi.py`` turns that into
    one readable line and a non-zero exit.
    """
    import os

    app = ProfileCenterApp(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    source: dict[str, Any] = dict(os.environ)
    if test_config:
        source.update(test_config)
    settings = load_config(source)
    app.config.update(settings)
    if test_config:
        # Anything that is not one of our settings (Flask's own keys such as TESTING or
        # TEMPLATES_AUTO_RELOAD, which Flask's defaults already hold) is passed straight through.
        app.config.update({k: v for k, v in test_config.items() if k not in settings})
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from . import journal, links, ops, sfmc, unsubscribe
    from .ops.metrics import sfmc_observer

    ops.init_app(app)
    sfmc.init_app(app, observer=sfmc_observer(app))
    journal.init_app(app)
    links.init_app(app)
    unsubscribe.init_app(app)
    restrict_templates(app)
    return app
