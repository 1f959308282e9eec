"""A page's language: the link's ``loc``, then ``?lang=``, then Accept-Language, then the default."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request

SUPPORTED_LOCALES = ("en", "de", "fr", "es")


def match_locale(tag: str | None) -> str | None:
    """The supported language for a tag such as ``de``, ``de-AT`` or ``fr_CA``; None when unsupported."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SUPPORTED_LOCALES else None


def default_locale() -> str:
    """``DEFAULT_LOCALE`` if we speak it, else English."""
    return match_locale(current_app.config.get("DEFAULT_LOCALE")) or "en"


def select_locale() -> str:
    """Flask-Babel's locale selector; the link's language is put on ``g.link_locale`` by the views."""
    if not has_request_context():
        return default_locale()
    for candidate in (g.get("link_locale"), request.args.get("lang")):
        matched = match_locale(candidate)
        if matched:
            return matched
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or default_locale()
