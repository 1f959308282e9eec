"""Hostile requests against the app: odd links, forms, methods, bodies and headers never give a 5xx.

The app runs with a real emulator (over loopback, with generated subscribers) and a real SQLite journal;
``PROPAGATE_EXCEPTIONS`` makes any unhandled exception fail the example instead of becoming a 500 page,
and an ERROR record from an ``app.*`` logger fails it too: delivery catches and logs what it cannot handle
(so a page never breaks), which would otherwise hide a bug behind a 200. GET, HEAD and OPTIONS are checked
against the journal as well as Marketing Cloud's events: a safe method that journals a row changes state.
Hypothesis drives the random seeds of the generators in ``bench/fuzz/`` (shared with ``python -m
bench.fuzz``), plus correctly signed links whose claims are arbitrary JSON.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from urllib.parse import parse_qsl

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import _common as common
from bench import fuzz

BOUNDED = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
CLAIM_NAMES = st.sampled_from(["v", "sk", "skb", "sid", "em", "j", "l", "b", "m", "loc", "exp", "other"])


@pytest.fixture(scope="module")
def app_errors() -> Iterator[fuzz.ErrorLogCounter]:
    """ERROR records of ``app.*`` loggers while the module runs (bench/fuzz/app.py counts the same ones)."""
    errors = fuzz.ErrorLogCounter()
    logging.getLogger().addHandler(errors)
    yield errors
    logging.getLogger().removeHandler(errors)


@pytest.fixture(scope="module")
def target(app_errors: fuzz.ErrorLogCounter) -> Iterator[fuzz.AppUnderTest]:
    """The app, a real emulator with 300 subscribers, a SQLite journal: shared by the examples."""
    with fuzz.app_under_test(subscriptions=300) as app_under_test:
        yield app_under_test


@pytest.fixture(autouse=True)
def _no_app_errors_logged(app_errors: fuzz.ErrorLogCounter) -> Iterator[None]:
    """Also fails a test on a record logged after its last request returned (an inline delivery thread)."""
    app_errors.messages.clear()
    yield
    assert not app_errors.messages, dict(app_errors.messages)


def _open(target: fuzz.AppUnderTest, arguments: dict, errors: fuzz.ErrorLogCounter) -> int:
    """The request's status; fails the example (so hypothesis shrinks it) when the app logged an ERROR."""
    response = target.app.test_client().open(**arguments)
    assert not errors.messages, (dict(errors.messages), arguments)
    return response.status_code


@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
@BOUNDED
def test_random_and_mutated_requests_never_get_a_server_error(
    target: fuzz.AppUnderTest, app_errors: fuzz.ErrorLogCounter, seed: int
) -> None:
    arguments = fuzz.random_request(random.Random(seed), target.tokens, target.key)

    status = _open(target, arguments, app_errors)

    assert status < 500, arguments


@given(claims=st.dictionaries(CLAIM_NAMES, JSON_VALUES, max_size=6), method=st.sampled_from(["GET", "POST"]))
@BOUNDED
def test_signed_links_with_arbitrary_claims_never_get_a_server_error(
    target: fuzz.AppUnderTest, app_errors: fuzz.ErrorLogCounter, claims: dict, method: str
) -> None:
    token = jwt.encode(claims, target.key, algorithm="HS256")
    arguments = {
        "method": method,
        "path": "/unsubscribe",
        "query_string": {"t": token},
        "data": {"scope": "list"} if method == "POST" else None,
    }

    rows_before = fuzz.journal_rows(target)

    status = _open(target, arguments, app_errors)

    assert status < 500, claims
    if method == "GET":
        assert fuzz.changed_rows(rows_before, fuzz.journal_rows(target)) == 0, claims


HEADER_TEXT = st.text(st.characters(blacklist_characters="\r\n\x00", max_codepoint=255), max_size=60)


@given(token=st.text(max_size=600), lang=st.text(max_size=30), accept_language=HEADER_TEXT)
@BOUNDED
def test_arbitrary_token_text_and_languages_get_a_page_not_an_error(
    target: fuzz.AppUnderTest, app_errors: fuzz.ErrorLogCounter, token: str, lang: str, accept_language: str
) -> None:
    headers = {"Accept-Language": accept_language}
    arguments = {
        "method": "GET",
        "path": "/unsubscribe",
        "query_string": {"t": token, "lang": lang},
        "headers": headers,
    }

    status = _open(target, arguments, app_errors)

    assert status < 500


def test_odd_get_requests_never_unsubscribe_anyone(
    target: fuzz.AppUnderTest, app_errors: fuzz.ErrorLogCounter
) -> None:
    """However a scanner or an attacker shapes a GET, HEAD or OPTIONS, Marketing Cloud sees nothing and the
    journal stays exactly as it was (a pending row would be delivered by the worker later)."""
    rng = random.Random(20261125)
    events_before = len(target.emulator.state()["events"])
    rows_before = fuzz.journal_rows(target)
    tried = valid_links = 0
    tokens = set(target.tokens)
    while tried < 150:
        arguments = fuzz.random_request(rng, target.tokens, target.key)
        if arguments["method"] not in ("GET", "HEAD", "OPTIONS"):
            continue
        tried += 1
        valid_links += any(v in tokens for n, v in parse_qsl(arguments["query_string"]) if n == "t")
        assert _open(target, arguments, app_errors) < 500, arguments

    assert len(target.emulator.state()["events"]) == events_before
    assert fuzz.changed_rows(rows_before, fuzz.journal_rows(target)) == 0
    assert valid_links >= 10  # the safe requests included real links, which a broken GET would act on


def test_valid_links_from_the_generated_data_really_unsubscribe(
    target: fuzz.AppUnderTest, app_errors: fuzz.ErrorLogCounter
) -> None:
    """The fuzz targets are live: plain valid POSTs reach Marketing Cloud (else the fuzz proves little).
    Ten people whose keys end in every digit, so a bug that hits only some keys shows up here too."""
    people = common.generate_subscriptions(300)[290:300]

    for person in people:
        status = _open(
            target,
            {
                "method": "POST",
                "path": "/unsubscribe",
                "query_string": {"t": common.mint_token(person)},
                "data": {"scope": "list"},
            },
            app_errors,
        )
        assert status == 200

    keys = {event["subscriber_key"] for event in target.emulator.state()["events"]}
    assert {person.subscriber_key for person in people} <= keys
