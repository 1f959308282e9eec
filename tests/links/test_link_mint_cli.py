"""`flask mint-link`: prints a link the app accepts, signed with the first key."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from link_helpers import NEW_KEY, OLD_KEY

from app.links import TokenExpired, verify


def _token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["t"][0]


def test_mint_link_prints_a_link_on_the_public_base_url(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "mint-link",
            "--subscriber-key",
            "child-001",
            "--subscriber-id",
            "2001",
            "--job-id",
            "28001",
            "--list-id",
            "27914",
            "--batch-id",
            "0",
            "--mid",
            "510001001",
            "--locale",
            "de",
        ]
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("http://localhost/unsubscribe?t=")
    claims = verify(_token(link), [NEW_KEY])  # the first key signs
    assert (
        claims.recipient.subscriber_key,
        claims.recipient.subscriber_id,
        claims.recipient.job_id,
        claims.recipient.list_id,
    ) == (
        "child-001",
        "2001",
        "28001",
        "27914",
    )
    assert (claims.recipient.batch_id, claims.recipient.mid, claims.locale) == ("0", "510001001", "de")
    assert app.test_client().get(urlsplit(link).path + "?" + urlsplit(link).query).status_code == 200


def test_base_url_option_wins_and_expiry_is_set(app: Flask) -> None:
    before = int(time.time())
    result = app.test_cli_runner().invoke(
        args=[
            "mint-link",
            "--email",
            "demo001@example.com",
            "--base-url",
            "https://prefs.example.com/",
            "--expires-in",
            "60",
        ]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("https://prefs.example.com/unsubscribe?t=")
    claims = verify(_token(result.output.strip()), [NEW_KEY, OLD_KEY])
    after = int(time.time())
    assert claims.recipient.email == "demo001@example.com"
    assert before + 60 <= claims.expires_at <= after + 60  # seconds from now, not minutes nor a date
    token = _token(result.output.strip())
    assert verify(token, [NEW_KEY], now=claims.expires_at - 1).recipient.email == "demo001@example.com"
    with pytest.raises(TokenExpired):
        verify(token, [NEW_KEY], now=claims.expires_at)  # a minute later the link is refused


def test_mint_link_needs_a_subscriber_and_numeric_ids(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["mint-link", "--job-id", "1"]).exit_code == 2
    assert runner.invoke(args=["mint-link", "--subscriber-key", "a", "--job-id", "x1"]).exit_code == 2
