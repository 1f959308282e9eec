"""Hostile Marketing Cloud answers against the client's response parser: a result, a fault or an SfmcError.

Whatever a proxy, a broken server or an attacker between us and Marketing Cloud sends back, the parser must
neither crash with another exception, nor expand entities, nor read files, nor fetch anything, nor take long.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.sfmc.errors import SfmcError
from app.sfmc.models import ExecuteResult, OutcomeKind, SoapFault
from app.sfmc.response import parse_response
from bench import fuzz

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def attack_environment() -> Iterator[tuple[Path, fuzz.Canary]]:
    """A local file with a marker (what XXE would read) and a canary server (what it would fetch)."""
    with fuzz.attack_environment() as environment:
        yield environment


def _parse(body: bytes, status: int = 200, expected: int | None = None) -> object:
    """Parse and return the result or the SfmcError; any other exception fails the test by propagating."""
    try:
        return parse_response(body, http_status=status, content_type="text/xml", expected=expected)
    except SfmcError as exc:
        return exc


ATTACKS = [name for name, _ in fuzz.attack_bodies(Path("/nonexistent"), "http://127.0.0.1:1")]


@pytest.mark.parametrize("name", ATTACKS)
@pytest.mark.parametrize("status", [200, 500])
def test_classic_xml_attacks_are_refused_quickly_without_reading_or_fetching(
    attack_environment: tuple[Path, fuzz.Canary], name: str, status: int
) -> None:
    secret, canary = attack_environment
    body = dict(fuzz.attack_bodies(secret, canary.url))[name]
    started = time.perf_counter()
    outcome = _parse(body, status=status, expected=1)
    elapsed = time.perf_counter() - started

    if name in fuzz.HARMLESS_ATTACKS:
        # Ignored, not executed: a processing instruction is dropped, an XInclude is never processed.
        assert isinstance(outcome, ExecuteResult | SfmcError)
    else:
        assert isinstance(outcome, SfmcError), f"{name} was accepted as {outcome!r}"
    assert fuzz.SECRET_MARKER not in repr(outcome)
    assert canary.hits == []
    assert elapsed < 0.5, f"{name} took {elapsed:.2f} s"


def test_an_entity_bomb_is_refused_even_when_the_size_cap_would_let_it_through() -> None:
    bomb = dict(fuzz.attack_bodies(Path("/x"), "http://127.0.0.1:1"))["billion laughs"]
    assert len(bomb) < 2000  # small on the wire: only entity handling can stop it

    outcome = _parse(bomb)

    assert isinstance(outcome, SfmcError)
    assert "lollol" not in str(outcome)  # nothing was expanded into the message


@given(body=st.binary(max_size=2048), status=st.sampled_from([200, 400, 429, 500, 502, 503]))
@FAST
def test_random_bytes_give_a_result_a_fault_or_an_sfmc_error(body: bytes, status: int) -> None:
    outcome = _parse(body, status=status)

    assert isinstance(outcome, ExecuteResult | SoapFault | SfmcError)


@given(seed=st.integers(min_value=0, max_value=2**32 - 1), base=st.sampled_from(range(len(fuzz.SEED_BODIES))))
@FAST
def test_mutated_answers_give_a_result_a_fault_or_an_sfmc_error(seed: int, base: int) -> None:
    rng = random.Random(seed)
    body = fuzz.mutate_body(rng, fuzz.SEED_BODIES[base])
    expected = rng.choice([None, 1, 3, 50])

    outcome = _parse(body, status=rng.choice([200, 500]), expected=expected)

    assert isinstance(outcome, ExecuteResult | SoapFault | SfmcError)
    if isinstance(outcome, ExecuteResult) and expected is not None:
        # Results are matched to requests by position: a count that differs must never come through.
        assert len(outcome.outcomes) == expected


def _number(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


@given(
    codes=st.lists(
        st.one_of(
            st.none(),
            st.integers(min_value=-(10**6), max_value=10**6).map(str),
            st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
        ),
        min_size=1,
        max_size=50,
    )
)
@FAST
def test_any_error_code_text_maps_to_a_typed_outcome(codes: list[str | None]) -> None:
    body = fuzz.execute_response(
        [("Error" if code is not None else "OK", "message", code) for code in codes], "Has Errors"
    )

    outcome = _parse(body, expected=len(codes))

    assert isinstance(outcome, ExecuteResult)
    for code, result in zip(codes, outcome.outcomes, strict=True):
        if code is None:
            assert result.kind is OutcomeKind.DELIVERED
        elif _number(code) in (401, 12012):
            assert result.kind is OutcomeKind.ALREADY
        elif _number(code) in (400, 402, 403, 404, 405, 406, 407):
            assert result.kind is OutcomeKind.REJECTED
        else:
            # An error the client does not know is worth a retry, never "delivered".
            assert result.kind is OutcomeKind.TRANSIENT
