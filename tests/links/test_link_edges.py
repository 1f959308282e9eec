"""Edges of the link format: any signed payload, the canonical signature only, and `mint-link`'s IDs.

Pure-function properties first, then the same cases over real HTTP (a werkzeug server on loopback) and
through the real `flask mint-link` command in a subprocess.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from link_helpers import NEW_KEY, OLD_KEY, journal_entries
from test_link_tokens import KEY, sign

from app.identity import Recipient
from app.links import LinkClaims, TokenError, TokenInvalid, mint, verify
from testkit.cli import flask_cli
from tests.conftest import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET
from tests.live_http import live_server

ROOT = Path(__file__).resolve().parents[2]
HEADER = '{"alg":"HS256","typ":"JWT"}'
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# --- any signed payload: claims or TokenError, nothing else -----------------------------------------

#: JSON number literals as a sender could write them, overflowing ones (1e400) included.
_NUMBER_LITERALS = st.sampled_from(["1e400", "-1E+999", "1e308", "5e-324", "0.5", "-0"]) | st.from_regex(
    r"-?(0|[1-9][0-9]{0,3})(\.[0-9]{1,3})?([eE][+-]?[0-9]{1,4})?", fullmatch=True
)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=4,
).map(json.dumps)
_CLAIM_NAMES = st.sampled_from(["v", "sk", "skb", "sid", "em", "j", "l", "b", "m", "loc", "exp", "x"])


@st.composite
def _signed_payload_text(draw: Any) -> str:
    """A JSON object's text whose values are JSON or raw number literals; always has a subscriber."""
    members = draw(st.dictionaries(_CLAIM_NAMES, _NUMBER_LITERALS | _JSON_VALUES, max_size=6))
    members.setdefault("sk", '"someone"')
    return "{" + ",".join(f"{json.dumps(name)}:{value}" for name, value in members.items()) + "}"


@settings(max_examples=400, deadline=None)
@given(_signed_payload_text())
def test_any_signed_json_payload_yields_claims_or_a_token_error(payload: str) -> None:
    token = sign(HEADER, payload)
    try:
        claims = verify(token, [KEY])
    except TokenError:
        return
    assert claims.recipient.identified


@pytest.mark.parametrize("exp", ["1e400", "-1e400", "1E999", "1e309"])
def test_an_expiry_that_overflows_a_float_is_an_invalid_link(exp: str) -> None:
    with pytest.raises(TokenInvalid):
        verify(sign(HEADER, f'{{"sk":"a","exp":{exp}}}'), [KEY])


def _other_spellings(token: str) -> list[str]:
    """The same signature bytes written with each other last character base64url allows for 32 bytes.

    43 characters carry 258 bits; the last one's two low bits are padding, so four characters decode to
    the same 32 bytes. Only the one with zero padding bits is the canonical encoding.
    """
    head, last = token[:-1], token[-1]
    value = BASE64URL.index(last)
    assert value & 0b11 == 0  # what mint writes is canonical
    return [head + BASE64URL[value | low] for low in (1, 2, 3)]


def test_only_the_canonical_spelling_of_a_signature_verifies() -> None:
    token = mint(LinkClaims(Recipient(subscriber_key="demo-001")), KEY)
    assert verify(token, [KEY]).recipient.subscriber_key == "demo-001"
    for spelling in _other_spellings(token):
        with pytest.raises(TokenInvalid):
            verify(spelling, [KEY])


def test_only_the_canonical_spelling_of_a_payload_verifies() -> None:
    """A payload segment with non-zero padding bits is refused too, even correctly signed."""
    token = sign(HEADER, '{"sk":"ab"}')  # 11 bytes: 15 characters, the last holds 2 padding bits
    head, payload, _signature = token.split(".")
    value = BASE64URL.index(payload[-1])
    respelled = payload[:-1] + BASE64URL[value | 1]
    # signed over the respelled segment, as a sender holding the key could do
    digest = hmac.new(KEY.encode(), f"{head}.{respelled}".encode(), hashlib.sha256).digest()
    forged = f"{head}.{respelled}." + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    with pytest.raises(TokenInvalid):
        verify(forged, [KEY])


# --- the same over HTTP ------------------------------------------------------------------------------


def test_a_signed_link_with_an_overflowing_expiry_gets_the_invalid_page_not_a_500(app: Flask) -> None:
    token = sign(HEADER, '{"sk":"demo-001","j":18099,"exp":1e400}', NEW_KEY)
    with live_server(app) as server:
        url = f"{server.base_url}/unsubscribe?t={token}"
        answers = [
            requests.get(url, timeout=10),
            requests.post(url, data={"scope": "all"}, timeout=10),
            requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10),
        ]
    assert [answer.status_code for answer in answers] == [400, 400, 400]
    assert all("This link is not valid" in answer.text for answer in answers)
    assert journal_entries(app) == []


def test_a_respelled_signature_gets_the_invalid_page_and_changes_nothing(app: Flask, emulator: Any) -> None:
    token = mint(LinkClaims(Recipient(subscriber_key="demo-001", job_id="18099", list_id="17914")), NEW_KEY)
    with live_server(app) as server:
        for spelling in _other_spellings(token):
            url = f"{server.base_url}/unsubscribe?t={spelling}"
            assert requests.get(url, timeout=10).status_code == 400
            assert requests.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10).status_code == 400
        assert requests.get(f"{server.base_url}/unsubscribe?t={token}", timeout=10).status_code == 200
    assert journal_entries(app) == []
    assert emulator.events() == []


# --- mint-link: an ID is what the verifier calls an ID -----------------------------------------------


def _mint_link(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `flask --app wsgi mint-link` in a subprocess (no Marketing Cloud is contacted)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SFMC_", "FLASK_")) and key not in ("DATABASE_URL", "LINK_SIGNING_KEYS")
    }
    env.update(
        {
            "SFMC_AUTH_URL": "http://127.0.0.1:9",
            "SFMC_CLIENT_ID": EMULATOR_CLIENT_ID,
            "SFMC_CLIENT_SECRET": EMULATOR_CLIENT_SECRET,
            "LINK_SIGNING_KEYS": f"{NEW_KEY},{OLD_KEY}",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'journal.sqlite3'}",
            "PUBLIC_BASE_URL": "https://prefs.example.com",
            "LOG_LEVEL": "WARNING",  # the journal's first-run "schema migrated" line would join stdout
        }
    )
    return flask_cli(env, "mint-link", *args)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--job-id", "١٨٠٩٩"),  # Arabic-Indic digits: str.isdigit() says yes
        ("--list-id", "１７９１４"),  # fullwidth digits
        ("--batch-id", "²"),  # a superscript: isdigit() yes, int() no
        ("--mid", "99999999999999999999"),  # 20 digits: more than Marketing Cloud's 64-bit IDs
        ("--subscriber-id", "-5"),
        ("--job-id", ""),
    ],
)
def test_mint_link_refuses_an_id_the_app_would_refuse_in_one_line(
    tmp_path: Path, option: str, value: str
) -> None:
    result = _mint_link(tmp_path, "--subscriber-key", "demo-001", option, value)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert option in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--subscriber-key", "k" * 255),  # longer than Marketing Cloud's 254 characters
        ("--email", "not-an-address"),
        ("--subscriber-key", "   "),
    ],
)
def test_mint_link_never_prints_a_link_the_app_refuses(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = _mint_link(tmp_path, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_mint_link_writes_ids_as_the_verifier_reads_them(tmp_path: Path) -> None:
    result = _mint_link(
        tmp_path, "--subscriber-key", "demo-001", "--job-id", "018099", "--list-id", " 17914 "
    )
    assert result.returncode == 0, result.stderr
    token = parse_qs(urlsplit(result.stdout.strip()).query)["t"][0]
    claims = verify(token, [NEW_KEY])
    assert (claims.recipient.job_id, claims.recipient.list_id) == ("18099", "17914")
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload == {"v": 1, "sk": "demo-001", "j": "18099", "l": "17914"}
