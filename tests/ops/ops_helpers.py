"""Helpers of the operations tests: signed demo links, gunicorn and nginx subprocesses, log and HTML parsing.

Plain functions (fixtures live in conftest.py); the shared helpers come from ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from testkit import gunicorn as testkit_gunicorn
from tests import conftest as shared

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

free_port = shared.free_port
wait_for_http = shared.wait_for_http
stop_process = shared.stop_process
base_test_config = shared.base_test_config
IN_CI = shared.IN_CI
TEST_SIGNING_KEY = shared.TEST_SIGNING_KEY
EMULATOR_CLIENT_ID = shared.EMULATOR_CLIENT_ID
EMULATOR_CLIENT_SECRET = shared.EMULATOR_CLIENT_SECRET

# Demo identities of the emulator (emulator/data/demo.json): demo-001..demo-020 are active on the Newsletter
# list and got job 18099, odd numbers in batch 0, even numbers in batch 1.
NEWSLETTER = {"j": 18099, "l": 17914}


def demo_link_token(number: int = 1, *, with_email: bool = True, key: str = TEST_SIGNING_KEY) -> str:
    """A signed link token for demo subscriber ``demo-00N`` built as an email would carry it (HS256 JWT)."""
    claims: dict[str, Any] = {"v": 1, "sk": f"demo-{number:03d}", **NEWSLETTER, "b": 0 if number % 2 else 1}
    if with_email:
        claims["em"] = f"demo{number:03d}@example.com"
    return jwt.encode(claims, key, algorithm="HS256")


def demo_email(number: int) -> str:
    return f"demo{number:03d}@example.com"


def app_environment(emulator: Any, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """A process environment for gunicorn/flask subprocesses on the emulator and a SQLite journal."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SFMC_", "GUNICORN_", "PROMETHEUS_", "RATELIMIT_"))
        and key not in ("DATABASE_URL", "LINK_SIGNING_KEYS", "WEB_CONCURRENCY", "PORT", "SCRIPT_NAME")
    }
    config = base_test_config(emulator, tmp_path)
    config.pop("TESTING")
    env.update({key: str(value) for key, value in config.items()})
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


@dataclass
class Gunicorn:
    """A running gunicorn and where its output goes."""

    process: subprocess.Popen
    base_url: str
    output: Path

    def log_lines(self) -> list[str]:
        return self.output.read_text(encoding="utf-8", errors="replace").splitlines()

    def json_records(self) -> list[dict[str, Any]]:
        """Every JSON log line written so far (stdout and stderr interleaved)."""
        records = []
        for line in self.log_lines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records


def start_gunicorn(
    env: dict[str, str], tmp_path: Path, *, args: tuple[str, ...] = (), cwd: Path = ROOT, workers: int = 1
) -> Gunicorn:
    """``gunicorn -c gunicorn.conf.py wsgi:app`` on a free loopback port; waits until /healthz answers 200."""
    port = free_port()
    env = {"WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": "2", **env}
    output = tmp_path / f"gunicorn-{port}.log"
    process = testkit_gunicorn.start_gunicorn(env, output, port, args=args, cwd=cwd, timeout=20)
    base_url = f"http://127.0.0.1:{port}{env.get('SCRIPT_NAME', '')}"
    return Gunicorn(process=process, base_url=base_url, output=output)


def nginx_binary() -> str:
    """The nginx executable; skipped with a reason where it is not installed, a failure on CI."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        if IN_CI:
            pytest.fail("nginx is not installed on CI; .ci/run installs it")
        pytest.skip("nginx is not installed (apt-get install nginx): the reverse-proxy walk is skipped")
    return found


def openssl_binary() -> str:
    """The openssl executable (throwaway certificates); skipped where it is missing, a failure on CI."""
    found = shutil.which("openssl")
    if found is None:
        if IN_CI:
            pytest.fail("openssl is not installed on CI; .ci/run installs it")
        pytest.skip("openssl is not installed (apt-get install openssl): no certificate for nginx")
    return found


def self_signed_certificate(directory: Path, name: str = "prefs.example.com") -> tuple[Path, Path]:
    """A one-day certificate and its key for ``name`` and 127.0.0.1 (clients on loopback can verify it)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl_binary(), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name},IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def start_nginx(
    prefix: Path, config: Path, ready_url: str, *, directives: str = "", **request_options: Any
) -> subprocess.Popen:
    """nginx with everything under ``prefix`` (``directives`` added with ``-g``, e.g. ``daemon off;``);
    waits until ``ready_url`` answers 200."""
    error_log = prefix / "error.log"
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(prefix), "-e", str(error_log), "-c", str(config)]
        + (["-g", directives] if directives else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 10
    try:
        while True:
            if process.poll() is not None:
                log = error_log.read_text() if error_log.exists() else ""
                raise RuntimeError(f"nginx exited: {process.stdout.read()} {log}")
            try:
                if requests.get(ready_url, timeout=1, **request_options).status_code == 200:
                    return process
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"nginx did not answer {ready_url}"
            time.sleep(0.1)
    except BaseException:
        stop_process(process)
        raise


def form_fields(html: str, form_index: int = 0) -> tuple[str, dict[str, str]]:
    """The action of a page's form and the values a browser would submit with the defaults chosen."""
    from lxml import html as lxml_html

    document = lxml_html.fromstring(html)
    form = document.forms[form_index]
    values: dict[str, str] = {}
    for element in form.inputs:
        name = element.get("name")
        if not name:
            continue
        if element.tag == "input" and element.get("type") in ("radio", "checkbox"):
            if element.get("checked") is not None or name not in values:
                values[name] = element.get("value", "on")
        elif element.tag in ("input", "textarea") and element.get("type") != "submit":
            values[name] = element.value or ""
    return form.get("action"), values
