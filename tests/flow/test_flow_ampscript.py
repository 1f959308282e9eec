"""The AMPscript block in docs/ampscript.md mints links the app accepts, byte for byte as GetJWT would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flow_helpers import journal_entries

from tests.conftest import TEST_SIGNING_KEY

DOC = Path(__file__).resolve().parents[2] / "docs" / "ampscript.md"
GETJWT_HEADER = b'{"alg":"HS256","typ":"JWT"}'  # what GetJWT/GetJWTByKeyName write, byte for byte


def _ampscript_block() -> str:
    return re.search(r"```ampscript\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)


def _payload_like_the_block(personalization: dict[str, str]) -> bytes:
    """Evaluate the block's Base64Encode and Concat lines with the given personalization strings."""
    block = _ampscript_block()
    assert 'SET @unsubSkb = Base64Encode(_subscriberkey, "UTF-8")' in block
    variables = {"@unsubSkb": base64.b64encode(personalization["_subscriberkey"].encode()).decode()}
    variables.update(personalization)
    concat = re.search(r"SET @unsubPayload = Concat\((.*)\)\n", block).group(1)
    parts = []
    for quoted, name in re.findall(r"'([^']*)'|(@?\w+)", concat):
        parts.append(quoted if not name else variables[name])
    return "".join(parts).encode("utf-8")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _get_jwt(key: str, payload: bytes) -> str:
    """GetJWT(key, "HS256", payload): base64url without padding, HMAC over the UTF-8 bytes of the key."""
    signing_input = f"{_b64url(GETJWT_HEADER)}.{_b64url(payload)}"
    signature = hmac.new(key.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


SENDS = {
    "quotes and markup in the key": {
        "_subscriberkey": 'demo-032 <&> "quoted"',
        "jobid": "18099",
        "listid": "17914",
        "_JobSubscriberBatchID": "1",
        "memberid": "510001000",
    },
    "non-ASCII key": {
        "_subscriberkey": "démo-031",
        "jobid": "18101",
        "listid": "17914",
        "_JobSubscriberBatchID": "0",
        "memberid": "510001000",
    },
    "child business unit": {
        "_subscriberkey": "child-001",
        "jobid": "28001",
        "listid": "27914",
        "_JobSubscriberBatchID": "0",
        "memberid": "510001001",
    },
}


@pytest.mark.parametrize("send", list(SENDS))
def test_the_documented_block_mints_a_link_get_shows_and_post_unsubscribes(
    app: Flask, client: FlaskClient, emulator: Any, send: str
) -> None:
    personalization = SENDS[send]
    payload = _payload_like_the_block(personalization)
    assert payload.startswith(b'{"v":1,"skb":"') and payload.endswith(b'"}')
    token = _get_jwt(TEST_SIGNING_KEY, payload)
    assert token.split(".")[0] == "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" and "=" not in token

    page = client.get(f"/unsubscribe?t={token}")
    assert page.status_code == 200
    assert 'value="list"' in page.get_data(as_text=True)
    assert journal_entries(app) == [] and emulator.events() == []

    result = client.post(f"/unsubscribe?t={token}", data={"scope": "list", "reason": "not_relevant"})
    assert "You are unsubscribed" in result.get_data(as_text=True)
    [event] = emulator.events()
    assert event["subscriber_key"] == personalization["_subscriberkey"]
    assert (event["job_id"], event["list_id"], event["mid"]) == (
        personalization["jobid"],
        personalization["listid"],
        personalization["memberid"],
    )
    assert event["reason"] == "Profile Center: Content not relevant"


def test_empty_personalization_strings_still_give_a_working_all_email_link(client: FlaskClient) -> None:
    """A test send has no job: the block writes "" for jobid/listid/batch, and the page offers "all"."""
    payload = _payload_like_the_block(
        {"_subscriberkey": "demo-001", "jobid": "", "listid": "", "_JobSubscriberBatchID": "", "memberid": ""}
    )
    html = client.get(f"/unsubscribe?t={_get_jwt(TEST_SIGNING_KEY, payload)}").get_data(as_text=True)
    assert 'value="all"' in html and 'value="list"' not in html
