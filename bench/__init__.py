"""Benchmarks, the fault-injection soak and the fuzzers: run each with `python -m bench.<name>`."""
