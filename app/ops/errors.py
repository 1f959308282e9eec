"""Error pages (400, 404, 405, 413, 429, 500, 503) in the visitor's language, never with a stack trace.

The page extends the site's ``base.html`` so it carries the brand; if that cannot be rendered (it does not
exist, or rendering it fails inside an error) a minimal self-contained page is returned instead. The texts
live here rather than in the message catalogs so an error page can never fail for want of a translation.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, render_template, request
from jinja2 import TemplateNotFound
from werkzeug.exceptions import HTTPException, InternalServerError

logger = logging.getLogger(__name__)

bp = Blueprint("ops_errors", __name__, template_folder="templates")

HANDLED_STATUSES = (400, 404, 405, 413, 429, 500, 503)

#: status -> language -> (title, explanation)
TEXTS: dict[int, dict[str, tuple[str, str]]] = {
    400: {
        "en": ("Bad request", "Your browser sent a request we could not understand."),
        "de": ("Ungültige Anfrage", "Ihr Browser hat eine Anfrage gesendet, die wir nicht verstehen."),
        "fr": ("Requête invalide", "Votre navigateur a envoyé une requête que nous ne comprenons pas."),
        "es": ("Solicitud no válida", "Su navegador envió una solicitud que no podemos entender."),
    },
    404: {
        "en": ("Page not found", "There is no page at this address. Please use the link from your email."),
        "de": (
            "Seite nicht gefunden",
            "Unter dieser Adresse gibt es keine Seite. Bitte verwenden Sie den Link aus Ihrer E-Mail.",
        ),
        "fr": (
            "Page introuvable",
            "Il n'y a pas de page à cette adresse. Veuillez utiliser le lien de votre e-mail.",
        ),
        "es": (
            "Página no encontrada",
            "No hay ninguna página en esta dirección. Utilice el enlace de su correo electrónico.",
        ),
    },
    405: {
        "en": ("Method not allowed", "This page cannot be used this way."),
        "de": ("Methode nicht erlaubt", "Diese Seite kann so nicht verwendet werden."),
        "fr": ("Méthode non autorisée", "Cette page ne peut pas être utilisée de cette façon."),
        "es": ("Método no permitido", "Esta página no se puede usar de esta manera."),
    },
    413: {
        "en": (
            "Request too large",
            "The form you sent is too large. Please shorten your text and try again.",
        ),
        "de": (
            "Anfrage zu groß",
            "Das gesendete Formular ist zu groß. Bitte kürzen Sie Ihren Text und versuchen Sie es erneut.",
        ),
        "fr": (
            "Requête trop volumineuse",
            "Le formulaire envoyé est trop volumineux. Raccourcissez votre texte et réessayez.",
        ),
        "es": (
            "Solicitud demasiado grande",
            "El formulario enviado es demasiado grande. Acorte su texto e inténtelo de nuevo.",
        ),
    },
    429: {
        "en": (
            "Too many requests",
            "We received too many requests from your network in a short time. "
            "Please wait a minute and try again; nothing you already sent is lost.",
        ),
        "de": (
            "Zu viele Anfragen",
            "Wir haben in kurzer Zeit zu viele Anfragen aus Ihrem Netzwerk erhalten. Bitte warten Sie "
            "eine Minute und versuchen Sie es erneut; bereits Gesendetes geht nicht verloren.",
        ),
        "fr": (
            "Trop de requêtes",
            "Nous avons reçu trop de requêtes de votre réseau en peu de temps. Veuillez patienter une "
            "minute puis réessayer ; ce que vous avez déjà envoyé n'est pas perdu.",
        ),
        "es": (
            "Demasiadas solicitudes",
            "Hemos recibido demasiadas solicitudes de su red en poco tiempo. Espere un minuto y vuelva "
            "a intentarlo; lo que ya envió no se ha perdido.",
        ),
    },
    500: {
        "en": ("Something went wrong", "An unexpected error occurred on our side. Please try again later."),
        "de": (
            "Etwas ist schiefgelaufen",
            "Bei uns ist ein unerwarteter Fehler aufgetreten. Bitte versuchen Sie es später erneut.",
        ),
        "fr": (
            "Une erreur est survenue",
            "Une erreur inattendue s'est produite de notre côté. Veuillez réessayer plus tard.",
        ),
        "es": (
            "Algo salió mal",
            "Se produjo un error inesperado por nuestra parte. Vuelva a intentarlo más tarde.",
        ),
    },
    # The journal cannot be reached or written right now (docs/journal.md): nothing was recorded for
    # sure, so the page promises nothing and asks for the same click again.
    503: {
        "en": (
            "Please try again",
            "We could not record your request just now. Please try again in a moment; "
            "your request has not been confirmed yet.",
        ),
        "de": (
            "Bitte erneut versuchen",
            "Wir konnten Ihre Anfrage gerade nicht speichern. Bitte versuchen Sie es in einem Moment "
            "erneut; Ihre Anfrage ist noch nicht bestätigt.",
        ),
        "fr": (
            "Veuillez réessayer",
            "Nous n'avons pas pu enregistrer votre demande pour le moment. Veuillez réessayer dans un "
            "instant ; votre demande n'est pas encore confirmée.",
        ),
        "es": (
            "Vuelva a intentarlo",
            "No hemos podido registrar su solicitud en este momento. Vuelva a intentarlo en un momento; "
            "su solicitud aún no está confirmada.",
        ),
    },
}
LANGUAGES = ("en", "de", "fr", "es")
_REFERENCE = {"en": "Reference", "de": "Referenz", "fr": "Référence", "es": "Referencia"}


def visitor_language() -> str:
    """The language the site's locale selector (Flask-Babel) chose, else the browser's, else the default."""
    language = None
    if "babel" in current_app.extensions:
        try:
            from flask_babel import get_locale

            locale = get_locale()
            language = locale.language if locale is not None else None
        except Exception:  # an error page must render even when locale selection itself fails
            language = None
    if language not in LANGUAGES:
        language = request.accept_languages.best_match(LANGUAGES)
    if language not in LANGUAGES:
        default = str(current_app.config.get("DEFAULT_LOCALE", "en")).split("_")[0].split("-")[0]
        language = default if default in LANGUAGES else "en"
    return language


def render_error(status: int) -> str:
    """The HTML body for ``status``: the branded page when possible, the minimal one otherwise."""
    language = visitor_language()
    title, text = TEXTS[status][language]
    context = {
        "status": status,
        "title": title,
        "text": text,
        "lang": language,
        "reference_label": _REFERENCE[language],
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
