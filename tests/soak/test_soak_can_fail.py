"""A real soak against a deliberately broken setup must fail: `bench.soak --sabotage` exits 1.

The sabotage proxy (``bench/_soak_faults.py``) sits in front of the app and answers half of the POSTs
itself with a clear 503 "try again" page, without forwarding them: the page looks like the one the soak
accepts, but the journal never saw those requests. The people press again and are all served in the end,
nothing is lost, so only the journal check can catch it — exactly the run the old soak passed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_a_soak_whose_posts_are_answered_503_without_being_journaled_fails() -> None:
    argv = [
        "--requests",
        "30",
        "--kills",
        "0",
        "--clients",
        "10",
        "--sabotage",
        "0.5",
        "--drain-timeout",
        "60",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "RESULT: FAILED" in output
    assert "5xx answers to requests the journal did not hold" in output
    unjournaled = next(line for line in output.splitlines() if "UNJOURNALED" in line)
    assert int(unjournaled.split()[-1]) > 0, output
    lost = next(line for line in output.splitlines() if line.startswith("lost "))
    assert lost.split()[1] == "0", "the sabotage loses nothing: only the 5xx check can fail this run"
