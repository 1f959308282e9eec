"""Starting, waiting for and stopping subprocesses: the one copy the tests and the benchmarks share."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
#: The virtualenv's scripts (gunicorn, flask) next to the running interpreter.
BIN = Path(PYTHON).parent


def free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(log_path: Path | None, chars: int = 2000) -> str:
    """The end of a process's log, for an error message that says why it did not start."""
    if log_path is None or not log_path.exists():
        return ""
    return log_path.read_text(encoding="utf-8", errors="replace")[-chars:]


def wait_for_http(
    url: str,
    timeout: float = 30.0,
    process: subprocess.Popen | None = None,
    *,
    log_path: Path | None = None,
    ok_only: bool = False,
) -> None:
    """Poll ``url`` until it answers (with 200 when ``ok_only``, else with any status).

    Fails early, with the end of ``log_path``, when ``process`` exits first: a process that cannot start
    should say why within a second, not after the whole timeout.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"{process.args[:4]} exited with {process.returncode} before {url} answered:\n"
                + log_tail(log_path)
            )
        try:
            if requests.get(url, timeout=2).status_code == 200 or not ok_only:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout} s:\n{log_tail(log_path)}")


def spawn(
    argv: list[str], log_path: Path, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.Popen:
    """Start ``argv`` in a new session (its own process group), stdout and stderr appended to ``log_path``.

    A process group of its own lets ``kill_group`` end a gunicorn master and every worker at once, as a
    crash of the machine would, and keeps a terminal's Ctrl-C from reaching it twice.
    """
    log: IO[bytes] = log_path.open("ab")
    try:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        log.close()


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL, timeout: float = 15.0) -> None:
    """Send ``sig`` to the process group of ``process`` (master and every child) and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)
    # Children of a killed master may linger a moment (gunicorn workers); make sure none survives.
    if sig != signal.SIGKILL:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def stop_group(process: subprocess.Popen) -> None:
    """A clean stop (SIGTERM) of a process group started by ``spawn``; SIGKILL when it takes over 15 s."""
    if process.poll() is None:
        kill_group(process, signal.SIGTERM)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def stop_process(process: subprocess.Popen) -> None:
    """Terminate one child process and reap it, killing it if it does not stop within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    if process.stdout:
        process.stdout.close()


@contextmanager
def processes() -> Iterator[list[subprocess.Popen]]:
    """A list to register started process groups in; every one is stopped on the way out."""
    started: list[subprocess.Popen] = []
    try:
        yield started
    finally:
        for process in reversed(started):
            stop_group(process)


#: A process that opens a journal, holds a write transaction and says so (then sleeps until killed).
_HOLD_WRITER = (
    "import sys, time\n"
    "from app.journal.store import open_journal\n"
    "j = open_journal(sys.argv[1], sys.argv[2])\n"
    "with j._transaction():\n"
    "    print('holding', flush=True)\n"
    "    time.sleep(float(sys.argv[3]))\n"
)


def hold_journal_writer(database_url: str, instance_path: Path, seconds: float = 120) -> subprocess.Popen:
    """Another process holding the journal's write transaction, returned once it holds it; kill it to let go.

    What a stuck or stopped writer on the same file looks like to the app (the tests of bounded lock waits
    and of a writer killed mid-transaction).
    """
    holder = subprocess.Popen(
        [PYTHON, "-c", _HOLD_WRITER, database_url, str(instance_path), str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder
