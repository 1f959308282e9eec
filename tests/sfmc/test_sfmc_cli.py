"""``flask --app wsgi sfmc …`` as an operator runs it: a real process, the emulator over loopback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from testkit.cli import flask_cli
from tests.conftest import (
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    TEST_SIGNING_KEY,
    EmulatorServer,
    free_port,
)


def run_flask(tmp_path: Path, auth_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SFMC_", "FLASK_"))} | {
        "SFMC_AUTH_URL": auth_url,
        "SFMC_CLIENT_ID": EMULATOR_CLIENT_ID,
        "SFMC_CLIENT_SECRET": EMULATOR_CLIENT_SECRET,
        "SFMC_TIMEOUT": "2",
        "LINK_SIGNING_KEYS": TEST_SIGNING_KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'journal.sqlite3'}",
    }
    return flask_cli(env, "sfmc", *args)


def test_ping(emulator: EmulatorServer, tmp_path: Path) -> None:
    done = run_flask(tmp_path, emulator.auth_url, "ping")
    assert done.returncode == 0, done.stderr
    assert "token: ok" in done.stdout
    assert f"soap endpoint: {emulator.base_url}/Service.asmx reached" in done.stdout
    assert "ErrorCode 402" in done.stdout
    assert emulator.events() == []
    assert EMULATOR_CLIENT_SECRET not in done.stdout + done.stderr


def test_log_unsub_delivered_then_already(emulator: EmulatorServer, tmp_path: Path) -> None:
    args = (
        "log-unsub",
        "--subscriber-key",
        "demo-001",
        "--email",
        "demo001@example.com",
        "--job-id",
        "18099",
    )
    done = run_flask(tmp_path, emulator.auth_url, *args, "--reason", "Phoned the help desk")
    assert done.returncode == 0, done.stderr
    assert "outcome: delivered" in done.stdout and "StatusMessage: Event posted" in done.stdout
    assert "d•••@example.com" in done.stdout
    assert "demo001@example.com" not in done.stdout + done.stderr
    (event,) = emulator.events()
    assert (event["subscriber_key"], event["job_id"], event["reason"]) == (
        "demo-001",
        "18099",
        "Phoned the help desk",
    )
    assert "RequestID: " in done.stdout

    again = run_flask(tmp_path, emulator.auth_url, *args)
    assert again.returncode == 0, again.stderr
    assert "outcome: already" in again.stdout and "ErrorCode: 401" in again.stdout


def test_log_unsub_in_child_unit_rejected_without_mid(emulator: EmulatorServer, tmp_path: Path) -> None:
    done = run_flask(
        tmp_path, emulator.auth_url, "log-unsub", "--subscriber-key", "child-004", "--job-id", "28001"
    )
    assert done.returncode == 1
    assert "outcome: rejected" in done.stdout and "ErrorCode: 400" in done.stdout
    done = run_flask(
        tmp_path,
        emulator.auth_url,
        "log-unsub",
        "--subscriber-key",
        "child-004",
        "--job-id",
        "28001",
        "--mid",
        "510001001",
    )
    assert done.returncode == 0 and "outcome: delivered" in done.stdout
    assert emulator.events()[0]["mid"] == "510001001"


def test_unreachable_marketing_cloud_is_one_readable_line(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    done = run_flask(tmp_path, nowhere, "log-unsub", "--subscriber-key", "demo-002")
    assert done.returncode == 3
    assert "Traceback" not in done.stdout + done.stderr
    assert "error: Marketing Cloud unavailable: cannot connect to 127.0.0.1" in done.stderr
    assert "(nothing was sent)" in done.stderr
    ping = run_flask(tmp_path, nowhere, "ping")
    assert ping.returncode == 1 and "Traceback" not in ping.stdout + ping.stderr
    assert "token: FAILED: cannot connect" in ping.stdout


def test_without_any_subscriber_identifier_nothing_is_sent(emulator: EmulatorServer, tmp_path: Path) -> None:
    done = run_flask(tmp_path, emulator.auth_url, "log-unsub", "--job-id", "18099")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "give at least one of --subscriber-key, --subscriber-id, --email" in done.stderr
    assert emulator.state()["stats"]["soap_calls"] == 0
