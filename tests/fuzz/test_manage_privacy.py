"""The manage page's paths keep the person out of logs and pages, and a hostile content.toml out of 500s.

Real requests (a real emulator over loopback, a real SQLite journal, inline delivery so the Retrieve and
Update calls of ``app/sfmc/object_calls.py`` run) with the app's own log output at DEBUG, read from
stdout as an operator would read it: no email, no SubscriberKey, no token in any line; the page shows the
masked address only.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from app.identity import Recipient
from app.links import LinkClaims, mint
from app.privacy import masked_address
from bench import _common as common
from bench import fuzz

PERSON = common.generate_subscriptions(20)[7]
EMAIL = PERSON.email


def _token() -> str:
    recipient = Recipient(
        subscriber_key=PERSON.subscriber_key,
        subscriber_id=PERSON.subscriber_id,
        email=EMAIL,
        job_id=PERSON.job_id,
        list_id=PERSON.list_id,
        batch_id=PERSON.batch_id,
    )
    return mint(LinkClaims(recipient, locale="en"), common.SIGNING_KEY)


def _shown(html: str) -> str:
    return unescape(re.search(r'name="shown" value="([^"]*)"', html).group(1))


def test_manage_and_undo_paths_log_and_show_no_address_key_or_token(capsys: pytest.CaptureFixture) -> None:
    token = _token()
    with fuzz.app_under_test(subscriptions=20, settings={"LOG_LEVEL": "DEBUG"}) as target:
        client = target.app.test_client()
        capsys.readouterr()
        page = client.get("/manage", query_string={"t": token}).get_data(as_text=True)
        saved = client.post("/manage", query_string={"t": token}, data={"shown": _shown(page)})
        again = client.post("/manage", query_string={"t": token}, data={"resubscribe": PERSON.list_id})
        refused = [
            client.post("/manage", query_string={"t": token}, data=data).status_code
            for data in ({"shown": _shown(page) + "x"}, {"resubscribe": "8000009"}, {"resubscribe": "abc"})
        ]
        landing = client.post("/unsubscribe", query_string={"t": token}, data={"scope": "list"})
        undone = client.post("/manage", query_string={"t": token}, data={"resubscribe": PERSON.list_id})
        client.get("/manage", query_string={"t": token[:-3] + "abc"})  # a tampered link is logged as such
        updates = target.emulator.state()["stats"]["update"]
        logged = capsys.readouterr()

    assert 'type="checkbox"' in page and masked_address(EMAIL) in page  # the page read the lists
    assert [saved.status_code, again.status_code, landing.status_code, undone.status_code] == [200] * 4
    assert refused == [400, 400, 400]
    assert updates >= 2  # the "subscribe again" POSTs really reached Marketing Cloud's Update
    output = logged.out + logged.err
    assert "sfmc retrieve ListSubscriber" in output and "sfmc update" in output  # the lines were captured
    for secret in (EMAIL, EMAIL.split("@")[0], PERSON.subscriber_key, token, token.split(".")[2]):
        assert secret not in output, secret
    for html in (page, saved.get_data(as_text=True), undone.get_data(as_text=True)):
        assert EMAIL not in html and PERSON.subscriber_key not in html


HOSTILE_CONTENT = [
    b"\xff\xfe\x00[texts",  # not UTF-8
    b"[texts\nen = 1",  # not TOML
    b'reasons = "x"\ntexts = 5\n',  # wrong types at the top
    b'[texts."form.intro"]\nen = 5\nde = [1, 2]\nfr = {a = 1}\n',  # wrong types for texts
    b'[texts."form.heading"]\nen = "' + b"A" * 200_000 + b'"\n',  # huge
    b'[texts."form.heading"]\nen = "<script>alert(1)</script>{{ config }}%(x)s"\n',  # markup, a template
    b'[texts."invalid.heading"]\nen = "\\u0000\\u202e"\n[reasons.own]\nlabel = 1\nreport = []\n',
    b'[texts]\n"result.done.heading" = "x"\n[[reasons]]\na = 1\n',
]


@pytest.mark.parametrize("text", HOSTILE_CONTENT, ids=range(len(HOSTILE_CONTENT)))
def test_a_hostile_content_file_is_dropped_with_a_log_line_never_a_500(
    tmp_path: Path, capsys: pytest.CaptureFixture, text: bytes
) -> None:
    (tmp_path / "content.toml").write_bytes(text)
    settings = {"TEMPLATE_DIR": str(tmp_path), "LOG_LEVEL": "INFO"}
    with fuzz.app_under_test(subscriptions=20, settings=settings) as target:
        client = target.app.test_client()
        token = _token()
        pages = [
            client.get("/unsubscribe", query_string={"t": token}),
            client.get("/manage", query_string={"t": token}),
            client.get("/manage", query_string={"t": "bad"}),
            client.post("/unsubscribe", query_string={"t": token}, data={"scope": "list"}),
            client.post("/manage", query_string={"t": token}, data={"resubscribe": PERSON.list_id}),
        ]
        logged = capsys.readouterr()

    assert [page.status_code for page in pages] == [200, 200, 400, 200, 200]
    assert "content.toml" in logged.out + logged.err  # dropped, and said so
    assert all("<script>alert" not in page.get_data(as_text=True) for page in pages)
