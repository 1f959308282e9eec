"""Fault injection switched at runtime, stats counters, and concurrency of the emulator's server."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from emu_helpers import envelope, get_token, post_soap, read_answer, read_fault, request_element

OK_PARAMS = [("SubscriberKey", "demo-001"), ("JobID", "18099")]


@pytest.fixture
def token(emulator) -> str:
    """A parent-unit token from the freshly reset emulator."""
    return get_token(emulator.base_url)


def _call(emulator, token: str, timeout: float = 5) -> requests.Response:
    return post_soap(emulator.base_url, envelope(token, [request_element(OK_PARAMS)]), timeout=timeout)


@pytest.mark.parametrize(
    ("error", "faultcode", "faultstring", "apifault_code"),
    [
        ("outage", "soap:Server", "Unplanned Outage", "2"),
        ("rate_limited", "soap:Server", "Rate Limited", "17"),
        ("token_expired", "q0:Security", "Token Expired", None),
        ("login_failed", "q0:Security", "Login failed", None),
    ],
)
def test_soap_faults_are_answered_and_nothing_processed(
    emulator, token: str, error: str, faultcode: str, faultstring: str, apifault_code: str | None
) -> None:
    emulator.faults(error_rate=1.0, errors=[error])
    response = _call(emulator, token)
    assert response.status_code == 500
    fault = read_fault(response)
    assert (fault.faultcode, fault.faultstring, fault.apifault_code) == (
        faultcode,
        faultstring,
        apifault_code,
    )
    state = emulator.state()
    assert state["events"] == []
    assert state["stats"]["faults_injected"] == 1
    assert state["stats"]["requests_executed"] == 0


def test_html_502_from_a_proxy(emulator, token: str) -> None:
    emulator.faults(error_rate=1.0, errors=["html_502"])
    response = _call(emulator, token)
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in response.text
    assert emulator.events() == []


def test_drop_closes_the_connection_without_an_answer(emulator, token: str) -> None:
    emulator.faults(error_rate=1.0, errors=["drop"])
    with pytest.raises(requests.ConnectionError):
        _call(emulator, token)
    state = emulator.state()
    assert state["events"] == []
    assert state["stats"]["faults_injected"] == 1
    # The server survives and answers the next call once the fault is off.
    emulator.faults()
    assert read_answer(_call(emulator, token)).overall_status == "OK"


def test_timeout_processes_the_call_but_answers_too_late(emulator, token: str) -> None:
    emulator.faults(error_rate=1.0, errors=["timeout"], timeout_ms=2000)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        _call(emulator, token, timeout=0.5)
    assert time.monotonic() - started < 1.5
    # The request was executed even though the client never saw the answer: a retry would duplicate it.
    assert [e["subscriber_key"] for e in emulator.events()] == ["demo-001"]


def test_latency_is_added_to_every_call(emulator, token: str) -> None:
    emulator.faults(latency_ms=300)
    started = time.monotonic()
    assert read_answer(_call(emulator, token)).overall_status == "OK"
    assert time.monotonic() - started >= 0.3
    assert emulator.state()["stats"]["faults_injected"] == 0


def test_error_rate_draws_are_reproducible_with_a_seed(emulator, token: str) -> None:
    def outcomes() -> list[int]:
        emulator.faults(error_rate=0.5, errors=["outage"], seed=42)
        body = envelope(token, [request_element([("SubscriberKey", "demo-021")])])
        return [post_soap(emulator.base_url, body).status_code for _ in range(16)]

    first, second = outcomes(), outcomes()
    assert first == second
    assert set(first) == {200, 500}  # some calls fail, some pass at rate 0.5


def test_expire_tokens_now_spares_tokens_issued_later(emulator, token: str) -> None:
    emulator.faults(expire_tokens_now=True)
    assert read_fault(_call(emulator, token)).faultstring == "Token Expired"
    later = get_token(emulator.base_url)
    assert read_answer(_call(emulator, later)).overall_status == "OK"


def test_fault_configuration_is_shown_replaced_and_reset(emulator) -> None:
    url = f"{emulator.base_url}/_emulator/faults"
    defaults = requests.get(url, timeout=5).json()
    assert defaults == {
        "latency_ms": 0,
        "error_rate": 0.0,
        "errors": ["outage", "rate_limited", "drop", "token_expired", "login_failed", "timeout", "html_502"],
        "timeout_ms": 30000,
        "expire_tokens_now": False,
        "seed": None,
    }
    emulator.faults(latency_ms=5, error_rate=0.25, errors=["outage"], seed=7)
    shown = requests.get(url, timeout=5).json()
    assert (shown["latency_ms"], shown["error_rate"], shown["errors"], shown["seed"]) == (
        5,
        0.25,
        ["outage"],
        7,
    )
    emulator.faults(latency_ms=1)  # the body replaces the whole configuration
    assert requests.get(url, timeout=5).json() == {**defaults, "latency_ms": 1}
    assert emulator.state()["faults"]["latency_ms"] == 1
    emulator.reset()
    assert requests.get(url, timeout=5).json() == defaults


@pytest.mark.parametrize(
    "config",
    [
        {"errors": ["meteor"]},
        {"error_rate": 2},
        {"latency_ms": -1},
        {"latency_ms": "slow"},
        {"expire_tokens_now": "yes"},
        {"surprise": 1},
        {"error_rate": 0.5, "errors": []},
    ],
)
def test_bad_fault_configuration_is_refused(emulator, config: dict) -> None:
    response = requests.post(f"{emulator.base_url}/_emulator/faults", json=config, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]
    assert emulator.state()["faults"]["error_rate"] == 0.0


def test_stats_count_tokens_calls_and_requests(emulator) -> None:
    token = get_token(emulator.base_url)
    get_token(emulator.base_url)
    post_soap(emulator.base_url, envelope(token, [request_element(OK_PARAMS) for _ in range(3)]))
    post_soap(emulator.base_url, envelope(token, [request_element(OK_PARAMS)]))
    assert emulator.state()["stats"] == {
        "token_requests": 2,
        "soap_calls": 2,
        "requests_executed": 4,
        "faults_injected": 0,
        "execute": 2,
        "retrieve": {"List": 0, "ListSubscriber": 0, "Subscriber": 0, "BusinessUnit": 0},
        "update": 0,
        "update_objects": 0,
    }


def test_fifty_concurrent_slow_calls_are_served_in_parallel(emulator, token: str) -> None:
    emulator.faults(latency_ms=400)
    keys = [f"demo-{n:03d}" for n in range(1, 21)] + [f"nobody-{n}" for n in range(30)]

    def call(key: str) -> str:
        body = envelope(token, [request_element([("SubscriberKey", key), ("JobID", "18101")])])
        return read_answer(post_soap(emulator.base_url, body, timeout=10)).overall_status

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(call, keys))
    elapsed = time.monotonic() - started
    assert statuses == ["OK"] * 20 + ["Error"] * 30
    assert elapsed < 4.0, f"50 calls of 400 ms took {elapsed:.1f} s: not served concurrently"
    assert sorted(e["subscriber_key"] for e in emulator.events()) == sorted(keys[:20])
