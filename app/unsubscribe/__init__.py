"""The subscriber's unsubscribe pages: blueprint, languages, templates a marketer can override.

Error pages (404/405/413/429/500) and security headers (Referrer-Policy: no-referrer, CSP) are app.ops's;
they extend our ``base.html``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask_babel import Babel, get_locale, get_translations
from jinja2 import ChoiceLoader, FileSystemLoader, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from . import holes
from .branding import brand_context
from .dates import long_date
from .i18n import default_locale, match_locale, select_locale
from .page_cache import PAGE_CACHE_KEY, PageCache
from .reasons import configured_reasons

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = PROJECT_ROOT / "templates"
TRANSLATIONS = PROJECT_ROOT / "translations"
#: The page's translations, looked up once per rendered page instead of once per ``_()`` in the template.
TRANSLATIONS_KEY = "_page_translations"


def init_app(app: Flask) -> None:
    """Register the blueprint, Flask-Babel, the template loader and the page context."""
    from .views import bp

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config["BABEL_DEFAULT_LOCALE"] = match_locale(app.config.get("DEFAULT_LOCALE")) or "en"
    Babel(app, locale_selector=select_locale)
    _install_template_gettext(app)
    app.jinja_env.filters["long_date"] = long_date

    loaders = [FileSystemLoader(str(TEMPLATES))]
    if app.config.get("TEMPLATE_DIR"):
        # The marketer's folder first: any file there replaces the built-in one of the same name.
        loaders.insert(0, FileSystemLoader(app.config["TEMPLATE_DIR"]))
    app.jinja_loader = ChoiceLoader(loaders)

    app.extensions[PAGE_CACHE_KEY] = PageCache()
    holes.install(app.jinja_env)
    app.extensions["unsubscribe_reasons"] = configured_reasons(tuple(app.config["UNSUB_REASONS"]))
    brand = brand_context(app.config)

    @app.context_processor
    def page_context() -> dict[str, object]:
        return {
            "brand": brand,
            "page_locale": str(get_locale() or default_locale()),
            TRANSLATIONS_KEY: get_translations(),
        }

    app.register_blueprint(bp)


@pass_context
def _template_gettext(__context: Context, __string: str, **variables: Any) -> str:
    """``_()`` and ``gettext()`` in templates, with the page's translations from the context (Flask-Babel's
    lookup otherwise). The same contract as Jinja's "newstyle" gettext, which it replaces (escaping under
    autoescape, ``%`` formatting with the keyword arguments, always), without its two extra call layers."""
    translations = __context.get(TRANSLATIONS_KEY) or get_translations()
    rv = translations.ugettext(__string)
    if __context.eval_ctx.autoescape:
        rv = Markup(rv)  # noqa: S704 - our own catalog's text, marked safe exactly as Jinja's gettext does
    return rv % variables


def _install_template_gettext(app: Flask) -> None:
    """Replace Flask-Babel's template ``gettext`` (which finds the request's locale and catalog again for
    every string) with one that reads the page's catalog once; ``ngettext`` and friends stay Flask-Babel's."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: get_translations().ugettext(s),
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals.update(gettext=_template_gettext, _=_template_gettext)
