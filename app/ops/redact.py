"""Masking of personal data and secrets in text that may reach a log line. Pure functions."""

from __future__ import annotations

import re

from ..privacy import mask_email

__all__ = ["REDACTED", "mask_email", "redact"]

_EMAIL = re.compile(r"([\w.!%'*+-]+)(@|%40)([\w-]+(?:\.[\w-]+)+)")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_LINK_TOKEN = re.compile(r"(?<![\w.-])(t=)[^&#\s\"'<>]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',]+")
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s:@]*:[^/\s@]*@")
_SECRET_FIELD = re.compile(
    r"(?i)((?:access_token|refresh_token|client_secret|password|fueloauth)[\"']?\s*[:=>]\s*[\"']?)"
    r"[^\"'\s&,}<]+"
)

REDACTED = "<redacted>"

#: Text that none of the patterns above could match without: an ``@`` or ``%40`` (email), ``eyJ`` (JWT),
#: ``t=`` (link), ``://`` (URL credentials), or one of the case-insensitive words. One search rules out
#: the common case (most log text holds none of them) before the six substitutions run.
_MAY_NEED_REDACTION = re.compile(
    r"@|%40|eyJ|t=|://|(?i:bearer|access_token|refresh_token|client_secret|password|fueloauth)"
)


def may_need_redaction(text: str) -> bool:
    """False when ``redact(text)`` would certainly return ``text`` unchanged (one regex search).

    Several short strings can be checked at once joined by ``"\\0"``: the separator cannot be part of a
    match, so no match can span two of them."""
    return bool(text) and _MAY_NEED_REDACTION.search(text) is not None


def redact(text: str) -> str:
    """Mask every email address and replace tokens (JWTs, ``t=`` link values, bearer and OAuth secrets)."""
    if not text or not _MAY_NEED_REDACTION.search(text):
        return text
    text = _JWT.sub(REDACTED, text)
    text = _LINK_TOKEN.sub(r"\1" + REDACTED, text)
    text = _BEARER.sub(r"\1" + REDACTED, text)
    text = _URL_CREDENTIALS.sub(r"\1" + REDACTED + "@", text)
    text = _SECRET_FIELD.sub(r"\1" + REDACTED, text)
    return _EMAIL.sub(lambda match: f"{match.group(1)[0]}•••{match.group(2)}{match.group(3)}", text)
