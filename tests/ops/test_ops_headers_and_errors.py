"""Security headers on every response; error pages without stack traces; pages that obey the strict CSP."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import requests
from lxml import html as lxml_html
from ops_helpers import app_environment, demo_link_token, form_fields, start_gunicorn, stop_process

from app.ops.headers import CONTENT_SECURITY_POLICY
from tests.live_http import LiveServer, RawResponse, live_server, raw_request

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def test_csp_is_the_strict_policy() -> None:
    assert CONTENT_SECURITY_POLICY == (
        "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/unsubscribe?t=LINK"),
        ("GET", "/unsubscribe?t=broken"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/static/css/site.css"),
        ("GET", "/no/such/page"),
        ("DELETE", "/unsubscribe?t=LINK"),
    ],
)
def test_every_response_carries_the_security_headers(client, method: str, path: str) -> None:
    response = client.open(path.replace("LINK", demo_link_token(1)), method=method)
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def test_pages_are_not_cached_but_static_files_are(client) -> None:
    assert client.get(f"/unsubscribe?t={demo_link_token(1)}").headers["Cache-Control"] == "no-store"
    assert client.get("/static/css/site.css").headers.get("Cache-Control") != "no-store"


@pytest.mark.parametrize(("hsts_setting", "expected"), [("true", True), ("false", False)])
def test_hsts_only_over_https_when_enabled(make_app, hsts_setting: str, expected: bool) -> None:
    client = make_app(SECURE_HSTS=hsts_setting).test_client()
    over_https = client.get("/healthz", base_url="https://prefs.example.com")
    assert ("Strict-Transport-Security" in over_https.headers) is expected
    if expected:
        assert over_https.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


def _assert_csp_safe(page: str) -> None:
    """Nothing a strict CSP blocks: no inline script/style, no event handlers, no foreign stylesheet."""
    document = lxml_html.fromstring(page)
    assert not document.xpath("//script"), "inline or external script"
    assert not document.xpath("//style"), "<style> element"
    assert not document.xpath("//*[@style]"), "style attribute"
    handlers = [a for el in document.iter() for a in el.attrib if str(a).lower().startswith("on")]
    assert not handlers, f"event handler attributes {handlers}"
    for href in document.xpath("//link[@rel='stylesheet']/@href"):
        assert href.startswith("/"), f"stylesheet from elsewhere: {href}"
    for action in document.xpath("//form/@action"):
        assert action.startswith("/") or not re.match(r"^[a-z]+:", action), action


def test_the_flow_pages_obey_the_csp(client, emulator) -> None:
    page = client.get(f"/unsubscribe?t={demo_link_token(2)}")
    _assert_csp_safe(page.get_data(as_text=True))
    action, fields = form_fields(page.get_data(as_text=True))
    done = client.post(action, data=fields)
    assert done.status_code == 200
    _assert_csp_safe(done.get_data(as_text=True))
    _assert_csp_safe(client.get("/unsubscribe?t=broken").get_data(as_text=True))
    _assert_csp_safe(client.get("/nowhere").get_data(as_text=True))
    for css in lxml_html.fromstring(page.get_data(as_text=True)).xpath("//link[@rel='stylesheet']/@href"):
        assert client.get(css).status_code == 200, css


def test_404_and_405_pages_keep_their_status_and_allow_header(client) -> None:
    missing = client.get("/wp-login.php", headers={"Accept-Language": "de"})
    assert missing.status_code == 404
    assert "text/html" in missing.content_type
    wrong = client.put("/healthz")
    assert wrong.status_code == 405
    assert "GET" in wrong.headers["Allow"]


def test_413_for_a_body_over_the_cap(make_app) -> None:
    client = make_app(MAX_BODY_BYTES="1000").test_client()
    response = client.post(f"/unsubscribe?t={demo_link_token(1)}", data={"other_text": "x" * 5000})
    assert response.status_code == 413
    assert "Traceback" not in response.get_data(as_text=True)


def test_500_shows_no_details_but_the_log_has_the_redacted_traceback(make_app, capsys) -> None:
    app = make_app()
    app.testing = False  # as in production: the error handler answers instead of the test client raising

    @app.get("/explode")
    def explode():
        raise RuntimeError("database password=hunter2 for carol@example.com")

    response = app.test_client().get("/explode", headers={"Accept-Language": "fr-CH, fr;q=0.9"})
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert '<html lang="fr"' in body
    for detail in ("RuntimeError", "hunter2", "carol@", "Traceback", "explode"):
        assert detail not in body
    logged = capsys.readouterr().out
    assert "RuntimeError" in logged
    assert "hunter2" not in logged
    assert "carol@example.com" not in logged
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


# --- over a real HTTP server -------------------------------------------------------------------------


def test_only_a_429_tells_the_client_when_to_retry(make_app) -> None:
    """Retry-After means "come back later": a 400, 413 or 500 must not say it (a client would wait and
    send the same request again); the 429 must."""
    app = make_app(RATELIMIT_POST="4 per minute")
    app.testing = False

    @app.post("/explode")
    def explode():
        raise RuntimeError("boom")

    with live_server(app) as server:
        url = f"{server.base_url}/unsubscribe?t="
        answers = {
            400: requests.post(url + "broken", data={"scope": "all"}, timeout=10),
            413: requests.post(url + demo_link_token(1), data={"other_text": "x" * 20000}, timeout=10),
            500: requests.post(f"{server.base_url}/explode", data={"a": "b"}, timeout=10),
        }
        requests.post(url + "broken", data={"scope": "all"}, timeout=10)
        answers[429] = requests.post(url + "broken", data={"scope": "all"}, timeout=10)
    assert {status: answer.status_code for status, answer in answers.items()} == {s: s for s in answers}
    assert {
        status: answer.headers.get("Retry-After") for status, answer in answers.items() if status != 429
    } == {
        400: None,
        413: None,
        500: None,
    }
    assert int(answers[429].headers["Retry-After"]) > 0


def _chunked_post(server, path: str, body: bytes, chunk_size: int = 4096) -> RawResponse:
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + chunk_size]), body[i : i + chunk_size])
        for i in range(0, len(body), chunk_size)
    )
    request = (
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        + chunks
        + b"0\r\n\r\n"
    )
    return raw_request(server, request)


@pytest.mark.parametrize("one_click", [False, True])
def test_an_oversized_chunked_body_gets_413(make_app, one_click: bool) -> None:
    app = make_app(MAX_BODY_BYTES="1000")
    fields = b"List-Unsubscribe=One-Click&" if one_click else b"scope=all&"
    with live_server(app) as server:
        answer = _chunked_post(
            server, f"/unsubscribe?t={demo_link_token(1)}", fields + b"other_text=" + b"x" * 5000
        )
    assert answer.status_code == 413, answer.text[:300]
    assert "Traceback" not in answer.text


def test_a_chunked_one_click_post_within_the_cap_unsubscribes(make_app, emulator) -> None:
    app = make_app()
    with live_server(app) as server:
        answer = _chunked_post(
            server, f"/unsubscribe?t={demo_link_token(3)}", b"List-Unsubscribe=One-Click", chunk_size=5
        )
    assert answer.status_code == 200, answer.text[:300]
    assert [event["subscriber_key"] for event in emulator.events()] == ["demo-003"]


def test_gunicorn_refuses_an_oversized_chunked_body_with_413_and_takes_one_that_fits(
    emulator, tmp_path
) -> None:
    """The production server too: gunicorn ends chunked bodies itself (``wsgi.input_terminated``)."""
    server = start_gunicorn(app_environment(emulator, tmp_path, MAX_BODY_BYTES="1000"), tmp_path)
    try:
        address = urlsplit(server.base_url)
        live = LiveServer(address.hostname, address.port)
        oversized = _chunked_post(
            live, f"/unsubscribe?t={demo_link_token(1)}", b"scope=all&other_text=" + b"x" * 5000
        )
        fits = _chunked_post(live, f"/unsubscribe?t={demo_link_token(5)}", b"List-Unsubscribe=One-Click", 7)
    finally:
        stop_process(server.process)
    assert oversized.status_code == 413, oversized.text[:300]
    assert "Retry-After" not in {name.title() for name in oversized.headers}
    assert fits.status_code == 200, fits.text[:300]
    assert [event["subscriber_key"] for event in emulator.events()] == ["demo-005"]
