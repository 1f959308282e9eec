"""The Marketing Cloud emulator (``python -m emulator``) as a real HTTP server on a free loopback port."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from testkit.processes import PYTHON, free_port, spawn, stop_group, wait_for_http

#: The emulator's built-in credentials (emulator/README.md); its ``--client-id`` flags change them.
EMULATOR_CLIENT_ID = "demo-client-id"
EMULATOR_CLIENT_SECRET = "demo-client-secret"  # noqa: S105 - the emulator's published demo secret


@dataclass
class Emulator:
    """A running emulator: its base URL, its process and helpers for its inspection API."""

    base_url: str
    process: subprocess.Popen
    log_path: Path | None  # None: the output was only kept until it had started

    @property
    def auth_url(self) -> str:
        return self.base_url

    @property
    def soap_url(self) -> str:
        return f"{self.base_url}/Service.asmx"

    def state(self) -> dict[str, Any]:
        """Everything the emulator holds (generous timeout: a soak's state has thousands of events)."""
        response = requests.get(f"{self.base_url}/_emulator/state", timeout=60)
        response.raise_for_status()
        return response.json()

    def events(self) -> list[dict[str, Any]]:
        """The UnsubEvents logged so far, oldest first."""
        return self.state()["events"]

    def updates(self) -> list[dict[str, Any]]:
        """Every list status an Update set, in the order Marketing Cloud processed them."""
        return self.state()["updates"]

    def membership(self, subscriber_key: str, list_id: str) -> str | None:
        """The person's status on one list (``Active``, ``Unsubscribed``), None when not on it."""
        for row in self.state()["memberships"]:
            if row["subscriber_key"] == subscriber_key and row["list_id"] == list_id:
                return row["status"]
        return None

    def reset(self) -> None:
        """Back to the data it started with, no faults."""
        requests.post(f"{self.base_url}/_emulator/reset", timeout=10).raise_for_status()

    def faults(self, **settings: Any) -> None:
        """Replace the whole fault configuration (docs/emulator.md)."""
        requests.post(f"{self.base_url}/_emulator/faults", json=settings, timeout=10).raise_for_status()

    def stop(self) -> None:
        """Stop the emulator's process group."""
        stop_group(self.process)


def start_emulator(
    *extra_args: str, log_path: Path | None = None, data_file: Path | None = None, timeout: float = 60.0
) -> Emulator:
    """``python -m emulator`` on a free port (``data_file`` instead of the demo data when given); returns
    once it answers. Its output goes to ``log_path``, so a long run never blocks on a full pipe and a
    failed start shows why; without one, to a temporary file removed once the emulator has started."""
    keep_log = log_path is not None
    if log_path is None:
        with tempfile.NamedTemporaryFile(prefix="emulator-", suffix=".log", delete=False) as handle:
            log_path = Path(handle.name)
    port = free_port()
    argv = [PYTHON, "-m", "emulator", "--host", "127.0.0.1", "--port", str(port), *extra_args]
    if data_file is not None:
        argv += ["--data", str(data_file)]
    process = spawn(argv, log_path)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base_url}/_emulator/state", timeout, process, log_path=log_path)
    except BaseException:
        stop_group(process)
        raise
    if not keep_log:
        log_path.unlink()  # the emulator writes on into the open file; nothing is left behind in /tmp
    return Emulator(base_url=base_url, process=process, log_path=log_path if keep_log else None)
