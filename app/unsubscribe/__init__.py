"""The subscriber's unsubscribe pages: blueprint, languages, templates a marketer can override.

Error pages (404/405/413/429/500) and security headers (Referrer-Policy: no-referrer, CSP) are app.ops's;
they extend our ``base.html``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_babel import Babel, get_locale
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

from . import branding, content, holes
from .dates import long_date
from .i18n import default_locale, match_locale, select_locale
from .page_cache import PAGE_CACHE_KEY, PageCache
from .reasons import REASONS_KEY, ReasonCatalog
from .texts import TEXTS_KEY, page_text

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = PROJECT_ROOT / "templates"
TRANSLATIONS = PROJECT_ROOT / "translations"
#: Where a template finds the built-in templates even when TEMPLATE_DIR has one of the same name.
BUILT_IN_PREFIX = "built-in"


def init_app(app: Flask) -> None:
    """Register the blueprint, Flask-Babel, the template loader and the page context."""
    from . import favicon  # noqa: F401 (adds /favicon.ico to the blueprint)
    from .views import bp

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config["BABEL_DEFAULT_LOCALE"] = match_locale(app.config.get("DEFAULT_LOCALE")) or "en"
    from .dates import brand_timezone

    # Babel also gives templates _(), gettext() and {% trans %}; dates are the brand's local day.
    Babel(app, locale_selector=select_locale, timezone_selector=brand_timezone)
    app.jinja_env.filters["long_date"] = long_date

    # "built-in/unsubscribe/form.html" is always ours, so a marketer's unsubscribe/form.html can extend it
    # and override one block (a text) instead of copying the whole page.
    loaders = [
        FileSystemLoader(str(TEMPLATES)),
        PrefixLoader({BUILT_IN_PREFIX: FileSystemLoader(str(TEMPLATES))}),
    ]
    if app.config.get("TEMPLATE_DIR"):
        # The marketer's folder first: any file there replaces the built-in one of the same name.
        loaders.insert(0, FileSystemLoader(app.config["TEMPLATE_DIR"]))
    app.jinja_loader = ChoiceLoader(loaders)

    app.extensions[PAGE_CACHE_KEY] = PageCache()
    holes.install(app.jinja_env)
    own = content.load(app.config.get("TEMPLATE_DIR"))  # content.toml: own reasons and texts
    catalog = ReasonCatalog.with_content(own.reasons)
    app.extensions[REASONS_KEY] = catalog
    app.extensions[TEXTS_KEY] = own.texts
    app.extensions["unsubscribe_reasons"] = catalog.offered(tuple(app.config["UNSUB_REASONS"]))
    app.jinja_env.globals["page_text"] = page_text
    branding.init_app(app)

    @app.context_processor
    def page_context() -> dict[str, object]:
        return {
            "brand": branding.current_brand(),
            "page_locale": str(get_locale() or default_locale()),
        }

    app.register_blueprint(bp)
