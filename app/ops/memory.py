"""Fewer glibc malloc arenas per process: memory a worker with many threads does not hold for nothing.

glibc gives each thread that allocates concurrently its own arena, up to 8 per CPU core, and an arena keeps
the memory its thread freed. A gunicorn worker runs many threads (``GUNICORN_THREADS``) whose Python code
holds the GIL anyway, so separate arenas buy almost no speed but cost megabytes per worker (measured in
docs/benchmarks.md). Unless the operator chose a value through the ``MALLOC_ARENA_MAX`` environment
variable (which glibc itself reads at start-up), the app caps the arenas at ``DEFAULT_ARENAS`` before its
worker threads start. Elsewhere than glibc on Linux this does nothing.
"""

from __future__ import annotations

import os
import sys

M_ARENA_MAX = -8  # glibc's malloc.h
#: One arena: threads then share the main heap. Measured (docs/benchmarks.md): 1.6 MiB less per worker than
#: with two, and no slower; Python's small objects come from its own allocator under the GIL anyway.
DEFAULT_ARENAS = 1


def limit_malloc_arenas(environ: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Cap glibc's malloc arenas for this process; True when the cap was applied."""
    if environ.get("MALLOC_ARENA_MAX", "").strip() or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(M_ARENA_MAX, DEFAULT_ARENAS) == 1
