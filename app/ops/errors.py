"""Error pages (400, 404, 405, 413, 429, 500, 503) in the visitor's language, never with a stack trace.

The page extends the site's ``base.html`` so it carries the brand; if that cannot be rendered (it does not
exist, or rendering it fails inside an error) a minimal self-contained page is returned instead. The texts
are in the same gettext catalogs as every other page's, in the language the same selector chose: one
table of translations, one choice of language (docs/pages.md, "Languages").
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, render_template
from flask_babel import LazyString, get_locale, gettext, lazy_gettext
from jinja2 import TemplateNotFound
from werkzeug.exceptions import HTTPException, InternalServerError

from app.unsubscribe.i18n import default_locale

logger = logging.getLogger(__name__)

bp = Blueprint("ops_errors", __name__, template_folder="templates")

HANDLED_STATUSES = (400, 404, 405, 413, 429, 500, 503)

#: status -> (title, explanation): msgids of the catalogs in translations/, translated when a page is drawn.
TEXTS: dict[int, tuple[LazyString, LazyString]] = {
    400: (
        lazy_gettext("Bad request"),
        lazy_gettext("Your browser sent a request we could not understand."),
    ),
    404: (
        lazy_gettext("Page not found"),
        lazy_gettext("There is no page at this address. Please use the link from your email."),
    ),
    405: (
        lazy_gettext("Method not allowed"),
        lazy_gettext("This page cannot be used this way."),
    ),
    413: (
        lazy_gettext("Request too large"),
        lazy_gettext("The form you sent is too large. Please shorten your text and try again."),
    ),
    429: (
        lazy_gettext("Too many requests"),
        lazy_gettext(
            "We received too many requests from your network in a short time. "
            "Please wait a minute and try again; nothing you already sent is lost."
        ),
    ),
    500: (
        lazy_gettext("Something went wrong"),
        lazy_gettext("An unexpected error occurred on our side. Please try again later."),
    ),
    # The journal cannot be reached or written right now (docs/journal.md): nothing was recorded for
    # sure, so the page promises nothing and asks for the same click again.
    503: (
        lazy_gettext("Please try again"),
        lazy_gettext(
            "We could not record your request just now. Please try again in a moment; "
            "your request has not been confirmed yet."
        ),
    ),
}


def render_error(status: int) -> str:
    """The HTML body for ``status``: the branded page when possible, the minimal one otherwise.

    Texts and language come from Flask-Babel like every other page's (the locale selector of
    ``app/unsubscribe/i18n.py``: the link's language, ``?lang=``, Accept-Language, ``DEFAULT_LOCALE``), so
    an error page speaks the language of the page it replaces; a text missing from a catalog is shown in
    English, never as an error.
    """
    title, text = TEXTS[status]
    _show_global_brand()
    context = {
        "status": status,
        "title": str(title),
        "text": str(text),
        "lang": str(get_locale() or default_locale()),
        "reference_label": gettext("Reference"),
    }
    try:
        current_app.jinja_env.get_template("base.html")
    except TemplateNotFound:
        return render_template("ops/error_minimal.html", **context)
    try:
        return render_template("ops/error.html", **context)
    except Exception:
        logger.warning("the branded error page could not be rendered; using the minimal page", exc_info=True)
        return render_template("ops/error_minimal.html", **context)


def _show_global_brand() -> None:
    """Error pages carry the global brand, whichever unit's link led here (docs/pages.md)."""
    from app.unsubscribe.branding import BRANDS_KEY, use_global_brand

    if BRANDS_KEY in current_app.extensions:
        use_global_brand()


def handle_http_error(error: HTTPException):
    """Render a known HTTP error, keeping the headers werkzeug attached (``Allow``, ``Retry-After``)."""
    status = error.code or 500
    if status not in TEXTS:
        return error
    headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
    return render_error(status), status, headers


def handle_unexpected_error(error: InternalServerError):
    """Any unhandled exception (Flask has logged it, redacted) becomes a plain 500 page without details."""
    return render_error(500), 500


def service_unavailable() -> tuple[str, int]:
    """The 503 "try again" page, for a view whose work could not be done right now (journal down)."""
    return render_error(503), 503


def init_app(app: Flask) -> None:
    """Register the templates and the handlers."""
    app.register_blueprint(bp)
    for status in HANDLED_STATUSES:
        if status != 500:
            app.register_error_handler(status, handle_http_error)
    app.register_error_handler(InternalServerError, handle_unexpected_error)
