"""Masking of personal data, shared by pages, logs, CLI output and redacted envelopes. Pure functions."""

from __future__ import annotations

MASK = "•••"


def mask_email(email: str | None) -> str:
    """``jane@example.com`` → ``j•••@example.com``: enough for a person to recognise, not to harvest.

    Anything without a local part and an ``@`` is masked whole; nothing becomes an empty string.
    """
    if not email:
        return ""
    local, at, domain = email.strip().rpartition("@")
    if not at or not local:
        return MASK
    return f"{local[0]}{MASK}@{domain}"


def mask_text(value: str | None) -> str:
    """A value that may identify a person (a SubscriberKey, a free-text reason): its first character
    and its length only; an email-shaped value is masked as an email."""
    if not value:
        return ""
    if "@" in value:
        return mask_email(value)
    return f"{value[0]}{MASK} ({len(value)} chars)"


def masked_address(candidate: str | None) -> str | None:
    """The masked form of ``candidate`` when it looks like one email address, else None (for pages that
    show whose subscription a link is for, where a SubscriberKey may or may not be an address)."""
    if not candidate or candidate.count("@") != 1:
        return None
    local, domain = candidate.strip().split("@")
    if not local or "." not in domain:
        return None
    return mask_email(candidate)
