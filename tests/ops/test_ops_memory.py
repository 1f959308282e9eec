"""The image caps glibc's malloc arenas (a worker's many threads would otherwise each keep their own).

The cap is glibc's own ``MALLOC_ARENA_MAX``, set in the Dockerfile (the app no longer calls ``mallopt``
through ctypes: docs/benchmarks.md, "Speed patches on private APIs"). These tests hold the image to it and
show, in a fresh process with 16 threads, what it does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest
from ops_helpers import ROOT

# Counts the arenas glibc reports after 16 threads have each allocated memory outside Python's allocator.
_PROBE = textwrap.dedent(
    """
    import ctypes, re, tempfile, threading
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


def _image_arena_max() -> int:
    """The ``MALLOC_ARENA_MAX`` the Dockerfile gives every process of the image."""
    found = re.search(r"^\s*(?:ENV\s+)?MALLOC_ARENA_MAX=(\d+)", (ROOT / "Dockerfile").read_text(), re.M)
    assert found, "the Dockerfile sets no MALLOC_ARENA_MAX"
    return int(found.group(1))


def _arenas(arena_max: str | None) -> int:
    env = {key: value for key, value in os.environ.items() if key != "MALLOC_ARENA_MAX"}
    if arena_max is not None:
        env["MALLOC_ARENA_MAX"] = arena_max
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.splitlines()[-1])


def test_the_image_runs_with_one_malloc_arena() -> None:
    assert _image_arena_max() == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc arenas exist on Linux only")
def test_threads_share_the_images_number_of_malloc_arenas() -> None:
    arena_max = _image_arena_max()
    assert _arenas(None) > arena_max  # what a many-threaded worker gets by default
    assert _arenas(str(arena_max)) <= arena_max
