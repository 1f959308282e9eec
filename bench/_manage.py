"""bench.http's run of the manage page: GETs of distinct links with the emulator answering in 300 ms.

The manage page reads the person's memberships and their All Subscribers status from Marketing Cloud on
every GET (side by side, one deadline), so its latency is Marketing Cloud's, not the app's: this run sets
the emulator's latency fault to 300 ms per call and reports p50/p99, and how many answers were the manage
page itself rather than the plain form it falls back to. The app runs with its per-process read budget
raised (``APP_SETTINGS``): the run measures the page, not the budget, which would otherwise send most of
a load generator's requests to the plain form on purpose.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Marketing Cloud's latency for this run (issue 12, acceptance 5).
LATENCY_MS = 300
#: Settings of the benchmarked app: a read budget no load generator reaches.
APP_SETTINGS = {"MANAGE_READ_RATE": "100000", "MANAGE_READ_BURST": "100000"}
ROUTE = "preferences.manage"


def manage_script(get_script: Path) -> Path:
    """The landing GET's wrk script (same tokens, one per request) sent to the manage page instead."""
    script = get_script.with_name("manage.lua")
    script.write_text(get_script.read_text().replace('"/unsubscribe?t="', '"/manage?t="'))
    return script


def outcomes(log_path: Path, skip_lines: int) -> Counter:
    """The manage page's ``outcome`` per answer (``manage_shown``, ``manage_plain_form``, …) from the
    app's JSON request log after the first ``skip_lines``."""
    counted: Counter = Counter()
    with log_path.open(errors="replace") as log:
        for number, line in enumerate(log):
            if number < skip_lines or not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("route") == ROUTE and "status" in record:  # the request's own line
                counted[str(record.get("outcome"))] += 1
    return counted


def run(
    emulator: Any, app_url: str, get_script: Path, log_path: Path, load: dict[str, Any], run_wrk: Callable
) -> tuple[Any, Counter]:
    """One wrk run of manage-page GETs at 300 ms per Marketing Cloud call; (figures, outcomes)."""
    with log_path.open(errors="replace") as log:
        skip = sum(1 for _ in log)
    emulator.faults(latency_ms=LATENCY_MS)
    try:
        result = run_wrk(
            f"manage GET, emulator {LATENCY_MS} ms",
            f"{app_url}/manage",
            script=manage_script(get_script),
            **load,
        )
    finally:
        emulator.faults()
    return result, outcomes(log_path, skip)


def report(result: Any, counted: Counter) -> list[str]:
    """The lines bench.http prints for this run."""
    shown = counted.get("manage_shown", 0)
    answered = sum(counted.values())
    return [
        f"manage page GET, emulator at {LATENCY_MS} ms per call: p50 {result.p50_ms:.0f} ms, "
        f"p99 {result.p99_ms:.0f} ms, {result.rps:.1f} req/s; {shown} of {answered} answers were the "
        f"manage page ({dict(counted)})"
    ]
