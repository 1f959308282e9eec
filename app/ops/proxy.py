"""Trust ``X-Forwarded-*`` headers from exactly ``TRUSTED_PROXIES`` reverse proxies, and no one else.

With 0 (the default) nothing is trusted and the WSGI environ is used as it arrives. With N, werkzeug's
``ProxyFix`` takes the client address, scheme, host, port and mount prefix (``X-Forwarded-Prefix``) from the
N-th hop, so absolute URLs, ``request.is_secure`` (HSTS) and the rate-limit key are right behind nginx.
Mounting under a sub-path works either this way or with ``SCRIPT_NAME`` set in gunicorn's environment.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    """Wrap the WSGI app in ``ProxyFix`` when proxies are trusted."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
