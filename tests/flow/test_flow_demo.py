"""`make run` (python -m scripts.demo): everything starts, the printed links work, Ctrl-C stops it all."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_prints_working_links_and_stops_everything_on_ctrl_c() -> None:
    app_port, emulator_port = free_port(), free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scripts.demo",
            "--port",
            str(app_port),
            "--emulator-port",
            str(emulator_port),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(line.startswith("Logs:") for line in lines):
            line = demo.stdout.readline()
            if not line and demo.poll() is not None:
                break
            lines.append(line)
        output = "".join(lines)
        links = re.findall(rf"http://127\.0\.0\.1:{app_port}/unsubscribe\?t=\S+", output)
        assert len(links) == 6, output
        assert requests.get(links[2], timeout=10).status_code == 200
        assert '<html lang="de">' in requests.get(links[2], timeout=10).text
        done = requests.post(links[0], data={"scope": "list", "reason": "too_many"}, timeout=10)
        assert "You are unsubscribed" in done.text
        events = requests.get(f"http://127.0.0.1:{emulator_port}/_emulator/state", timeout=5).json()["events"]
        assert [(e["subscriber_key"], e["reason"]) for e in events] == [
            ("demo-001", "Profile Center: Too many emails")
        ]

        # The env file the demo wrote lets the venv's flask work on the running demo, as the banner says.
        (use,) = [line.strip() for line in lines if line.strip().startswith("set -a; . instance/demo.env")]
        assert use == "set -a; . instance/demo.env; set +a; .venv/bin/flask check-config"
        clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        checked = subprocess.run(["bash", "-c", use], cwd=ROOT, env=clean, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        assert checked.stderr.strip().splitlines()[-1] == "configuration OK"
        status = subprocess.run(
            ["bash", "-c", use.replace("check-config", "journal status --json")],
            cwd=ROOT,
            env=clean,
            capture_output=True,
            text=True,
        )
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["counts"]["delivered"] == 1  # the demo's journal, not another one

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
        for port in (app_port, emulator_port):
            with pytest.raises(requests.ConnectionError):
                requests.get(f"http://127.0.0.1:{port}/", timeout=2)
    finally:
        stop_process(demo)
