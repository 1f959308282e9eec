"""Behind a reverse proxy: TRUSTED_PROXIES decides whose X-Forwarded-* headers count; sub-path mounting."""

from __future__ import annotations

import pytest
from flask import jsonify, request, url_for
from lxml import html as lxml_html
from ops_helpers import demo_link_token

FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "prefs.example.com",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Prefix": "/preferences",
}


def _with_probe(app):
    @app.get("/_probe")
    def probe():
        return jsonify(
            remote_addr=request.remote_addr,
            secure=request.is_secure,
            external=url_for("ops_health.healthz", _external=True),
        )

    return app


def test_without_trusted_proxies_forwarded_headers_are_ignored(make_app) -> None:
    client = _with_probe(make_app(TRUSTED_PROXIES="0")).test_client()
    seen = client.get("/_probe", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.2"}).get_json()
    assert seen == {"remote_addr": "10.0.0.2", "secure": False, "external": "http://localhost/healthz"}
    page = client.get(f"/unsubscribe?t={demo_link_token(1)}", headers=FORWARDED)
    assert "Strict-Transport-Security" not in page.headers
    assert lxml_html.fromstring(page.get_data(as_text=True)).forms[0].get("action").startswith("/unsubscribe")


def test_one_trusted_proxy_sets_client_scheme_host_and_prefix(make_app) -> None:
    app = make_app(TRUSTED_PROXIES="1", PUBLIC_BASE_URL="https://prefs.example.com/preferences")
    client = _with_probe(app).test_client()
    seen = client.get("/_probe", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.2"}).get_json()
    assert seen == {
        "remote_addr": "203.0.113.7",
        "secure": True,
        "external": "https://prefs.example.com/preferences/healthz",
    }
    page = client.get(f"/unsubscribe?t={demo_link_token(1)}", headers=FORWARDED)
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    _assert_every_url_under(page.get_data(as_text=True), "/preferences/")


def test_only_the_last_hop_counts_with_one_trusted_proxy(make_app) -> None:
    client = _with_probe(make_app(TRUSTED_PROXIES="1")).test_client()
    spoofed = {"X-Forwarded-For": "198.51.100.66, 203.0.113.7"}  # the client wrote the first address itself
    assert client.get("/_probe", headers=spoofed).get_json()["remote_addr"] == "203.0.113.7"


@pytest.mark.parametrize("trusted", ["0", "1"])
def test_script_name_mounting_prefixes_every_url(make_app, trusted: str) -> None:
    client = make_app(TRUSTED_PROXIES=trusted).test_client()
    mounted = "http://localhost/preferences"  # the test client's way of setting SCRIPT_NAME
    page = client.get(f"/unsubscribe?t={demo_link_token(1)}", base_url=mounted)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    _assert_every_url_under(html, "/preferences/")
    for css in lxml_html.fromstring(html).xpath("//link[@rel='stylesheet']/@href"):
        path = css.removeprefix("/preferences")
        assert client.get(path, base_url=mounted).status_code == 200


def _assert_every_url_under(html: str, prefix: str) -> None:
    """Every local link, form action, stylesheet and image of the page starts with the mount prefix."""
    document = lxml_html.fromstring(html)
    urls = document.xpath("//a/@href | //form/@action | //link/@href | //img/@src | //script/@src")
    local = [url for url in urls if not url.startswith(("https://", "http://", "mailto:", "#", "data:"))]
    assert local, "the page has no local URL to check"
    for url in local:
        assert url.startswith(prefix), url
