"""The Host header: only our own names are answered, so no response carries a host a client made up.

Raw requests over a socket to a real server, so the Host header (and X-Forwarded-Host) is exactly what a
client sent.
"""

from __future__ import annotations

from typing import Any

import pytest
from ops_helpers import demo_link_token

from tests.live_http import live_server, raw_request

EVIL = "evil.example"


def _get(server: Any, path: str, host: str, method: str = "GET", **headers: str):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    body = ""
    if method == "POST":
        body = "List-Unsubscribe=One-Click"
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
    return raw_request(server, ("\r\n".join(lines) + "\r\n\r\n" + body).encode())


def _assert_refused(answer: Any) -> None:
    assert answer.status_code == 400, (answer.status_code, answer.headers)
    assert "Bad request" in answer.text
    assert "Traceback" not in answer.text
    assert EVIL not in answer.text
    assert all(EVIL not in value for value in answer.headers.values())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/static//css/site.css"),  # werkzeug's merge-slashes redirect would name the Host
        ("GET", "//unsubscribe"),
        ("GET", "/unsubscribe?t=LINK"),
        ("POST", "/unsubscribe?t=LINK"),
        ("GET", "/"),
        ("GET", "/no/such/page"),
    ],
)
def test_a_host_that_is_not_ours_gets_a_400_page_and_is_never_echoed(
    make_app, method: str, path: str
) -> None:
    app = make_app(PUBLIC_BASE_URL="https://prefs.example.com")
    with live_server(app) as server:
        answer = _get(server, path.replace("LINK", demo_link_token(1)), EVIL, method)
    _assert_refused(answer)
    assert "Example Newsletters" in answer.text  # the branded page, not a bare fallback


def test_our_host_is_answered_and_redirects_stay_on_it(make_app) -> None:
    app = make_app(PUBLIC_BASE_URL="https://prefs.example.com/preferences")
    with live_server(app) as server:
        redirect = _get(server, "/static//css/site.css", "prefs.example.com")
        page = _get(server, f"/unsubscribe?t={demo_link_token(1)}", "prefs.example.com")
        with_port = _get(server, "/", "prefs.example.com:443")
    assert redirect.status_code == 308
    assert redirect.headers["location"].startswith("http://prefs.example.com/")
    assert page.status_code == 200
    assert with_port.status_code == 200


def test_loopback_names_are_always_ours_for_local_health_checks(make_app) -> None:
    """The Docker HEALTHCHECK asks http://127.0.0.1:PORT/healthz."""
    app = make_app(PUBLIC_BASE_URL="https://prefs.example.com")
    with live_server(app) as server:
        for host in ("127.0.0.1", f"127.0.0.1:{server.port}", f"localhost:{server.port}"):
            assert _get(server, "/healthz", host).status_code == 200, host


def test_probes_and_scrapes_answer_whatever_host_they_name(make_app) -> None:
    """Orchestrators and Prometheus address a machine by its IP; these paths build no URL to echo it."""
    app = make_app(PUBLIC_BASE_URL="https://prefs.example.com")
    with live_server(app) as server:
        for path in ("/healthz", "/readyz", "/metrics"):
            answer = _get(server, path, "10.0.3.17:8000")
            assert answer.status_code == 200, (path, answer.status_code)
        _assert_refused(_get(server, "/healthz/../", EVIL))


def test_without_a_public_base_url_only_loopback_names_are_ours(make_app) -> None:
    """The demo and a laptop: http://localhost:8000 and http://127.0.0.1:8000 work, nothing else."""
    app = make_app(PUBLIC_BASE_URL="")
    with live_server(app) as server:
        assert _get(server, "/", f"localhost:{server.port}").status_code == 200
        assert _get(server, "/", f"127.0.0.1:{server.port}").status_code == 200
        _assert_refused(_get(server, "/static//css/site.css", EVIL))


def test_trusted_hosts_adds_names_and_a_leading_dot_takes_subdomains(make_app) -> None:
    app = make_app(
        PUBLIC_BASE_URL="https://prefs.example.com", TRUSTED_HOSTS="unsub.example.net, .example.org"
    )
    with live_server(app) as server:
        for host in ("prefs.example.com", "unsub.example.net", "mail.example.org", "example.org"):
            assert _get(server, "/", host).status_code == 200, host
        _assert_refused(_get(server, "/", EVIL))
        assert _get(server, "/", "example.net").status_code == 400


def test_behind_a_trusted_proxy_the_forwarded_host_is_checked(make_app) -> None:
    app = make_app(PUBLIC_BASE_URL="https://prefs.example.com", TRUSTED_PROXIES="1")
    with live_server(app) as server:
        forged = _get(
            server, "/static//css/site.css", "127.0.0.1", X_Forwarded_Host=EVIL, X_Forwarded_Proto="https"
        )
        ours = _get(
            server,
            "/static//css/site.css",
            "127.0.0.1",
            X_Forwarded_Host="prefs.example.com",
            X_Forwarded_Proto="https",
        )
    _assert_refused(forged)
    assert ours.status_code == 308
    assert ours.headers["location"].startswith("https://prefs.example.com/")


def test_without_trusted_proxies_a_forwarded_host_is_ignored(make_app) -> None:
    app = make_app(PUBLIC_BASE_URL="https://prefs.example.com")
    with live_server(app) as server:
        answer = _get(server, "/static//css/site.css", "prefs.example.com", X_Forwarded_Host=EVIL)
    assert answer.status_code == 308
    assert EVIL not in answer.headers["location"]
