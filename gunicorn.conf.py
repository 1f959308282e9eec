"""Gunicorn settings: `gunicorn --config gunicorn.conf.py wsgi:app`; every value comes from the environment.

| variable | default | meaning |
|---|---|---|
| GUNICORN_BIND | `0.0.0.0:$PORT` if PORT is set, else `127.0.0.1:8000` | listen addresses, comma-separated |
| WEB_CONCURRENCY / GUNICORN_WORKERS | 2 x CPUs + 1, at most 8 | worker processes |
| GUNICORN_THREADS | 16 | threads per worker (gthread) |
| GUNICORN_PRELOAD | `true` | load the app once in the master, before the workers fork |
| GUNICORN_TIMEOUT | 30 | seconds a request may take before its worker is replaced |
| GUNICORN_GRACEFUL_TIMEOUT | 30 | seconds to finish running requests on SIGTERM |
| GUNICORN_KEEPALIVE | 5 | seconds to keep an idle proxy connection open |
| GUNICORN_MAX_REQUESTS / _JITTER | 10000 / 1000 | recycle a worker after that many requests (+ random) |
| GUNICORN_ACCESSLOG | `-` (stdout) | access log target; `off` disables it |
| GUNICORN_LOGLEVEL | LOG_LEVEL or `info` | gunicorn's own log level |
| PROMETHEUS_MULTIPROC_DIR | a fresh temporary directory | where workers share their metrics |
| GUNICORN_WORKER_TMP_DIR | /dev/shm when present | where workers keep their heartbeat files |
| GUNICORN_CONTROL_SOCKET | unset (no control socket) | path of gunicorn's control socket, to enable it |

The settings of the app itself are validated here, in the master, before any worker starts: a missing or
malformed one ends gunicorn with one line per problem and exit status 2 (instead of workers that crash
one after the other).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

_ROOT = Path(__file__).resolve().parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        print(f"configuration error: {name} is invalid: must be a whole number", file=sys.stderr)
        sys.exit(2)


def _validate_app_settings() -> None:
    from app.ops.limits import setting_problems
    from config import ConfigError, load_config

    try:
        problems = setting_problems(load_config())
    except ConfigError as error:
        problems = error.problems
    for problem in problems:
        print(f"configuration error: {problem}", file=sys.stderr)
    if problems:
        sys.exit(2)


_validate_app_settings()

# -- metrics shared by the worker processes ---------------------------------------------------------------
# Must be in the environment before any worker imports prometheus_client (it picks its storage on import).
_metrics_dir_created = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _metrics_dir_created:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="profile-center-metrics-")
_METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
_METRICS_DIR.mkdir(parents=True, exist_ok=True)

# -- sockets, processes, timeouts ------------------------------------------------------------------------
_port = os.environ.get("PORT", "").strip()
bind = [
    address.strip()
    for address in (
        os.environ.get("GUNICORN_BIND") or (f"0.0.0.0:{_port}" if _port else "127.0.0.1:8000")
    ).split(",")
    if address.strip()
]
workers = _env_int("WEB_CONCURRENCY", _env_int("GUNICORN_WORKERS", min(2 * (os.cpu_count() or 1) + 1, 8)))
worker_class = "gthread"
# A POST mostly waits (journal commit, Marketing Cloud for up to INLINE_DELIVERY_BUDGET): idle threads are
# cheap, and with fewer threads than open connections requests queue behind a slow POST in one worker
# while other workers have nothing to do.
# A thread also waits for a slow client until its request is complete (gunicorn has no header or body read
# timeout), so more threads do not help against slow clients: a buffering nginx in front does (README,
# "Slow clients: a buffering proxy is required"; deploy/nginx/).
threads = _env_int("GUNICORN_THREADS", 16)
# Load the app once in the master and fork the workers from it: the workers share the pages of the code,
# templates and libraries until they write to them, start in milliseconds when recycled, and run faster
# on a few cores (one copy in the CPU caches instead of one per worker; docs/benchmarks.md). The app is
# fork-aware: journal connections and the Marketing Cloud HTTP pool are opened per process, metrics are
# kept per PID. Python code changes then need a restart of the master (`kill -HUP` starts new workers
# from the code already loaded; templates are still read anew by each new worker).
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").strip().lower() not in ("0", "false", "no", "off")
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# A safety net against slow leaks, not a habit: each new worker adds metric files that every scrape reads.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 10000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 1000)
# Worker heartbeat files in memory (a container's /tmp on overlayfs can stall them); gunicorn's default else.
_SHM = "/dev/shm"  # noqa: S108 - a memory filesystem for gunicorn's own heartbeat files, not for data
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or (_SHM if os.path.isdir(_SHM) else None)
# Forwarded headers are trusted in one place only: the app's ProxyFix, configured by TRUSTED_PROXIES.
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""
# Gunicorn's control socket is off unless a path is given: nothing listens that ops did not ask for.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]

# -- logs: JSON lines, and an access log without the query string (it holds the signed link) -------------
# The access line is the request's one log line: it also carries the app's request id, route, status,
# duration and outcome (post_worker_init below); with GUNICORN_ACCESSLOG=off the app writes that line.
_accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-").strip()
accesslog = None if _accesslog.lower() in ("", "off", "none", "false", "0") else _accesslog
errorlog = "-"
loglevel = (os.environ.get("GUNICORN_LOGLEVEL") or os.environ.get("LOG_LEVEL") or "info").lower()
# %(U)s is the path without the query; the referrer (%(f)s) is left out because it can hold a link too.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s" %({x-request-id}o)s'
logger_class = "app.ops.logs.GunicornJsonLogger"


def on_starting(server) -> None:
    """Remove metric files a previous run left behind (their processes are gone)."""
    for stale in _METRICS_DIR.glob("*.db"):
        stale.unlink(missing_ok=True)


def post_worker_init(worker) -> None:
    """One line per request: with the access log on, the app puts its request fields (route, outcome,
    duration, request id) on gunicorn's access line instead of writing a line of its own."""
    if getattr(worker.log, "access_log_enabled", False):
        from app.ops.logs import server_writes_request_line

        server_writes_request_line()


def child_exit(server, worker) -> None:
    """Let the metrics of a finished worker stop counting as live (gauges) while keeping its counters."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    """Remove the metrics directory if this configuration created it."""
    if _metrics_dir_created:
        shutil.rmtree(_METRICS_DIR, ignore_errors=True)
