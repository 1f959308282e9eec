"""Show whose subscription a link is for without showing the whole address."""

from __future__ import annotations

MASK = "•••"


def mask_email(address: str | None) -> str | None:
    """``jane@example.com`` → ``j•••@example.com``; None for anything that is not an email address."""
    if not address or address.count("@") != 1:
        return None
    local, domain = address.strip().split("@")
    if not local or "." not in domain:
        return None
    return f"{local[0]}{MASK}@{domain}"
