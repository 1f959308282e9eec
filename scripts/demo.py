"""`make run`: the whole service on this machine, against the Marketing Cloud emulator, with demo links.

Starts three processes — the emulator (`python -m emulator`), the journal worker (`flask --app wsgi journal
deliver --forever`) and the app under gunicorn on http://127.0.0.1:5000 — prints links minted for the
emulator's demo identities, and stops all three on Ctrl-C. Logs go to instance/demo-logs/; the demo journal
(instance/demo-journal.sqlite3) starts empty each time, like the emulator's data.

It also writes the demo's settings to instance/demo.env (git-ignored), so `flask` commands can be run
against the running demo from another terminal: `set -a; . instance/demo.env; set +a; .venv/bin/flask
check-config`.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.identity import Recipient  # noqa: E402
from app.links import LinkClaims, mint, unsubscribe_url  # noqa: E402

DEMO_SIGNING_KEY = "demo-link-signing-key-change-me"  # demo only: real deployments set their own
ENV_FILE = "demo.env"
#: What the app's settings need that the demo sets, but the env file leaves out (gunicorn's, the process's).
NOT_FOR_FLASK_COMMANDS = ("GUNICORN_BIND", "WEB_CONCURRENCY", "PYTHONUNBUFFERED")
NEWSLETTER = {"job_id": "18099", "list_id": "17914"}

# (what it shows, claims): the emulator's demo data (emulator/data/demo.json, docs/emulator.md).
DEMO_LINKS: tuple[tuple[str, LinkClaims], ...] = (
    (
        "Unsubscribe from one list (Newsletter, job 18099)",
        LinkClaims(
            Recipient(subscriber_key="demo-001", email="demo001@example.com", batch_id="0", **NEWSLETTER)
        ),
    ),
    (
        "A subscriber of the child business unit (MID 510001001)",
        LinkClaims(
            Recipient(
                subscriber_key="child-001", job_id="28001", list_id="27914", batch_id="0", mid="510001001"
            )
        ),
    ),
    (
        "In German (loc=de)",
        LinkClaims(Recipient(subscriber_key="demo-003", batch_id="0", **NEWSLETTER), locale="de"),
    ),
    (
        "Already unsubscribed from that list",
        LinkClaims(Recipient(subscriber_key="demo-022", batch_id="1", **NEWSLETTER)),
    ),
    (
        "Not on that job: 'could not find that subscription', then the offer to leave all email",
        LinkClaims(Recipient(subscriber_key="demo-024", batch_id="0", **NEWSLETTER)),
    ),
    (
        "No job in the link: only 'all marketing email' is offered",
        LinkClaims(Recipient(subscriber_key="demo-005")),
    ),
)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on ``host:port``."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is fine
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_environment(emulator_url: str, app_port: int, instance: Path) -> dict[str, str]:
    """The environment of the app and the worker: this process's, with the demo's settings over it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SFMC_", "GUNICORN_"))}
    env.update(demo_settings(emulator_url, app_port, instance))
    return env


def demo_settings(emulator_url: str, app_port: int, instance: Path) -> dict[str, str]:
    """The demo's settings: demo credentials, a demo key, a SQLite journal."""
    return {
        "SFMC_AUTH_URL": emulator_url,
        "SFMC_CLIENT_ID": "demo-client-id",
        "SFMC_CLIENT_SECRET": "demo-client-secret",
        # Every business unit has its own All Subscribers list (emulator/data/demo.json).
        "SFMC_ACCOUNT_ID": "510001000",
        "SFMC_ALL_SUBSCRIBERS_LISTS": "510001000:1000,510001001:2000",
        "LINK_SIGNING_KEYS": DEMO_SIGNING_KEY,
        "DATABASE_URL": f"sqlite:///{instance / 'demo-journal.sqlite3'}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{app_port}",
        "BRAND_NAME": os.environ.get("BRAND_NAME", "Example Newsletters"),
        "BRAND_CONTACT_URL": os.environ.get("BRAND_CONTACT_URL", "mailto:help@example.com"),
        "FLASK_APP": "wsgi",
        "SECURE_HSTS": "false",
        "GUNICORN_BIND": f"127.0.0.1:{app_port}",
        "WEB_CONCURRENCY": "2",
        "PYTHONUNBUFFERED": "1",
    }


def write_env_file(settings: dict[str, str], path: Path) -> Path:
    """The demo's own settings as a file a POSIX shell can source (``set -a; . FILE; set +a``)."""
    lines = [
        "# Settings of the running `make run` demo (scripts/demo.py writes this file at every start).",
        "# In another terminal, from the project folder:",
        "#   set -a; . instance/demo.env; set +a; .venv/bin/flask check-config",
    ]
    lines += [
        f"{key}={shlex.quote(value)}" for key, value in settings.items() if key not in NOT_FOR_FLASK_COMMANDS
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wait_for(url: str, process: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    """Poll ``url`` until it answers; stop the demo with the log's name if ``process`` dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"demo: the {what} exited with status {process.returncode}; see its log")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (loopback URL built here)
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise SystemExit(f"demo: the {what} did not answer at {url} within {timeout:.0f} s")


def start(argv: list[str], env: dict[str, str], log: IO[str]) -> subprocess.Popen:
    """A child in its own session: Ctrl-C reaches only this script, which then stops each child once.

    (A terminal's Ctrl-C would otherwise hit gunicorn as well, and a second signal from ``stop`` during
    its shutdown can leave the master hanging.)
    """
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM each child (app first, emulator last) and wait; kill what does not stop in 15 s."""
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
    for process in reversed(processes):
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5000, help="app port on 127.0.0.1 (default 5000)")
    parser.add_argument(
        "--emulator-port", type=int, default=9100, help="emulator port (default 9100; a free one if busy)"
    )
    args = parser.parse_args(argv)

    if not port_is_free(args.port):
        print(
            f"demo: port {args.port} on 127.0.0.1 is in use; stop what uses it or pass --port",
            file=sys.stderr,
        )
        return 1
    emulator_port = args.emulator_port if port_is_free(args.emulator_port) else free_port()
    instance = ROOT / "instance"
    logs = instance / "demo-logs"
    logs.mkdir(parents=True, exist_ok=True)
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    app_url = f"http://127.0.0.1:{args.port}"
    env = demo_environment(emulator_url, args.port, instance)
    env_file = write_env_file(demo_settings(emulator_url, args.port, instance), instance / ENV_FILE)
    # The emulator starts from its demo data every time, so the demo journal starts empty too.
    for stale in instance.glob("demo-journal.sqlite3*"):
        stale.unlink()

    processes: list[subprocess.Popen] = []
    log_files = [
        (logs / name).open("w", encoding="utf-8") for name in ("emulator.log", "worker.log", "app.log")
    ]
    # Ctrl-C and SIGTERM both end in the finally block below, which stops every child.
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    try:
        processes.append(
            start(
                [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", str(emulator_port)],
                env,
                log_files[0],
            )
        )
        wait_for(f"{emulator_url}/_emulator/state", processes[0], "emulator")
        processes.append(
            start(
                [sys.executable, "-m", "flask", "--app", "wsgi", "journal", "deliver", "--forever"],
                env,
                log_files[1],
            )
        )
        processes.append(
            start(
                [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"],
                env,
                log_files[2],
            )
        )
        wait_for(f"{app_url}/", processes[2], "app")
        print_banner(app_url, emulator_url, logs, env_file)
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        dead = next(p for p in processes if p.poll() is not None)
        print(f"demo: a process exited unexpectedly (status {dead.returncode}); see {logs}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo: stopping …")
        return 0
    finally:
        stop(processes)
        for log in log_files:
            log.close()


def print_banner(app_url: str, emulator_url: str, logs: Path, env_file: Path) -> None:
    """What is running, links to try (the first key of LINK_SIGNING_KEYS signs them), and how to run
    `flask` commands against it (the venv's flask: a global one has none of this project's commands)."""
    print(f"\nProfile center demo: {app_url}  (Marketing Cloud emulator: {emulator_url})")
    print("Demo unsubscribe links, signed with the demo key:\n")
    for label, claims in DEMO_LINKS:
        print(f"  {label}:\n    {unsubscribe_url(app_url, mint(claims, DEMO_SIGNING_KEY))}\n")
    print(f"What Marketing Cloud received: {emulator_url}/_emulator/state")
    print(f"Start over: curl -X POST {emulator_url}/_emulator/reset")
    shown = env_file.relative_to(ROOT) if env_file.is_relative_to(ROOT) else env_file
    print(f"flask commands against this demo (in another terminal, in {ROOT}):")
    print(f"  set -a; . {shown}; set +a; .venv/bin/flask check-config")
    print("  .venv/bin/flask journal status        .venv/bin/flask mint-link --subscriber-key demo-007")
    print(f"Logs: {logs}/   Stop: Ctrl-C", flush=True)


if __name__ == "__main__":
    sys.exit(main())
