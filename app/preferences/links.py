"""URLs of the manage page, for the landing views and templates: the same signed link, another path."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import request

from app.identity import Recipient

#: The manage page's path (its blueprint's route).
MANAGE_PATH = "/manage"


def manage_url(token: str, recipient: Recipient | None = None) -> str | None:
    """The manage page for the signed link ``token`` (keeping an explicit ``?lang=``), or None when the
    link names no SubscriberKey: Marketing Cloud's memberships are read by key, so that page could only
    ever show the plain form."""
    if recipient is not None and not recipient.subscriber_key:
        return None
    # A verified token is base64url and dots, which a query string carries as they are.
    url = f"{request.script_root}{MANAGE_PATH}?t={token}"
    lang = request.args.get("lang")
    return f"{url}&{urlencode({'lang': lang})}" if lang else url
