"""gunicorn.conf.py and start-up validation: settings from the environment, access log without tokens,
metrics shared by worker processes, one line per configuration problem and exit status 2."""

from __future__ import annotations

import json
import runpy
import subprocess
from pathlib import Path

import pytest
import requests
from ops_helpers import ROOT, VENV_BIN, app_environment, demo_link_token, start_gunicorn, stop_process
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from config import SETTINGS

GUNICORN = [str(VENV_BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"]
FLASK = [str(VENV_BIN / "flask"), "--app", "wsgi"]


def run(command: list[str], env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_settings_come_from_the_environment(monkeypatch, tmp_path, emulator) -> None:
    for name, value in app_environment(emulator, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "8")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "45")
    monkeypatch.setenv("GUNICORN_ACCESSLOG", "off")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["bind"] == ["0.0.0.0:9000"]
    assert (settings["workers"], settings["threads"], settings["timeout"]) == (3, 8, 45)
    assert settings["worker_class"] == "gthread"
    assert settings["accesslog"] is None
    assert settings["max_requests"] > 0 and settings["max_requests_jitter"] > 0
    assert settings["graceful_timeout"] > 0 and settings["keepalive"] > 0
    assert "%(q)s" not in settings["access_log_format"] and "%(r)s" not in settings["access_log_format"]
    assert (tmp_path / "metrics").is_dir()

    monkeypatch.delenv("PORT")
    monkeypatch.delenv("WEB_CONCURRENCY")
    monkeypatch.delenv("GUNICORN_ACCESSLOG")
    defaults = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert defaults["bind"] == ["127.0.0.1:8000"]  # loopback unless told otherwise
    assert 2 <= defaults["workers"] <= 8
    assert defaults["accesslog"] == "-"


BROKEN = {"SFMC_AUTH_URL": "", "SFMC_TIMEOUT": "soon", "LINK_SIGNING_KEYS": "k3y-tiny"}
EXPECTED_PROBLEMS = [
    "configuration error: SFMC_AUTH_URL is not set",
    "configuration error: SFMC_TIMEOUT is invalid",
    "configuration error: LINK_SIGNING_KEYS is invalid: key number 1 is shorter than 16 bytes",
]


@pytest.mark.parametrize(
    "command",
    [GUNICORN, [*FLASK, "check-config"], [*FLASK, "journal", "deliver", "--forever"]],
    ids=["gunicorn", "flask check-config", "flask worker"],
)
def test_a_bad_configuration_stops_with_one_line_per_problem(command, emulator, tmp_path) -> None:
    env = app_environment(emulator, tmp_path, **BROKEN)
    env.pop("SFMC_AUTH_URL")
    result = run(command, env)
    assert result.returncode == 2, result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith("configuration error:")]
    assert len(problems) == 3
    for line, expected in zip(problems, EXPECTED_PROBLEMS, strict=True):
        assert line.startswith(expected)
    assert "Traceback" not in result.stderr + result.stdout
    assert "k3y-tiny" not in result.stderr  # the secret's value is never echoed


@pytest.mark.parametrize("command", [GUNICORN, [*FLASK, "check-config"]], ids=["gunicorn", "flask"])
def test_a_malformed_rate_limit_stops_start_up_too(command, emulator, tmp_path) -> None:
    result = run(command, app_environment(emulator, tmp_path, RATELIMIT_POST="plenty"))
    assert result.returncode == 2
    assert result.stderr.strip().startswith("configuration error: RATELIMIT_POST is invalid")
    assert "Traceback" not in result.stderr


def test_check_config_prints_the_effective_configuration_with_secrets_redacted(emulator, tmp_path) -> None:
    env = app_environment(emulator, tmp_path, METRICS_TOKEN="metrics-secret-value", BRAND_NAME="Acme News")
    result = run([*FLASK, "check-config"], env)
    assert result.returncode == 0, result.stderr
    shown = dict(line.split(" = ", 1) for line in result.stdout.splitlines())
    assert {name.strip() for name in shown} == {setting.name for setting in SETTINGS}
    shown = {name.strip(): value for name, value in shown.items()}
    assert shown["BRAND_NAME"] == "Acme News"
    assert shown["SFMC_CLIENT_ID"] == env["SFMC_CLIENT_ID"]
    for secret in ("SFMC_CLIENT_SECRET", "LINK_SIGNING_KEYS", "METRICS_TOKEN"):
        assert shown[secret] == "<redacted>"
        assert env[secret] not in result.stdout
    assert shown["RATELIMIT_POST"] == "20 per minute"


def test_gunicorn_access_log_has_no_query_and_metrics_add_up_across_workers(emulator, tmp_path) -> None:
    metrics_dir = tmp_path / "metrics"
    env = app_environment(emulator, tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    server = start_gunicorn(env, tmp_path, workers=2)
    try:
        token = demo_link_token(17)
        page = requests.get(
            f"{server.base_url}/unsubscribe?t={token}", headers={"X-Request-ID": "acc-1"}, timeout=5
        )
        assert page.status_code == 200
        assert page.headers["X-Request-ID"] == "acc-1"
        baseline = _healthz_count(server.base_url)  # start_gunicorn polled /healthz already
        # A new connection each time: the kernel spreads them over both workers, but only usually (one busy
        # worker under load may take them all), so send until both served some, with a bound.
        sent = 0
        while sent < 30 or (len(_healthz_counts_per_worker(metrics_dir)) < 2 and sent < 600):
            assert requests.get(f"{server.base_url}/healthz?t=SECRET-IN-QUERY", timeout=5).status_code == 200
            sent += 1
        assert len(_healthz_counts_per_worker(metrics_dir)) >= 2, f"one worker served all {sent} requests"
        counts = {_healthz_count(server.base_url) for _ in range(6)}
        assert counts == {baseline + sent}, "each scrape must add up every worker's counters"
    finally:
        stop_process(server.process)
    records = server.json_records()
    output = server.output.read_text()
    assert len(records) == len([line for line in output.splitlines() if line.strip()]), "non-JSON lines"
    access = [record for record in records if record["logger"] == "gunicorn.access"]
    assert len(access) >= 31
    (page_line,) = [r for r in access if '"GET /unsubscribe HTTP/1.1" 200' in r["message"]]
    assert "acc-1" in page_line["message"]
    # One line per request: the access line carries the app's fields, and the app writes no second line.
    assert page_line["request_id"] == "acc-1" and page_line["route"] == "unsubscribe.show"
    assert page_line["status"] == 200 and page_line["outcome"] == "form_shown"
    assert isinstance(page_line["duration_ms"], int | float)
    assert not [r for r in records if r["logger"] == "app.ops.logs" and r.get("route") == "unsubscribe.show"]
    assert token not in output
    assert token.split(".")[2] not in output
    assert "SECRET-IN-QUERY" not in output
    assert "demo017@example.com" not in output


def _healthz_counts_per_worker(metrics_dir: Path) -> dict[str, float]:
    """Healthz requests counted in each worker's own metrics file (counter_<pid>.db), workers with none left
    out."""
    counts: dict[str, float] = {}
    for path in metrics_dir.glob("counter_*.db"):
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
            _metric, name, labels, _help = json.loads(key)
            if name == "profile_center_http_requests_total" and labels.get("route") == "ops_health.healthz":
                counts[path.name] = counts.get(path.name, 0.0) + value
    return {name: value for name, value in counts.items() if value > 0}


def _healthz_count(base_url: str) -> float:
    text = requests.get(f"{base_url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "profile_center_http_requests_total"
                and sample.labels["route"] == "ops_health.healthz"
            ):
                return sample.value
    return 0.0


def test_with_the_access_log_off_the_app_writes_the_request_line(emulator, tmp_path) -> None:
    env = app_environment(emulator, tmp_path, GUNICORN_ACCESSLOG="off")
    server = start_gunicorn(env, tmp_path)
    try:
        token = demo_link_token(19)
        page = requests.get(
            f"{server.base_url}/unsubscribe?t={token}", headers={"X-Request-ID": "own-1"}, timeout=5
        )
        assert page.status_code == 200
    finally:
        stop_process(server.process)
    records = server.json_records()
    assert not [r for r in records if r["logger"] == "gunicorn.access"]
    (line,) = [r for r in records if r.get("request_id") == "own-1"]
    assert line["logger"] == "app.ops.logs" and line["message"] == "GET unsubscribe.show 200"
    assert line["route"] == "unsubscribe.show" and line["outcome"] == "form_shown"
    assert token not in server.output.read_text()
