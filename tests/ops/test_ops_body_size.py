"""One body-size limit (``MAX_BODY_BYTES``, owned by app/ops/body_size.py): the same number decides for a
declared body, a chunked body and werkzeug's own form parsing, right at the boundary."""

from __future__ import annotations

import pytest
from ops_helpers import demo_link_token

from tests.live_http import live_server, raw_request

CAP = 1000


def _one_click_body(size: int) -> bytes:
    """A one-click form body of exactly ``size`` bytes (the padding field is ignored by the app)."""
    head = b"List-Unsubscribe=One-Click&pad="
    return head + b"x" * (size - len(head))


def _post(server, path: str, body: bytes, *, chunked: bool) -> int:
    if chunked:
        framing = "Transfer-Encoding: chunked\r\n"
        payload = b"".join(
            b"%x\r\n%s\r\n" % (len(body[i : i + 300]), body[i : i + 300]) for i in range(0, len(body), 300)
        )
        payload += b"0\r\n\r\n"
    else:
        framing = f"Content-Length: {len(body)}\r\n"
        payload = body
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\n{framing}Connection: close\r\n\r\n"
    )
    return raw_request(server, head.encode() + payload).status_code


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_a_body_of_exactly_the_cap_is_taken_and_one_byte_more_is_413(make_app, emulator, chunked) -> None:
    app = make_app(MAX_BODY_BYTES=str(CAP))
    with live_server(app) as server:
        fits = _post(server, f"/unsubscribe?t={demo_link_token(3)}", _one_click_body(CAP), chunked=chunked)
        over = _post(
            server, f"/unsubscribe?t={demo_link_token(5)}", _one_click_body(CAP + 1), chunked=chunked
        )
    assert (fits, over) == (200, 413)
    assert [event["subscriber_key"] for event in emulator.events()] == ["demo-003"]


@pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
def test_an_oversized_body_is_413_whatever_the_view_would_answer(make_app, chunked) -> None:
    """A bad link is answered 400 without its form being read; with a body over the cap it is 413."""
    with live_server(make_app(MAX_BODY_BYTES=str(CAP))) as server:
        fits = _post(server, "/unsubscribe?t=broken", _one_click_body(CAP), chunked=chunked)
        over = _post(server, "/unsubscribe?t=broken", _one_click_body(CAP + 1), chunked=chunked)
    assert (fits, over) == (400, 413)


def test_a_cap_above_werkzeugs_own_form_limit_is_the_limit(make_app, emulator) -> None:
    """Werkzeug keeps a multipart form field to 500 kB by default: with a larger cap, the cap decides."""
    client = make_app(MAX_BODY_BYTES="700000").test_client()
    for number, pad in ((7, 600_000), (9, 700_000)):
        response = client.post(
            f"/unsubscribe?t={demo_link_token(number)}",
            data={"List-Unsubscribe": "One-Click", "pad": "x" * pad},
            content_type="multipart/form-data",
        )
        assert response.status_code == (200 if number == 7 else 413), number
    assert [event["subscriber_key"] for event in emulator.events()] == ["demo-007"]
