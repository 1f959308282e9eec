"""Signed unsubscribe links: verify and mint HS256 JWTs with key rotation; the `flask mint-link` command."""

from __future__ import annotations

from flask import Flask, current_app

from .tokens import LinkClaims, TokenError, TokenExpired, TokenInvalid, mint, verify

__all__ = [
    "LinkClaims",
    "TokenError",
    "TokenExpired",
    "TokenInvalid",
    "init_app",
    "mint",
    "unsubscribe_url",
    "verify",
    "verify_with_app_keys",
]


def init_app(app: Flask) -> None:
    """Register the `mint-link` command."""
    from .cli import mint_link_command

    app.cli.add_command(mint_link_command)


def verify_with_app_keys(token: str) -> LinkClaims:
    """``verify`` against the current app's ``LINK_SIGNING_KEYS`` (all of them: rotation)."""
    return verify(token, current_app.config["LINK_SIGNING_KEYS"])


def unsubscribe_url(base_url: str, token: str) -> str:
    """The link an email carries: ``{base}/unsubscribe?t={token}`` (a JWT needs no URL escaping)."""
    return f"{base_url.rstrip('/')}/unsubscribe?t={token}"
