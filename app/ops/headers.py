"""Security headers on every response, error pages and static files included.

The Content-Security-Policy allows styles from this app only, plus the origin of the page's brand
stylesheet (``BRAND_STYLESHEET_URL``, or a business unit's ``BRAND_<MID>_STYLESHEET_URL`` on that unit's
pages): one origin, never a wildcard, and still no inline styles or scripts.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, current_app, request

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=()"
)
STATIC_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
}


@lru_cache(maxsize=64)
def content_security_policy(stylesheet_url: str | None) -> str:
    """The CSP of a page whose brand loads ``stylesheet_url`` (an https URL, or None)."""
    if not stylesheet_url:
        return CONTENT_SECURITY_POLICY
    parts = urlsplit(stylesheet_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return CONTENT_SECURITY_POLICY.replace("style-src 'self'", f"style-src 'self' {origin}", 1)


def _page_stylesheet() -> str | None:
    """The stylesheet URL of the brand this response shows (None before the pages are registered)."""
    from app.unsubscribe.branding import BRANDS_KEY, current_brand

    if BRANDS_KEY not in current_app.extensions:
        return None
    return current_brand()["stylesheet_url"]


def init_app(app: Flask) -> None:
    """Add the headers in an ``after_request`` hook; HSTS only on HTTPS and only when ``SECURE_HSTS``."""
    send_hsts = app.config["SECURE_HSTS"]

    static_headers = [
        (name.lower(), name, value)
        for name, value in STATIC_HEADERS.items()
        if name != "Content-Security-Policy"  # per page: it follows the brand's stylesheet
    ]

    @app.after_request
    def _security_headers(response):
        # One pass over the response's headers instead of one per header (a view may have set some).
        present = {name.lower() for name, _value in response.headers}
        response.headers.extend([(name, value) for key, name, value in static_headers if key not in present])
        if "content-security-policy" not in present:
            response.headers.add("Content-Security-Policy", content_security_policy(_page_stylesheet()))
        if send_hsts and request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        # Pages show who is unsubscribing: no shared cache may keep them. Static files keep their caching.
        if request.endpoint != "static" and "cache-control" not in present:
            response.headers["Cache-Control"] = "no-store"
        return response
