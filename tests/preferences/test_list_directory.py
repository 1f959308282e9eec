"""The list directory against the emulator over loopback, through the real ``SfmcClient``: one List Retrieve
per business unit serves every lookup, a slow or failing Marketing Cloud costs a lookup at most the bounded
wait and never a storm of reads, names are refreshed before they expire and kept while Marketing Cloud is
down. Only the clock is ours to move (the TTL and the backoff are minutes long in production)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.preferences.directory import ListDirectory
from app.sfmc import SfmcClient
from config import load_config
from tests.conftest import base_test_config

CHILD_MID = "510001001"
TTL = 100.0
RETRY = 10.0


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def sfmc(emulator: Any, tmp_path: Path) -> Iterator[SfmcClient]:
    client = SfmcClient.from_config(load_config(base_test_config(emulator, tmp_path)))
    yield client
    client.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_directory(sfmc: SfmcClient, clock: Clock) -> Callable[..., ListDirectory]:
    def make(**settings: Any) -> ListDirectory:
        values = {"default_mid": None, "ttl": TTL, "wait": 2.0, "retry": RETRY, "max_units": 10}
        return ListDirectory(sfmc.retrieve_lists, **{**values, "clock": clock, **settings})

    return make


def soap_calls(emulator: Any) -> int:
    """Every SOAP call the emulator received, answered or faulted (the directory makes only Retrieves)."""
    return emulator.state()["stats"]["soap_calls"]


def settle(emulator: Any, calls: int, timeout: float = 5.0) -> None:
    """Wait until the emulator has received ``calls`` SOAP calls and the read after the last has ended."""
    deadline = time.monotonic() + timeout
    while soap_calls(emulator) < calls and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # the answer travels back and the directory takes it in


def test_one_read_per_unit_serves_every_lookup_from_many_threads(
    make_directory: Callable[..., ListDirectory], emulator: Any
) -> None:
    directory = make_directory()
    found: list[tuple[str | None, str | None]] = []

    def look() -> None:
        for _ in range(50):
            found.append((directory.list_name(None, "17914"), directory.list_name(CHILD_MID, 27914)))

    threads = [threading.Thread(target=look) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(found) == {("Newsletter", "Brand newsletter")}
    assert len(found) == 800
    assert soap_calls(emulator) == 2  # one List Retrieve for each unit, whoever asked
    names = {item.name for item in directory.lists(None) or []}
    assert {"All Subscribers", "Newsletter", "Product news"} <= names
    assert "Brand newsletter" not in names  # the child unit's lists are the child's
    assert directory.list_name(None, "27914") is None  # the child's list is not the parent's
    assert directory.list_name(None, "99999") is None
    assert directory.cached_units() == 2


def test_a_slow_marketing_cloud_costs_a_lookup_at_most_the_wait_and_makes_one_read(
    make_directory: Callable[..., ListDirectory], emulator: Any
) -> None:
    directory = make_directory(wait=0.3, clock=time.monotonic)  # the wait counts from the read's start
    emulator.faults(latency_ms=1200)
    durations: list[float] = []
    answers: list[str | None] = []

    def look() -> None:
        started = time.monotonic()
        answers.append(directory.list_name(None, "17914"))
        durations.append(time.monotonic() - started)

    threads = [threading.Thread(target=look) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [None] * 20
    assert max(durations) < 0.8, durations  # the wait (0.3 s) and some scheduling, not the 1.2 s read
    started = time.monotonic()
    assert directory.list_name(None, "17914") is None  # the read still runs: no more waiting
    assert time.monotonic() - started < 0.1
    deadline = time.monotonic() + 5
    while directory.list_name(None, "17914") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert directory.list_name(None, "17914") == "Newsletter"  # the read went on and filled it
    assert soap_calls(emulator) == 1


def test_failures_back_off_and_the_names_read_before_stay(
    make_directory: Callable[..., ListDirectory], emulator: Any, clock: Clock
) -> None:
    directory = make_directory()
    assert directory.list_name(None, "17914") == "Newsletter"
    emulator.faults(error_rate=1.0, errors=["outage"])
    clock.advance(TTL + 1)  # expired: the next lookup reads again, and fails
    assert directory.list_name(None, "17914") == "Newsletter"
    settle(emulator, 2)
    for _ in range(200):  # a crawl while Marketing Cloud is down: answered at once, no read
        assert directory.list_name(None, "17914") == "Newsletter"
    assert soap_calls(emulator) == 2
    clock.advance(RETRY * 0.7)  # inside the first pause (10 s, ± 20 %)
    directory.list_name(None, "17914")
    time.sleep(0.2)
    assert soap_calls(emulator) == 2
    clock.advance(RETRY * 0.6)  # past it: one more read, which fails too
    directory.list_name(None, "17914")
    settle(emulator, 3)
    clock.advance(RETRY * 1.3)  # the second pause is twice as long
    directory.list_name(None, "17914")
    time.sleep(0.2)
    assert soap_calls(emulator) == 3
    emulator.faults()
    clock.advance(RETRY)
    assert directory.list_name(None, "17914") == "Newsletter"
    settle(emulator, 4)
    clock.advance(TTL * 0.7)  # read again successfully: fresh, no read
    directory.list_name(None, "17914")
    time.sleep(0.2)
    assert soap_calls(emulator) == 4


def test_a_unit_never_read_answers_at_once_while_marketing_cloud_is_down(
    make_directory: Callable[..., ListDirectory], emulator: Any
) -> None:
    directory = make_directory(wait=0.3)
    emulator.faults(error_rate=1.0, errors=["outage"])
    assert directory.list_name(None, "17914") is None
    settle(emulator, 1)
    started = time.monotonic()
    assert [directory.list_name(None, "17914") for _ in range(100)] == [None] * 100
    assert time.monotonic() - started < 0.5  # backing off: no wait, no read
    assert soap_calls(emulator) == 1
    assert directory.lists(None) is None


def test_names_are_refreshed_in_the_background_before_they_expire(
    make_directory: Callable[..., ListDirectory], emulator: Any, clock: Clock
) -> None:
    directory = make_directory()
    assert directory.list_name(None, "17914") == "Newsletter"
    clock.advance(TTL * 0.5)
    directory.list_name(None, "17914")
    time.sleep(0.2)
    assert soap_calls(emulator) == 1  # half-way: nothing to do
    emulator.faults(latency_ms=1000)
    clock.advance(TTL * 0.35)  # 85 %: refresh due, the names are still good
    started = time.monotonic()
    assert [directory.list_name(None, "17914") for _ in range(20)] == ["Newsletter"] * 20
    assert time.monotonic() - started < 0.3  # nobody waited for the refresh
    settle(emulator, 1)
    assert soap_calls(emulator) == 1 + 1  # one refresh, not one per lookup
    time.sleep(1.2)
    assert directory.list_name(None, "17914") == "Newsletter"


@pytest.mark.parametrize("mid", ["abc", "-5", "0", "٣", "1" * 40])
def test_a_mid_that_is_not_a_number_gets_no_name_and_no_read(
    make_directory: Callable[..., ListDirectory], emulator: Any, mid: str
) -> None:
    directory = make_directory()
    assert directory.list_name(mid, "17914") is None
    assert directory.lists(mid) is None
    time.sleep(0.1)
    assert soap_calls(emulator) == 0


def test_an_unknown_business_unit_is_read_once_and_then_left_alone(
    make_directory: Callable[..., ListDirectory], emulator: Any
) -> None:
    directory = make_directory(wait=0.5)
    assert directory.list_name("999999999", "17914") is None
    settle(emulator, 1)
    for _ in range(50):
        assert directory.list_name("999999999", "17914") is None
    assert soap_calls(emulator) == 1


def test_the_units_kept_are_bounded_and_the_least_recently_used_goes(
    make_directory: Callable[..., ListDirectory], emulator: Any
) -> None:
    directory = make_directory(max_units=1)
    assert directory.list_name(None, "17914") == "Newsletter"
    assert directory.list_name(None, "17914") == "Newsletter"
    assert soap_calls(emulator) == 1
    assert directory.list_name(CHILD_MID, "27914") == "Brand newsletter"
    assert directory.cached_units() == 1
    assert directory.list_name(None, "17914") == "Newsletter"  # pushed out: read again
    assert soap_calls(emulator) == 3


def test_without_a_reader_the_directory_knows_nothing_and_asks_nobody(emulator: Any) -> None:
    directory = ListDirectory(None, default_mid=None, ttl=TTL, wait=0.3, retry=RETRY, max_units=10)
    assert directory.list_name(None, "17914") is None
    assert directory.lists(CHILD_MID) is None
    assert soap_calls(emulator) == 0
