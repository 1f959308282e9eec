"""Which requests are about us: ``X-Forwarded-*`` from exactly ``TRUSTED_PROXIES`` proxies, and only the
Host names that are ours.

Proxies: with 0 (the default) nothing is trusted and the WSGI environ is used as it arrives. With N,
werkzeug's ``ProxyFix`` takes the client address, scheme, host, port and mount prefix
(``X-Forwarded-Prefix``) from the N-th hop, so absolute URLs, ``request.is_secure`` (HSTS) and the
rate-limit key are right behind nginx. Mounting under a sub-path works either this way or with
``SCRIPT_NAME`` set in gunicorn's environment.

Hosts: werkzeug builds redirects (``/static//x`` → ``/static/x``) and external URLs from the Host header
(or ``X-Forwarded-Host`` from a trusted proxy), so a made-up Host would come back in a ``Location``. Flask's
``TRUSTED_HOSTS`` is therefore always set: the host of ``PUBLIC_BASE_URL``, the names in our
``TRUSTED_HOSTS`` setting, and ``localhost``/``127.0.0.1`` (the image's HEALTHCHECK, a laptop, the demo).
Without ``PUBLIC_BASE_URL`` only the loopback names are answered. Any other Host gets the 400 page. The
three probe paths (``/healthz``, ``/readyz``, ``/metrics``) answer whatever Host they are asked with:
orchestrators and Prometheus address a machine by its IP, and these answers hold no URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, current_app, request
from flask.globals import request_ctx
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

#: Always ours: the image's HEALTHCHECK asks http://127.0.0.1:PORT/healthz. (werkzeug cannot match an
#: IPv6 literal such as [::1] in its trusted list.)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
#: Paths answered for any Host: fixed answers that build no URL (probes and the metrics scrape).
ANY_HOST_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def trusted_hosts(config: Mapping[str, Any]) -> list[str]:
    """The Host names we answer: ``PUBLIC_BASE_URL``'s, ``TRUSTED_HOSTS``' and the loopback names."""
    names = list(LOOPBACK_HOSTS)
    public = config.get("PUBLIC_BASE_URL")
    if public and urlsplit(public).hostname:
        names.append(urlsplit(public).hostname)
    names.extend(str(name).strip().lower() for name in config.get("TRUSTED_HOSTS") or ())
    return list(dict.fromkeys(name for name in names if name))


class HostCheckedRequest(Request):
    """Flask's request, with no Host check for the exact probe paths (``ANY_HOST_PATHS``).

    Flask assigns ``TRUSTED_HOSTS`` to ``trusted_hosts`` and checks the Host with it when the request's URL
    adapter is made; answering ``None`` here for a probe path lets that one request through.
    """

    _trusted: list[str] | None = None

    @property  # type: ignore[override]
    def trusted_hosts(self) -> list[str] | None:
        if self.environ.get("PATH_INFO") in ANY_HOST_PATHS:
            return None
        return self._trusted

    @trusted_hosts.setter
    def trusted_hosts(self, value: list[str] | None) -> None:
        self._trusted = value


def _untrusted_host(error: SecurityError) -> Any:
    """The 400 page for a Host that is not ours, branded like every page.

    Flask leaves such a request without a URL adapter (it could not be bound to the Host), so the page's
    stylesheet URLs could not be built; it is bound to our first name here, for relative URLs only. The
    context is reached through ``flask.globals.request_ctx``, the name Flask's deprecation of
    ``_request_ctx_stack`` gives for it: Flask has no other way to give a request its URL adapter.
    """
    from .errors import handle_http_error

    if request_ctx.url_adapter is None:
        request_ctx.url_adapter = current_app.url_map.bind(
            current_app.config["TRUSTED_HOSTS"][0],
            script_name=request.script_root or "/",
            url_scheme=request.scheme,
        )
    return handle_http_error(error)


def init_app(app: Flask) -> None:
    """Wrap the WSGI app in ``ProxyFix`` when proxies are trusted; answer only our Host names."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config)
    app.request_class = HostCheckedRequest
    app.register_error_handler(SecurityError, _untrusted_host)
