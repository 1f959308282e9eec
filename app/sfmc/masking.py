"""Mask personal data before it reaches a log line, a CLI output or an error message."""

from __future__ import annotations


def mask_email(email: str | None) -> str:
    """``jane@example.com`` → ``j•••@example.com``; anything without an ``@`` is masked whole."""
    if not email:
        return ""
    local, at, domain = email.strip().rpartition("@")
    if not at or not local:
        return "•••"
    return f"{local[0]}•••@{domain}"


def mask_text(value: str | None) -> str:
    """A value that may identify a person (a SubscriberKey, a free-text reason): its first character
    and its length only; an email-shaped value is masked as an email."""
    if not value:
        return ""
    if "@" in value:
        return mask_email(value)
    return f"{value[0]}••• ({len(value)} chars)"
