"""A hostile "Marketing Cloud" on loopback: the client's transport refuses what the parser must never see.

The emulator is well-behaved by design, so this one server (``bench.fuzz.HostileServer``) is hand-made:
it answers the OAuth token request properly and then sends, to the SOAP call, an endless chunked body, a
gzip bomb, a flood of headers or a 5 MB header line. The real ``SfmcClient`` must end each call quickly
with an ``SfmcError``, without holding the decompressed or accumulated body in memory.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator

import pytest

from app.identity import Recipient
from app.sfmc import LogUnsubEvent
from app.sfmc.errors import SfmcError
from bench.fuzz import HOSTILE_MODES, HostileServer, hostile_client


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.close()


@pytest.mark.parametrize("mode", HOSTILE_MODES)
def test_a_hostile_answer_ends_the_call_quickly_with_an_sfmc_error(hostile: HostileServer, mode: str) -> None:
    client = hostile_client(hostile, timeout=2.0)
    hostile.mode = mode
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()

    with pytest.raises(SfmcError):
        client.log_unsub_events([LogUnsubEvent(Recipient(subscriber_key="someone", job_id="1"))])

    assert time.monotonic() - started < 3.0
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 40, f"the client held {grown_mib:.0f} MiB of a hostile answer in memory"
