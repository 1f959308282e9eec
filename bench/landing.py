"""In-process cost of the landing GET with list names on and off: CPU time per request, alternating rounds.

    .venv/bin/python -m bench.landing [--requests 1000] [--rounds 7]

Why beside ``bench.http``: wrk's req/s ratios need the machine to themselves, and a shared machine's other
load moves them by ±50 % between runs. CPU time of this process (``time.process_time``) is what the app
itself spends on a request, whatever else runs. Two apps on one emulator, the same settings but
``LIST_NAMES``; both warm (the directory has read the unit's lists, every page shape is cached); each round
sends the same distinct signed links to each app through its WSGI callable (no HTTP server, no test
client), the two apps taking turns. Prints the median per app and the difference: the price of a name.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

from app import create_app
from app.identity import Recipient
from app.links import LinkClaims, mint
from testkit.emulator import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, start_emulator

KEY = "bench-landing-signing-key-0123456789"
NEWSLETTER = {"job_id": "18099", "list_id": "17914", "batch_id": "0"}  # the emulator's demo newsletter


def _call(app: Any, environ: dict[str, Any]) -> bytes:
    statuses: list[str] = []
    body = app.wsgi_app(dict(environ), lambda status, headers, exc_info=None: statuses.append(status))
    try:
        data = b"".join(body)
    finally:
        getattr(body, "close", lambda: None)()
    if not statuses[0].startswith("200"):
        raise RuntimeError(f"the landing page answered {statuses[0]}")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000, help="distinct links per round (default 1000)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per app (default 7)")
    args = parser.parse_args(argv)
    emulator = start_emulator()
    apps: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-landing-") as tmp:
            settings = {
                "SFMC_AUTH_URL": emulator.auth_url,
                "SFMC_CLIENT_ID": EMULATOR_CLIENT_ID,
                "SFMC_CLIENT_SECRET": EMULATOR_CLIENT_SECRET,
                "LINK_SIGNING_KEYS": KEY,
                "LOG_LEVEL": "WARNING",
                "LIST_NAMES_WAIT_SECONDS": "5",
            }
            for name, on in (("list names on", "true"), ("list names off", "false")):
                database = f"sqlite:///{Path(tmp) / (name.replace(' ', '-') + '.sqlite3')}"
                apps[name] = create_app({**settings, "LIST_NAMES": on, "DATABASE_URL": database})
            environs = []
            for n in range(args.requests):
                recipient = Recipient(
                    subscriber_key=f"demo-{n % 30 + 1:03d}", email=f"r{n}@example.com", **NEWSLETTER
                )
                token = mint(LinkClaims(recipient, locale="en"), KEY)
                environs.append(EnvironBuilder(path="/unsubscribe", query_string={"t": token}).get_environ())
            for app in apps.values():
                for environ in environs[:50]:
                    _call(app, environ)
            named = "“Newsletter”".encode()
            if named not in _call(apps["list names on"], environs[0]) or named in _call(
                apps["list names off"], environs[0]
            ):
                print(
                    "the pages do not show what they should (name on one, none on the other)", file=sys.stderr
                )
                return 1
            cpu: dict[str, list[float]] = {name: [] for name in apps}
            for _ in range(args.rounds):
                for name, app in apps.items():
                    started = time.process_time()
                    for environ in environs:
                        _call(app, environ)
                    cpu[name].append((time.process_time() - started) / len(environs) * 1e6)
    finally:
        for app in apps.values():
            app.extensions["journal_delivery"].shutdown()
            app.extensions["journal"].close()
        emulator.stop()
    medians = {name: statistics.median(values) for name, values in cpu.items()}
    for name, values in cpu.items():
        rounds = " ".join(f"{value:.0f}" for value in values)
        print(f"{name:<15} CPU per landing GET: median {medians[name]:.0f} µs (rounds: {rounds})")
    extra = medians["list names on"] - medians["list names off"]
    print(f"the name costs {extra:+.0f} µs per request ({extra / medians['list names off']:+.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
