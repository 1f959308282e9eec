"""The app caps glibc's malloc arenas (a worker's many threads would otherwise each keep their own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from ops_helpers import ROOT, base_test_config

from app.ops import memory

# Counts the arenas glibc reports after 16 threads have each allocated memory outside Python's allocator.
_PROBE = textwrap.dedent(
    """
    import ctypes, json, re, sys, tempfile, threading
    from app.ops.memory import limit_malloc_arenas
    if sys.argv[1] == "capped":
        assert limit_malloc_arenas()
    if sys.argv[1] == "app":  # the app as gunicorn builds it, nothing called by hand
        from app import create_app
        create_app(json.loads(sys.argv[2]))
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = (ctypes.c_size_t,)
    libc.fopen.restype = ctypes.c_void_p
    libc.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
    libc.fclose.argtypes = (ctypes.c_void_p,)
    start = threading.Barrier(16)
    kept = []

    def allocate():
        start.wait()
        kept.extend(libc.malloc(4000) for _ in range(50))

    threads = [threading.Thread(target=allocate) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with tempfile.NamedTemporaryFile(suffix=".xml") as report:
        stream = libc.fopen(report.name.encode(), b"w")
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        print(len(re.findall(r'<heap nr="', open(report.name).read())))
    """
)


def _arenas(mode: str, *args: str) -> int:
    env = {key: value for key, value in os.environ.items() if key != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.splitlines()[-1])  # the last line: the app logs its start-up to stdout before it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas exist on Linux only")
def test_threads_share_the_capped_number_of_malloc_arenas() -> None:
    assert _arenas("uncapped") > memory.DEFAULT_ARENAS  # what a many-threaded worker gets by default
    assert _arenas("capped") <= memory.DEFAULT_ARENAS


def test_an_operators_malloc_arena_max_is_left_to_glibc() -> None:
    assert memory.limit_malloc_arenas({"MALLOC_ARENA_MAX": "4"}) is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas exist on Linux only")
def test_the_app_applies_the_cap(emulator: Any, tmp_path: Path) -> None:
    """Building the app caps the arenas of its process: measured in a fresh process, our code not stubbed."""
    config = base_test_config(emulator, tmp_path)
    assert _arenas("app", json.dumps(config)) <= memory.DEFAULT_ARENAS
