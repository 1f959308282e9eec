"""The page texts a brand usually rewrites, and ``page_text("key")``: the marketer's wording or ours.

(Not ``text()``: the error pages already have a value called ``text``, their explanation.)

Each key names one text of one page (``form.heading``, ``result.unsubscribed.heading``, …). The built-in
wording is a catalog message, translated into every shipped language; a deployment's ``content.toml``
(``content.py``) may give its own wording per language. ``page_text()`` picks, for the page's language, the
marketer's text if there is one, else the built-in translation; never the marketer's English on a German
page. The templates put a ``{% block %}`` around each, so a template of one's own can replace the markup too.

Texts are plain text (Jinja escapes them). They may use only the placeholders their key allows
(``%(brand)s`` …, ``PLACEHOLDERS``; ``%%`` for a percent sign, as in the catalogs); ``brand`` is filled
in from the page's brand unless given.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext
from jinja2 import pass_context
from jinja2.runtime import Context

logger = logging.getLogger(__name__)
_unknown_keys: set[str] = set()

#: Where the app keeps the content file's texts (``app.extensions``): key -> {locale: text}.
TEXTS_KEY = "unsubscribe_texts"


def N_(message: str) -> str:
    """Marks a catalog message without translating it yet (it is translated when a page is drawn)."""
    return message


#: key -> the built-in English text (a msgid of the catalogs).
BUILT_IN: dict[str, str] = {
    "index.heading": N_("Email preferences"),
    "index.intro": N_(
        "This page lets people who receive marketing email from %(brand)s unsubscribe from it."
    ),
    "form.heading": N_("Unsubscribe"),
    "form.intro": N_("You received an email from %(brand)s."),
    "form.button": N_("Unsubscribe"),
    "result.unsubscribed.heading": N_("You are unsubscribed"),
    "result.unsubscribed.list": N_(
        "You will no longer receive emails from this list. Other emails from %(brand)s are not affected."
    ),
    "result.unsubscribed.named_list": N_(
        "You will no longer receive emails from the list “%(list)s”. "
        "Other emails from %(brand)s are not affected."
    ),
    "result.unsubscribed.all": N_("You will no longer receive marketing email from %(brand)s."),
    "result.already.heading": N_("You were already unsubscribed"),
    "result.already.text": N_("There was nothing more to do: you do not receive these emails anymore."),
    "result.processing.heading": N_("We have your request"),
    "result.processing.text": N_(
        "Your unsubscribe request was received and is being processed. You do not need to do anything else."
    ),
    "result.stalled.heading": N_("We have your request"),
    "result.stalled.text": N_(
        "Your unsubscribe request is recorded, but we could not complete it automatically. "
        "Our team will complete it; you do not need to do anything else."
    ),
    "result.not_found.heading": N_("We could not find that subscription"),
    "result.not_found.offer": N_(
        "We could not find you on the list this email was sent to. "
        "You can unsubscribe from all marketing email from %(brand)s instead."
    ),
    "result.not_found.text": N_("We could not find a subscription for this link."),
    "result.not_matched.text": N_("The details in this link do not match one of our subscriptions."),
    "invalid.heading": N_("This link is not valid"),
    "invalid.text": N_("We could not read this unsubscribe link. It may be incomplete, changed, or too old."),
    # The manage-your-subscriptions page (app/preferences, templates/preferences/).
    "manage.heading": N_("Your subscriptions"),
    "manage.intro": N_(
        "Tick the emails you want to receive from %(brand)s and untick those you want to stop, then save."
    ),
    "manage.button": N_("Save my choices"),
    "manage.saved.heading": N_("Your choices are saved"),
}

#: key -> the placeholders its texts may use (every key may use none of them).
PLACEHOLDERS: dict[str, frozenset[str]] = {
    key: frozenset(re.findall(r"%\((\w+)\)s", message)) for key, message in BUILT_IN.items()
}


def built_in(key: str, **values: Any) -> str:
    """The built-in text ``key`` in the page's language."""
    return gettext(BUILT_IN[key], **values) if values else gettext(BUILT_IN[key])


def choose_text(key: str, locale: str, own: Mapping[str, Mapping[str, str]], **values: Any) -> str:
    """The marketer's text ``key`` for ``locale`` (from ``own``) with ``values`` filled in, else ours."""
    if key not in BUILT_IN:
        # A typo in a marketer's template must not turn the form into an error page (no unsubscribe is
        # refused): the key itself is shown, which a preview makes obvious, and the log says so once.
        if key not in _unknown_keys:
            _unknown_keys.add(key)
            logger.warning("page_text(%r): no such text; the keys are listed in docs/pages.md", key)
        return key
    wanted = {name: values.get(name, "") for name in PLACEHOLDERS[key]}
    written = own.get(key, {}).get(locale)
    if written is not None:
        try:
            return written % wanted
        except (KeyError, TypeError, ValueError):  # content.problems() reports these; load() drops them
            pass
    return built_in(key, **wanted)


def _own_texts() -> Mapping[str, Mapping[str, str]]:
    if has_app_context():
        return current_app.extensions.get(TEXTS_KEY, {})
    return {}


@pass_context
def page_text(context: Context, key: str, **values: Any) -> str:
    """Template helper: ``{{ page_text("form.heading") }}`` in the page's language (``brand`` filled in)."""
    brand = context.resolve_or_missing("brand")
    if isinstance(brand, Mapping):
        values.setdefault("brand", brand.get("name") or "")
    locale = str(context.resolve_or_missing("page_locale"))
    return choose_text(key, locale, _own_texts(), **values)
