"""The project's ``flask --app wsgi …`` command line as a real subprocess (the journal, links, config)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from testkit.processes import PYTHON, ROOT, spawn

#: ``python -m flask`` of the running interpreter: the same virtualenv whichever way the caller started.
FLASK = [PYTHON, "-m", "flask", "--app", "wsgi"]


def flask_cli(env: dict[str, str], *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run ``flask --app wsgi ARGS`` in the project root to completion, output captured as text."""
    return subprocess.run(
        [*FLASK, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def journal_status(env: dict[str, str]) -> dict[str, Any]:
    """``flask journal status --json``: entries per state and the oldest pending age."""
    done = flask_cli(env, "journal", "status", "--json", timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"journal status failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """``flask --app wsgi journal deliver --forever`` in its own process group (``stop_group`` ends it)."""
    return spawn([*FLASK, "journal", "deliver", "--forever"], log_path, env)
