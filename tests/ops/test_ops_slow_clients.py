"""Slow clients do not stall the server: 200 connections dripping one header line every two seconds and
200 more dripping one body byte every two seconds, while another client asks ``/healthz`` four times and
gets each answer within a second.

Run against the shipped nginx configurations in front of a real gunicorn with the image's settings (2
workers, gunicorn.conf.py's 16 threads): the container's whole nginx.conf (compose and the documented
``docker run`` commands) and the TLS server of ``profile-center.conf`` inside Debian's default event limits.
A last test shows why the proxy is required: gunicorn reached directly is stalled by the header drippers.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ops_helpers import (
    ROOT,
    Gunicorn,
    app_environment,
    free_port,
    self_signed_certificate,
    start_gunicorn,
    start_nginx,
    stop_process,
)
from slow_clients import (
    BODY_DRIP,
    CONNECTIONS,
    HEADER_DRIP,
    Drippers,
    body_head,
    header_head,
    probes_while_dripping,
)

pytestmark = [pytest.mark.nginx, pytest.mark.slow]

NGINX_DIR = ROOT / "deploy" / "nginx"
LOCATIONS = NGINX_DIR / "profile-center-locations.conf"
# Debian's /etc/nginx/nginx.conf, into whose http block profile-center.conf is installed, allows 768.
DEBIAN_WORKER_CONNECTIONS = 768


@pytest.fixture(scope="module")
def image_gunicorn(emulator_server, tmp_path_factory) -> Iterator[Gunicorn]:
    """gunicorn as the image and compose run it (two workers, the configured threads), behind one proxy."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    env = app_environment(emulator_server, tmp_path, TRUSTED_PROXIES="1", GUNICORN_ACCESSLOG="off")
    app = start_gunicorn({**env, "GUNICORN_THREADS": ""}, tmp_path, workers=2)  # "": the configured default
    yield app
    stop_process(app.process)


def upstream_port(app: Gunicorn) -> int:
    return int(app.base_url.rsplit(":", 1)[1])


def plain_connection(port: int) -> Callable[[], socket.socket]:
    return lambda: socket.create_connection(("127.0.0.1", port), timeout=5)


def tls_connection(port: int, cert: Path) -> Callable[[], socket.socket]:
    context = ssl.create_default_context(cafile=str(cert))

    def connect() -> socket.socket:
        return context.wrap_socket(
            socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="prefs.example.com"
        )

    return connect


def assert_healthz_answers_while_dripping(
    connect: Callable[[], socket.socket], prefix: str, healthz: str, **request_options: object
) -> None:
    """Both sets of drippers at once; every probe within a second while the server still holds them all."""
    header = Drippers(connect, header_head(f"{prefix}/healthz"), HEADER_DRIP)
    body = Drippers(connect, body_head(f"{prefix}/unsubscribe?t=slow"), BODY_DRIP)
    with header, body:
        timings = probes_while_dripping(header, healthz, **request_options)
        held = (header.open_connections(), body.open_connections())
    assert all(seconds < 1.0 for seconds in timings), f"/healthz took {timings} s (slow clients held: {held})"
    assert held == (CONNECTIONS, CONNECTIONS), f"the slow connections were dropped early: {held}"


def test_the_container_nginx_conf_keeps_gunicorn_answering(image_gunicorn, tmp_path) -> None:
    """deploy/nginx/container-nginx.conf as compose and the docker run commands mount it."""
    port = free_port()
    shipped = (NGINX_DIR / "container-nginx.conf").read_text()
    config = shipped.replace("/tmp/nginx", f"{tmp_path}/nginx")
    config = config.replace("/dev/stdout", f"{tmp_path}/access.log").replace(
        "/dev/stderr", f"{tmp_path}/e.log"
    )
    config = config.replace("/etc/nginx/snippets/profile-center-locations.conf", str(LOCATIONS))
    config = config.replace("server app:8000", f"server 127.0.0.1:{upstream_port(image_gunicorn)}")
    config = config.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    assert config.count(str(tmp_path)) >= 7 and str(LOCATIONS) in config and f":{port};" in config
    (tmp_path / "nginx.conf").write_text(config)
    healthz = f"http://127.0.0.1:{port}/preferences/healthz"
    nginx = start_nginx(
        tmp_path, tmp_path / "nginx.conf", healthz, directives="daemon off; master_process off;"
    )
    try:
        assert_healthz_answers_while_dripping(plain_connection(port), "/preferences", healthz)
    finally:
        stop_process(nginx)


def test_the_tls_server_of_profile_center_conf_keeps_gunicorn_answering(image_gunicorn, tmp_path) -> None:
    """deploy/nginx/profile-center.conf inside Debian's nginx.conf, with a throwaway certificate."""
    cert, key = self_signed_certificate(tmp_path)
    port, redirect_port = free_port(), free_port()
    site = (NGINX_DIR / "profile-center.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/prefs.example.com/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/prefs.example.com/privkey.pem", str(key))
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    site = site.replace("/etc/nginx/snippets/profile-center-locations.conf", str(LOCATIONS))
    site = site.replace("127.0.0.1:8000", f"127.0.0.1:{upstream_port(image_gunicorn)}")
    site = re.sub(r"listen \[::\]:\d+[^;]*;", "", site)  # loopback IPv4 only in tests
    site = site.replace("listen 443 ", f"listen 127.0.0.1:{port} ").replace(
        "listen 80;", f"listen 127.0.0.1:{redirect_port};"
    )
    assert f":{port} ssl" in site and str(LOCATIONS) in site
    (tmp_path / "site.conf").write_text(site)
    temp_paths = "".join(
        f"    {kind}_temp_path {tmp_path}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{ worker_connections {DEBIAN_WORKER_CONNECTIONS}; }}\n"
        f"http {{\n{temp_paths}    include {tmp_path}/site.conf;\n}}\n"
    )
    healthz = f"https://127.0.0.1:{port}/preferences/healthz"
    nginx = start_nginx(
        tmp_path,
        tmp_path / "nginx.conf",
        healthz,
        directives="daemon off; master_process off;",
        verify=str(cert),
    )
    try:
        assert_healthz_answers_while_dripping(
            tls_connection(port, cert), "/preferences", healthz, verify=str(cert)
        )
    finally:
        stop_process(nginx)
