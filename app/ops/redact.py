"""Masking of personal data and secrets in text that may reach a log line. Pure functions."""

from __future__ import annotations

import re

from ..privacy import mask_email

__all__ = ["REDACTED", "mask_email", "redact"]

#: An address as RFC 5322 allows it, more loosely: a quoted local part (``"a b"@x``) or atom characters
#: (without ``= & ? /``, which delimit it in URLs and form bodies: ``em=jane@x``), then a domain of one
#: label or more (``x@localhost``) or a literal (``x@[192.0.2.7]``).
_EMAIL = re.compile(
    r"(\"[^\"\r\n]{0,254}\"|[\w.!#$%'*+^`{|}~-]+)"
    r"(@|%40)"
    r"(\[[^\]\s]{1,255}\]|[\w-]+(?:\.[\w-]+)*)"
)
#: A JWT, or the part of one that holds the claims: a base64url JSON object (``eyJ``) with up to two more
#: segments (``payload.signature`` without its header is a link just the same).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){0,2}")
_LINK_TOKEN = re.compile(r"(?<![\w.-])(t=)[^&#\s\"'<>]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',]+")
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s:@]*:[^/\s@]*@")
#: Field names whose values are secrets wherever they appear (JSON, form bodies, URLs, reprs).
_SECRET_WORDS = ("access_token", "refresh_token", "client_secret", "password", "fueloauth")
_SECRET_FIELD = re.compile(r"(?i)((?:" + "|".join(_SECRET_WORDS) + r")[\"']?\s*[:=>]\s*[\"']?)[^\"'\s&,}<]+")

REDACTED = "<redacted>"

#: Text that none of the patterns above could match without holds none of these (compared case-folded):
#: ``@`` or ``%40`` (email), ``eyJ`` (JWT), ``t=`` (link), ``://`` (URL credentials), or one of the
#: case-insensitive words. Substring tests rule out the common case (most log text holds none of them) about
#: five times faster than one regex alternation, before the six substitutions run.
_TRIGGERS = ("@", "%40", "eyj", "t=", "://", "bearer", *_SECRET_WORDS)


def may_need_redaction(text: str) -> bool:
    """False when ``redact(text)`` would certainly return ``text`` unchanged.

    Several short strings can be checked at once joined by ``"\\0"``: the separator cannot be part of a
    match, so no match can span two of them."""
    if not text:
        return False
    folded = text.casefold()  # as the patterns' case-insensitive matching: "ſ" is "s", "K" (Kelvin) is "k"
    return any(trigger in folded for trigger in _TRIGGERS)


def redact(text: str) -> str:
    """Mask every email address and replace tokens (JWTs, ``t=`` link values, bearer and OAuth secrets)."""
    if not may_need_redaction(text):
        return text
    text = _JWT.sub(REDACTED, text)
    text = _LINK_TOKEN.sub(r"\1" + REDACTED, text)
    text = _BEARER.sub(r"\1" + REDACTED, text)
    text = _URL_CREDENTIALS.sub(r"\1" + REDACTED + "@", text)
    text = _SECRET_FIELD.sub(r"\1" + REDACTED, text)
    return _EMAIL.sub(lambda match: f"{match.group(1)[0]}•••{match.group(2)}{match.group(3)}", text)
