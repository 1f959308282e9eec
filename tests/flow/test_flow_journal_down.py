"""A journal that cannot be reached or written, through real HTTP (gunicorn) and the real CLI.

Pages that need no database still answer, ``/readyz`` says not ready, a POST gets the 503 "try again" page
in the person's language (never a 500, never a false confirmation), a CLI command prints one line and exits
non-zero. Covered: PostgreSQL unreachable at start-up, a full disk under SQLite, another process holding the
SQLite writer lock.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from app.identity import Recipient
from app.links import LinkClaims, mint
from testkit.cli import flask_cli
from testkit.processes import hold_journal_writer
from tests.conftest import IN_CI, TEST_SIGNING_KEY, free_port
from tests.ops.ops_helpers import app_environment, start_gunicorn, stop_process

NEWSLETTER = {"job_id": "18099", "list_id": "17914", "batch_id": "0"}
GERMAN_TRY_AGAIN = "Bitte senden Sie sie in einem Moment noch einmal"


def _link(key: str) -> str:
    return "/unsubscribe?t=" + mint(LinkClaims(Recipient(subscriber_key=key, **NEWSLETTER)), TEST_SIGNING_KEY)


def _post(base_url: str, key: str, timeout: float = 30) -> requests.Response:
    return requests.post(
        base_url + _link(key),
        data={"scope": "list", "reason": "too_many"},
        headers={"Accept-Language": "de"},
        timeout=timeout,
    )


def _assert_try_again(response: requests.Response) -> None:
    assert response.status_code == 503, response.text[:500]
    assert GERMAN_TRY_AGAIN in response.text and 'lang="de"' in response.text
    assert "Sie sind abgemeldet" not in response.text  # no confirmation


def test_an_unreachable_postgresql_at_start_up_keeps_the_pages_that_need_no_database(
    emulator: Any, tmp_path: Path
) -> None:
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/journal"  # nothing listens there
    env = app_environment(emulator, tmp_path, DATABASE_URL=closed)
    server = start_gunicorn(env, tmp_path)  # waits for /healthz 200: gunicorn did not die
    try:
        assert requests.get(server.base_url + _link("demo-001"), timeout=10).status_code == 200  # the form
        started = time.monotonic()
        ready = requests.get(f"{server.base_url}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["journal"] != "ok"
        assert time.monotonic() - started < 3  # a probe answers before its caller gives up
        started = time.monotonic()
        _assert_try_again(_post(server.base_url, "demo-001"))
        assert time.monotonic() - started < 15
    finally:
        stop_process(server.process)
    assert "Traceback" not in server.output.read_text()

    result = flask_cli(env, "journal", "status")
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "journal" in lines[0].lower(), lines


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of this test (needs root; a failure on CI, skipped elsewhere)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        if IN_CI:
            pytest.fail(f"cannot mount a tmpfs on CI: {mounted.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs (root needed): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path) -> Path:
    """Fill ``disk`` up. Unbuffered: a buffered file keeps the part of its last write that did not fit and
    fails again when closed (ENOSPC from ``close``), depending on how much room the journal's files left."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def test_a_full_disk_gives_try_again_and_readyz_says_the_journal_cannot_write(
    emulator: Any, tmp_path: Path, small_disk: Path
) -> None:
    env = app_environment(emulator, tmp_path, DATABASE_URL=f"sqlite:///{small_disk / 'journal.sqlite3'}")
    server = start_gunicorn(env, tmp_path)
    try:
        assert _post(server.base_url, "demo-001").status_code == 200
        assert requests.get(f"{server.base_url}/readyz", timeout=10).status_code == 200
        filler = _fill(small_disk)
        time.sleep(1.2)  # the write probe's cached answer (1 s) expires
        answers = [_post(server.base_url, f"demo-{n:03d}") for n in range(3, 9)]
        ready = requests.get(f"{server.base_url}/readyz", timeout=10)
        filler.unlink()
        time.sleep(1.2)
        again = _post(server.base_url, "demo-010")
        ready_again = requests.get(f"{server.base_url}/readyz", timeout=10)
    finally:
        stop_process(server.process)
    for answer in answers:
        _assert_try_again(answer)
    assert ready.status_code == 503 and ready.json()["checks"]["journal"] != "ok"
    assert again.status_code == 200 and ready_again.status_code == 200


def test_another_process_holding_the_writer_lock_gives_try_again_within_a_bound(
    emulator: Any, tmp_path: Path
) -> None:
    database = tmp_path / "journal.sqlite3"
    env = app_environment(emulator, tmp_path, DATABASE_URL=f"sqlite:///{database}")
    server = start_gunicorn(env, tmp_path)
    holder = None
    try:
        assert _post(server.base_url, "demo-001").status_code == 200
        holder = hold_journal_writer(f"sqlite:///{database}", tmp_path)
        time.sleep(1.2)  # the write probe's cached answer (1 s) expires
        started = time.monotonic()
        answer = _post(server.base_url, "demo-003")
        waited = time.monotonic() - started
        ready = requests.get(f"{server.base_url}/readyz", timeout=10)
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
        stop_process(server.process)
    _assert_try_again(answer)
    assert waited < 10, waited
    assert ready.status_code == 503 and ready.json()["checks"]["journal"] != "ok"
