"""The app under gunicorn with the project's own ``gunicorn.conf.py``, as production runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from testkit.processes import BIN, ROOT, spawn, stop_group, wait_for_http


def start_gunicorn(
    env: dict[str, str],
    log_path: Path,
    port: int,
    *,
    args: tuple[str, ...] = (),
    app_spec: str = "wsgi:app",
    cwd: Path = ROOT,
    ok_only: bool = True,
    timeout: float = 60.0,
) -> subprocess.Popen:
    """``gunicorn --config gunicorn.conf.py ARGS APP_SPEC`` bound (GUNICORN_BIND) to 127.0.0.1:``port``.

    The bind comes through the environment the config file reads, so what is started is the shipped
    configuration; ``args`` (command-line settings override the file) are for experiments. Returns once
    ``/healthz`` answers (200 when ``ok_only``) under ``SCRIPT_NAME``; a gunicorn that exits first fails
    with the end of its log.
    """
    argv = [str(BIN / "gunicorn"), "--config", str(cwd / "gunicorn.conf.py"), *args, app_spec]
    process = spawn(argv, log_path, {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}, cwd=cwd)
    url = f"http://127.0.0.1:{port}{env.get('SCRIPT_NAME', '')}/healthz"
    try:
        wait_for_http(url, timeout, process, log_path=log_path, ok_only=ok_only)
    except BaseException:
        stop_group(process)
        raise
    return process
