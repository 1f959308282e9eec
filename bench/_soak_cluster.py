"""The soak's app: gunicorn instances and journal workers, killable and restartable by index."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from pathlib import Path

from bench import _common as common


class Cluster:
    """The app's gunicorn instances and journal workers, killable and restartable by index.

    A process that dies by itself (not killed by the soak) is restarted so the run goes on, and counted
    in ``died``: the verdict fails on it (a worker that exits on a dropped connection is a finding).
    """

    def __init__(
        self, tmp_path: Path, env: dict[str, str], apps: int, workers: int, app_spec: str = "wsgi:app"
    ) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.app_spec = app_spec
        self.ports = [common.free_port() for _ in range(apps)]
        self.apps: list[subprocess.Popen | None] = [None] * apps
        self.workers: list[subprocess.Popen | None] = [None] * workers
        self.app_kills = 0
        self.worker_kills = 0
        self.died: Counter = Counter()

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def start_app(self, index: int) -> None:
        log = self.tmp_path / f"app{index}.log"
        self.apps[index] = common.start_gunicorn(self.app_spec, self.ports[index], self.env, log)

    def start_worker(self, index: int) -> None:
        self.workers[index] = common.start_worker(self.env, self.tmp_path / f"worker{index}.log")

    def start(self) -> None:
        for index in range(len(self.apps)):
            self.start_app(index)
        for index in range(len(self.workers)):
            self.start_worker(index)

    def kill_app(self, index: int) -> None:
        """SIGKILL the gunicorn master and all its workers at once (a crash), then start it again."""
        _kill(self.apps[index], pause=0.5)
        self.app_kills += 1
        self.start_app(index)

    def kill_worker(self, index: int) -> None:
        """SIGKILL a journal worker (mid-delivery, as likely as not), then start it again."""
        _kill(self.workers[index], pause=0.2)
        self.worker_kills += 1
        self.start_worker(index)

    def restart_dead(self) -> None:
        """Restart (and count) any app or worker that exited although nobody killed it."""
        for index, process in enumerate(self.workers):
            if process is not None and process.poll() is not None:
                self.died[f"worker exit {process.returncode}"] += 1
                common.stop_group(process)
                self.start_worker(index)
        for index, process in enumerate(self.apps):
            if process is not None and process.poll() is not None:
                self.died[f"app exit {process.returncode}"] += 1
                common.stop_group(process)
                self.start_app(index)

    def stop(self) -> None:
        for process in [*self.workers, *self.apps]:
            if process is not None:
                common.stop_group(process)


def _kill(process: subprocess.Popen | None, pause: float) -> None:
    """SIGKILL ``process``'s whole group, then wait ``pause`` seconds before it is started again."""
    assert process is not None
    common.kill_group(process)
    time.sleep(pause)
