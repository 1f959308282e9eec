"""The marketer's own stylesheet (``BRAND_STYLESHEET_URL``, https on another origin) really applies in
Chromium under the page's CSP, while a stylesheet from an origin the CSP does not name stays blocked."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import CHROMIUM_FLAGS, chromium_paths, in_ci, live_server
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from app import create_app
from tests.conftest import base_test_config, close_app

OWN_CSS = "body { background-color: rgb(255, 250, 240); } h1 { letter-spacing: 3px; }"
OTHER_CSS = "h1 { text-transform: uppercase; }"


@pytest.fixture(scope="module")
def chromium_trusting_any_certificate() -> Iterator[webdriver.Chrome]:
    """Headless Chromium that accepts the test's self-signed certificate (nothing else is different)."""
    browser, driver_path = chromium_paths()
    if not (browser and driver_path):
        if in_ci():
            pytest.fail("Debian chromium/chromium-driver are not installed on CI; .ci/run installs them")
        pytest.skip("Debian chromium/chromium-driver are not installed")
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in [*CHROMIUM_FLAGS, "--ignore-certificate-errors", f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        driver.set_page_load_timeout(20)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@contextmanager
def https_stylesheets(tmp_path: Path) -> Iterator[int]:
    """An HTTPS server on loopback (self-signed) serving /own.css and /other.css; yields its port."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subprocess.run(
        [*request, "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )

    @Request.application
    def styles(request: Request) -> Response:
        body = {"/own.css": OWN_CSS, "/other.css": OTHER_CSS}.get(request.path)
        return Response(body or "", status=200 if body else 404, mimetype="text/css")

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = make_server("127.0.0.1", 0, styles, threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def test_the_own_stylesheet_applies_and_another_origin_stays_blocked(
    chromium_trusting_any_certificate: webdriver.Chrome, emulator: Any, tmp_path: Path
) -> None:
    driver = chromium_trusting_any_certificate
    with https_stylesheets(tmp_path) as port:
        # The CSP allows https://127.0.0.1:PORT; https://localhost:PORT is the same server, another origin.
        templates = tmp_path / "templates"
        templates.mkdir()
        (templates / "base.html").write_text(
            '{% extends "layout.html" %}{% block head_extra %}'
            f'<link rel="stylesheet" href="https://localhost:{port}/other.css">{{% endblock %}}',
            encoding="utf-8",
        )
        app = create_app(
            base_test_config(
                emulator,
                tmp_path,
                BRAND_STYLESHEET_URL=f"https://127.0.0.1:{port}/own.css",
                TEMPLATE_DIR=str(templates),
            )
        )
        try:
            with live_server(app) as base_url:
                driver.get(f"{base_url}/")
                style = driver.execute_script(
                    "const h1 = getComputedStyle(document.querySelector('h1'));"
                    "return [getComputedStyle(document.body).backgroundColor, h1.letterSpacing,"
                    " h1.textTransform];"
                )
                heading = driver.find_element(By.TAG_NAME, "h1").text
        finally:
            close_app(app)
    assert style[:2] == ["rgb(255, 250, 240)", "3px"], "the own stylesheet did not apply"
    assert style[2] == "none", "a stylesheet from an origin the CSP does not name was applied"
    assert heading == "Email preferences"
