"""Hostile or broken Retrieve and Update answers against their parser: a page, a result, a fault or an
SfmcError, never another exception, never an entity expanded, a file read or a URL fetched; an Update
result always has exactly one outcome per change, whatever the OrdinalIDs say."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.identity import Recipient
from app.sfmc import ListStatusChange, OutcomeKind
from app.sfmc.errors import SfmcError
from app.sfmc.models import SoapFault
from app.sfmc.object_response import parse_retrieve_response, parse_update_response
from app.sfmc.objects import RetrievePage, UpdateResult
from bench import fuzz

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sfmc"))
from canned_sfmc import UpdateRow, a_list, a_membership, retrieve_answer, update_answer

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHANGES = [
    ListStatusChange(Recipient(subscriber_key=f"k-{n}"), 17914 + n, "Unsubscribed" if n % 2 else "Active")
    for n in range(3)
]
SEEDS = [
    retrieve_answer([a_list("17914", "Newsletter"), a_list("17915", "Zoë <&>")], prefix="q1"),
    retrieve_answer([a_membership("1", "Active")], status="MoreDataAvailable"),
    retrieve_answer(status="Error: Unable to find a handler for object type: X."),
    update_answer([UpdateRow(ordinal=str(n), subscriber_key="k") for n in range(3)]),
    update_answer([UpdateRow("Error", "List Not Found", str(n), "13000") for n in range(3)], overall="Error"),
]


def parse_both(body: bytes, status: int = 200) -> list[object]:
    """Both parsers' answers (or the SfmcError each raised); any other exception fails the test."""
    outcomes: list[object] = []
    for parse in (
        lambda: parse_retrieve_response(body, http_status=status, content_type="text/xml"),
        lambda: parse_update_response(body, http_status=status, changes=CHANGES, content_type="text/xml"),
    ):
        try:
            outcomes.append(parse())
        except SfmcError as exc:
            outcomes.append(exc)
    return outcomes


def check(outcomes: list[object]) -> None:
    page, updated = outcomes
    assert isinstance(page, RetrievePage | SoapFault | SfmcError)
    assert isinstance(updated, UpdateResult | SoapFault | SfmcError)
    if isinstance(updated, UpdateResult):
        assert len(updated.outcomes) == len(CHANGES)


@pytest.fixture(scope="module")
def attack_environment() -> Iterator[tuple[Path, fuzz.Canary]]:
    with fuzz.attack_environment() as environment:
        yield environment


ATTACKS = [name for name, _ in fuzz.attack_bodies(Path("/nonexistent"), "http://127.0.0.1:1")]


@pytest.mark.parametrize("name", ATTACKS)
def test_classic_xml_attacks_are_refused_quickly_without_reading_or_fetching(
    attack_environment: tuple[Path, fuzz.Canary], name: str
) -> None:
    secret, canary = attack_environment
    body = dict(fuzz.attack_bodies(secret, canary.url))[name]
    started = time.perf_counter()
    outcomes = parse_both(body)
    assert time.perf_counter() - started < 1.0
    check(outcomes)
    if name not in fuzz.HARMLESS_ATTACKS:
        assert all(isinstance(outcome, SfmcError) for outcome in outcomes), name
    assert fuzz.SECRET_MARKER not in repr(outcomes)
    assert canary.hits == []


@given(body=st.binary(max_size=2048), status=st.sampled_from([200, 500, 502]))
@FAST
def test_random_bytes(body: bytes, status: int) -> None:
    check(parse_both(body, status))


@given(seed=st.integers(min_value=0, max_value=2**32 - 1), base=st.sampled_from(range(len(SEEDS))))
@FAST
def test_mutated_answers(seed: int, base: int) -> None:
    rng = random.Random(seed)
    check(parse_both(fuzz.mutate_body(rng, SEEDS[base]), rng.choice([200, 500])))


TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@given(
    rows=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(-2, 4).map(str), TEXT), st.one_of(st.none(), TEXT)),
        max_size=5,
    )
)
@FAST
def test_any_ordinal_ids_and_codes_give_one_typed_outcome_per_change_or_an_error(
    rows: list[tuple[str | None, str | None]],
) -> None:
    body = update_answer(
        [UpdateRow("Error" if code else "OK", "said", ordinal, code) for ordinal, code in rows]
    )
    (_, updated) = parse_both(body)
    assert isinstance(updated, UpdateResult | SfmcError)
    if isinstance(updated, UpdateResult):
        assert len(updated.outcomes) == len(CHANGES)
        assert all(isinstance(outcome.kind, OutcomeKind) for outcome in updated.outcomes)


@given(values=st.lists(st.one_of(st.none(), TEXT), min_size=7, max_size=7))
@FAST
def test_any_list_values_are_read_as_text_or_none(values: list[str | None]) -> None:
    names = ("ID", "CustomerKey", "ListName", "Category", "Type", "Description", "ListClassification")
    page = parse_retrieve_response(
        retrieve_answer([("List", list(zip(names, values, strict=True)))]), http_status=200
    )
    (item,) = page.objects
    for name, value in zip(names, values, strict=True):
        assert item.values[name] == (None if value is None else value.replace("\r", "\n"))
