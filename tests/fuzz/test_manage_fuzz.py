"""Hostile requests against the manage page and its "subscribe again" POSTs (issues 12 and 13).

Same rig as ``test_app_fuzz.py`` (a real emulator over loopback, a real SQLite journal,
``PROPAGATE_EXCEPTIONS``, an ERROR from an ``app.*`` logger fails the example), with the manage page's
generator from ``bench/fuzz/manage.py``: hostile lists forms, signed shown states (tampered, foreign,
another key, odd rows), "subscribe again" values of every kind (on ``/manage`` and on ``/unsubscribe``),
expired and mutated links. GETs are checked against the journal and the emulator's memberships, and a
scanner's GETs against the per-process read budget (the emulator's ListSubscriber Retrieves).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import fuzz

BOUNDED = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SMALL_IDS = [value for value in fuzz.LIST_IDS if len(value) < 100]  # a huge body gets 413 first
INVALID_LINK = "make sure the whole link was opened"


@pytest.fixture(scope="module")
def app_errors() -> Iterator[fuzz.ErrorLogCounter]:
    errors = fuzz.ErrorLogCounter()
    logging.getLogger().addHandler(errors)
    yield errors
    logging.getLogger().removeHandler(errors)


@pytest.fixture(scope="module")
def target(app_errors: fuzz.ErrorLogCounter) -> Iterator[fuzz.AppUnderTest]:
    with fuzz.app_under_test(subscriptions=200) as app_under_test:
        yield app_under_test


@pytest.fixture(autouse=True)
def _no_app_errors_logged(app_errors: fuzz.ErrorLogCounter) -> Iterator[None]:
    app_errors.messages.clear()
    yield
    assert not app_errors.messages, dict(app_errors.messages)


def _memberships(target: fuzz.AppUnderTest) -> list:
    state = target.emulator.state()
    return [*sorted(map(repr, state["memberships"])), len(state["events"])]


@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
@BOUNDED
def test_hostile_manage_requests_never_get_a_server_error(
    target: fuzz.AppUnderTest, app_errors: fuzz.ErrorLogCounter, seed: int
) -> None:
    arguments = fuzz.random_manage_request(random.Random(seed), target.tokens, target.key)
    rows_before = fuzz.journal_rows(target)

    response = target.app.test_client().open(**arguments)

    assert response.status_code < 500, arguments
    assert not app_errors.messages, (dict(app_errors.messages), arguments)
    if arguments["method"] in ("GET", "HEAD", "OPTIONS"):
        assert fuzz.changed_rows(rows_before, fuzz.journal_rows(target)) == 0, arguments


@given(
    token=st.text(max_size=300),
    method=st.sampled_from(["GET", "POST"]),
    fields=st.lists(
        st.tuples(st.sampled_from(["lists", "shown", "all", "resubscribe"]), st.sampled_from(SMALL_IDS)),
        max_size=4,
    ),
)
@BOUNDED
def test_a_bad_link_on_the_manage_page_gets_the_invalid_link_page(
    target: fuzz.AppUnderTest, app_errors: fuzz.ErrorLogCounter, token: str, method: str, fields: list
) -> None:
    data = urlencode(fields, encoding="utf-8", errors="surrogatepass")
    response = target.app.test_client().open(
        "/manage",
        method=method,
        query_string=urlencode({"t": token}, encoding="utf-8", errors="surrogatepass"),
        data=data if method == "POST" else None,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400, token
    assert INVALID_LINK in response.get_data(as_text=True)


def test_get_head_and_options_of_valid_manage_links_change_nothing(
    target: fuzz.AppUnderTest, app_errors: fuzz.ErrorLogCounter
) -> None:
    """Valid links, read from Marketing Cloud: the journal and every membership stay as they were."""
    client = target.app.test_client()
    rows_before, memberships_before = fuzz.journal_rows(target), _memberships(target)
    shown = 0
    for token in target.tokens[100:140]:
        for method in ("GET", "HEAD", "OPTIONS"):
            response = client.open("/manage", method=method, query_string={"t": token})
            assert response.status_code < 400, (method, response.status_code)
            shown += 'type="checkbox"' in response.get_data(as_text=True)

    assert fuzz.changed_rows(rows_before, fuzz.journal_rows(target)) == 0
    assert _memberships(target) == memberships_before
    assert shown >= 30  # the GETs really showed the person's lists (read from Marketing Cloud)


def test_a_scanner_of_manage_links_is_bounded_by_the_read_budget(app_errors: fuzz.ErrorLogCounter) -> None:
    """150 distinct valid links at once: at most the burst plus the rate's refill reach Marketing Cloud;
    every other GET gets the plain unsubscribe form (200), never an error."""
    burst, rate = 5, 1.0
    settings = {"MANAGE_READ_BURST": str(burst), "MANAGE_READ_RATE": str(rate)}
    with fuzz.app_under_test(subscriptions=150, settings=settings) as scanned:
        client = scanned.app.test_client()
        before = scanned.emulator.state()["stats"]["retrieve"]["ListSubscriber"]
        started = time.monotonic()
        statuses = [client.get("/manage", query_string={"t": t}).status_code for t in scanned.tokens]
        elapsed = time.monotonic() - started
        reads = scanned.emulator.state()["stats"]["retrieve"]["ListSubscriber"] - before

    assert set(statuses) == {200}
    assert burst <= reads <= burst + int(elapsed * rate) + 1, (reads, elapsed)


@given(mid=st.text(max_size=30) | st.text("0123456789²³¹١٢٣٩", min_size=1, max_size=6000))
@BOUNDED
def test_the_brand_stylesheet_answers_any_mid_with_a_stylesheet(
    target: fuzz.AppUnderTest, app_errors: fuzz.ErrorLogCounter, mid: str
) -> None:
    """``/brand.css?mid=`` comes from the page's own link, but anyone can send any text: a colour, always."""
    query = urlencode({"mid": mid}, encoding="utf-8", errors="surrogatepass")

    response = target.app.test_client().get("/brand.css", query_string=query)

    assert response.status_code == 200, mid
    assert response.mimetype == "text/css" and "--" in response.get_data(as_text=True)
