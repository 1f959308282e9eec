"""Fuzz target 1: the Marketing Cloud response parser (``app.sfmc.response.parse_response``).

Every attack of ``bodies.attack_bodies`` once, then random and mutated answers. Allowed: a parsed result,
a fault, or an ``SfmcError``; anything else (another exception, a second or more of CPU, a file's content
or a network hit leaking through an entity) counts as a crash.
"""

from __future__ import annotations

import contextlib
import http.server
import random
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.fuzz.bodies import HARMLESS_ATTACKS, attack_bodies, random_response_case
from bench.fuzz.tally import Tally

SLOW_CASE_SECONDS = 1.0


class Canary:
    """A loopback HTTP server that counts every hit: an XXE or DTD fetch would show up here."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"CANARY-NETWORK-CONTENT")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


SECRET_MARKER = "FILE-CONTENT-MUST-NOT-LEAK-5f3a"


def check_parse(
    body: bytes, status: int, content_type: str | None, expected: int | None, tally: Tally
) -> None:
    """One parser case: a result, a fault or an ``SfmcError`` — nothing else, quickly, leaking nothing."""
    from app.sfmc.errors import SfmcError
    from app.sfmc.models import ExecuteResult, SoapFault
    from app.sfmc.response import parse_response

    tally.cases += 1
    started = time.perf_counter()
    try:
        result = parse_response(body, http_status=status, content_type=content_type, expected=expected)
    except SfmcError as exc:
        tally.outcomes[type(exc).__name__] += 1
        text = str(exc)
        if SECRET_MARKER in text or "CANARY-NETWORK" in text:
            tally.crash(f"entity content leaked into an error: {body[:80]!r}")
    except Exception as exc:
        tally.crash(f"{type(exc).__name__}: {exc} for body {body[:120]!r} (HTTP {status})")
    else:
        if not isinstance(result, ExecuteResult | SoapFault):
            tally.crash(f"parse_response returned {type(result).__name__}")
        tally.outcomes[type(result).__name__] += 1
        if SECRET_MARKER in repr(result) or "CANARY-NETWORK" in repr(result):
            tally.crash(f"entity content leaked into the result: {body[:80]!r}")
    elapsed = time.perf_counter() - started
    tally.slowest = max(tally.slowest, elapsed)
    if elapsed > SLOW_CASE_SECONDS:
        tally.crash(f"{elapsed:.1f} s for one body of {len(body)} bytes: {body[:80]!r}")


@contextlib.contextmanager
def attack_environment() -> Iterator[tuple[Path, Canary]]:
    """A local file holding a marker (for XXE) and a canary HTTP server (for network entities)."""
    canary = Canary()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        secret = Path(tmp) / "secret.txt"
        secret.write_text(SECRET_MARKER)
        try:
            yield secret, canary
        finally:
            canary.close()


def fuzz_parser(cases: int, rng: random.Random) -> Tally:
    """Every attack once, then ``cases`` random and mutated answers."""
    tally = Tally()
    with attack_environment() as (secret, canary):
        for name, body in attack_bodies(secret, canary.url):
            for status in (200, 500):
                before = len(tally.crashes)
                parsed_before = tally.outcomes["ExecuteResult"] + tally.outcomes["SoapFault"]
                check_parse(body, status, "text/xml; charset=utf-8", 1, tally)
                parsed = tally.outcomes["ExecuteResult"] + tally.outcomes["SoapFault"] - parsed_before
                if name not in HARMLESS_ATTACKS and parsed:
                    tally.crash(f"the {name} body was accepted as a result (HTTP {status})")
                if len(tally.crashes) > before:
                    tally.crashes[-1] = f"[{name}] {tally.crashes[-1]}"
        for _ in range(cases):
            check_parse(*random_response_case(rng), tally)
        if canary.hits:
            tally.crash(f"the parser fetched {canary.hits} over the network")
    return tally
