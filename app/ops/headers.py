"""Security headers on every response, error pages and static files included."""

from __future__ import annotations

from flask import Flask, request

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


def init_app(app: Flask) -> None:
    """Add the headers in an ``after_request`` hook; HSTS only on HTTPS and only when ``SECURE_HSTS``."""
    send_hsts = app.config["SECURE_HSTS"]

    static_headers = [(name.lower(), name, value) for name, value in STATIC_HEADERS.items()]

    @app.after_request
    def _security_headers(response):
        # One pass over the response's headers instead of one per header (a view may have set some).
        present = {name.lower() for name, _value in response.headers}
        response.headers.extend([(name, value) for key, name, value in static_headers if key not in present])
        if send_hsts and request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        # Pages show who is unsubscribing: no shared cache may keep them. Static files keep their caching.
        if request.endpoint != "static" and "cache-control" not in present:
            response.headers["Cache-Control"] = "no-store"
        return response
