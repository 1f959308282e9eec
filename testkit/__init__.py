"""Real processes on loopback for the tests (``tests/``) and the benchmarks (``bench/``), in one copy.

Both start the Marketing Cloud emulator, gunicorn and the ``flask`` command line as subprocesses, wait for
them over HTTP, stop them, and make throwaway PostgreSQL databases; this package is where that lives, so a
fix to how a process is started or stopped reaches every test and every benchmark at once. It is not part
of the product: ``.dockerignore`` keeps it out of the image, and nothing in ``app/`` imports it.
"""
