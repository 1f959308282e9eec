"""Per-client POST limits (Flask-Limiter): memory and Redis storage, the 429 page, what is never limited."""

from __future__ import annotations

import os
import time
import uuid

import jwt
import pytest
import requests
from ops_helpers import IN_CI, TEST_SIGNING_KEY, demo_link_token

from tests.live_http import live_server

LIMIT = "3 per minute"


def _post_broken_link(client, address: str = "10.1.1.1", **headers: str):
    """A POST that costs the server nothing (the link is refused) but counts against the limit."""
    return client.post(
        "/unsubscribe?t=not-a-token",
        data={"scope": "list"},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )


@pytest.fixture(scope="module")
def redis_url() -> str:
    """Redis for shared limits (TEST_REDIS_URL or the local default); skipped if unreachable, fails on CI."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"Redis at {url} is unreachable on CI: {exc}")
        pytest.skip(f"Redis at {url} is unreachable: shared rate-limit storage not tested ({exc})")
    return url


def test_posts_beyond_the_limit_get_a_429_page_in_the_visitors_language(make_app) -> None:
    client = make_app(RATELIMIT_POST=LIMIT).test_client()
    statuses = [_post_broken_link(client).status_code for _ in range(3)]
    assert statuses == [400, 400, 400]
    refused = _post_broken_link(client, **{"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert refused.status_code == 429
    body = refused.get_data(as_text=True)
    assert "Zu viele Anfragen" in body
    assert '<html lang="de"' in body
    assert "Example Newsletters" in body  # the site's own layout, not a bare error page
    assert int(refused.headers["Retry-After"]) > 0
    assert "Traceback" not in body
    # another visitor is not affected
    assert _post_broken_link(client, address="10.9.9.9").status_code == 400


def test_gets_and_health_checks_are_never_limited(make_app) -> None:
    client = make_app(RATELIMIT_POST="1 per minute").test_client()
    link = f"/unsubscribe?t={demo_link_token(1)}"
    for _ in range(10):
        assert client.get(link).status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_the_limit_keys_on_the_client_behind_a_trusted_proxy(make_app) -> None:
    client = make_app(RATELIMIT_POST=LIMIT, TRUSTED_PROXIES="1").test_client()
    nginx = "127.0.0.1"
    for _ in range(3):
        assert _post_broken_link(client, nginx, **{"X-Forwarded-For": "203.0.113.1"}).status_code == 400
    assert _post_broken_link(client, nginx, **{"X-Forwarded-For": "203.0.113.1"}).status_code == 429
    assert _post_broken_link(client, nginx, **{"X-Forwarded-For": "203.0.113.2"}).status_code == 400


def test_one_click_posts_are_counted_per_link_not_per_mail_provider_address(make_app, emulator) -> None:
    client = make_app(RATELIMIT_POST=LIMIT).test_client()
    provider = "209.85.220.41"  # one mailbox provider's server posting for many recipients

    def one_click(number: int):
        return client.post(
            f"/unsubscribe?t={demo_link_token(number, with_email=False)}",
            data={"List-Unsubscribe": "One-Click"},
            environ_base={"REMOTE_ADDR": provider},
        )

    assert [one_click(n).status_code for n in range(4, 10)] == [200] * 6
    assert len(emulator.events()) == 6
    assert [one_click(4).status_code for _ in range(3)] == [200, 200, 429]


def test_memory_storage_is_per_process(make_app) -> None:
    first, second = (make_app(RATELIMIT_POST=LIMIT).test_client() for _ in range(2))
    assert [_post_broken_link(first).status_code for _ in range(3)] == [400] * 3
    assert _post_broken_link(second).status_code == 400  # the other "machine" knows nothing of those


def test_redis_storage_shares_the_limit_between_machines(make_app, redis_url: str) -> None:
    settings = {
        "RATELIMIT_POST": LIMIT,
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    first, second = (make_app(**settings).test_client() for _ in range(2))
    assert _post_broken_link(first).status_code == 400
    assert _post_broken_link(second).status_code == 400
    assert _post_broken_link(first).status_code == 400
    assert _post_broken_link(second).status_code == 429


def test_an_unreachable_limit_store_never_blocks_an_unsubscribe(make_app, emulator, free_tcp_port) -> None:
    client = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_tcp_port}/0").test_client()
    response = client.post(f"/unsubscribe?t={demo_link_token(11)}", data={"scope": "list"})
    assert response.status_code == 200
    assert [event["subscriber_key"] for event in emulator.events()] == ["demo-011"]


def test_a_malformed_limit_is_a_configuration_error(make_app) -> None:
    from config import ConfigError

    with pytest.raises(ConfigError) as raised:
        make_app(RATELIMIT_POST="lots")
    assert raised.value.problems[0].startswith("RATELIMIT_POST is invalid")


def test_an_oversized_form_post_gets_413_and_still_counts_without_an_error_log(make_app, caplog) -> None:
    """The limit's key never reads a body the app refuses: no error record, and the POST is counted."""
    app = make_app(RATELIMIT_POST=LIMIT)
    client = app.test_client()
    oversized = "x" * (app.config["MAX_BODY_BYTES"] + 1)

    def post_oversized():
        return client.post(
            f"/unsubscribe?t={demo_link_token(12)}",
            data={"List-Unsubscribe": "One-Click", "filler": oversized},
            environ_base={"REMOTE_ADDR": "10.4.4.4"},
        )

    with caplog.at_level("INFO"):
        statuses = [post_oversized().status_code for _ in range(4)]
    assert statuses == [413, 413, 413, 429]  # counted against the sender's address, as any other POST
    assert [record.getMessage() for record in caplog.records if record.levelname == "ERROR"] == []
    assert not any(record.exc_info for record in caplog.records)


def test_one_click_posts_are_counted_per_person_and_send_however_the_link_is_spelled(
    make_app, emulator
) -> None:
    """Links for one person and send that differ in their text (expiry, language, claim order) share one
    count; the first one-click POST of anyone else, from the same provider address, is never refused."""
    app = make_app(RATELIMIT_POST="2 per minute")
    send = {"sk": "demo-004", "j": 18099, "l": 17914, "b": 1}
    spellings = [
        jwt.encode({"v": 1, **send}, TEST_SIGNING_KEY, algorithm="HS256"),
        jwt.encode({**send, "v": 1, "loc": "de"}, TEST_SIGNING_KEY, algorithm="HS256"),
        jwt.encode({"v": 1, **send, "exp": int(time.time()) + 3600}, TEST_SIGNING_KEY, algorithm="HS256"),
    ]
    assert len(set(spellings)) == 3
    with live_server(app) as server:

        def one_click(token: str) -> int:
            url = f"{server.base_url}/unsubscribe?t={token}"
            return requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10).status_code

        assert [one_click(token) for token in spellings] == [200, 200, 429]
        assert one_click(demo_link_token(6, with_email=False)) == 200  # another person: their first
        other_send = jwt.encode({"v": 1, **send, "j": 18100}, TEST_SIGNING_KEY, algorithm="HS256")
        assert one_click(other_send) != 429  # the same person, another send
