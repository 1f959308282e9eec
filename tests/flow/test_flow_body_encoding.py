"""A form body that is not valid UTF-8 still unsubscribes: over a real HTTP server, raw bytes on the wire."""

from __future__ import annotations

from typing import Any

import requests
from flask import Flask
from flow_helpers import NEWSLETTER, journal_entries, link

from app.journal.models import State
from tests.live_http import live_server

FORM = "application/x-www-form-urlencoded"


def test_latin1_free_text_is_journaled_with_the_choice_not_refused(app: Flask, emulator: Any) -> None:
    body = b"scope=list&reason=other&other_text=caf\xe9 cr\xe8me"  # Latin-1, not UTF-8
    with live_server(app) as server:
        response = requests.post(
            server.base_url + link(subscriber_key="demo-001", **NEWSLETTER),
            data=body,
            headers={"Content-Type": FORM, "Accept-Language": "en"},
            timeout=10,
        )
    assert response.status_code == 200, response.text[:300]
    assert "You are unsubscribed" in response.text
    [entry] = journal_entries(app)
    assert entry.state is State.DELIVERED
    assert entry.request.reason_code == "other"
    assert entry.request.reason_text == "caf\ufffd cr\ufffdme"
    [event] = emulator.events()
    assert event["subscriber_key"] == "demo-001"


def test_one_click_with_a_stray_8bit_byte_is_still_one_click(app: Flask, emulator: Any) -> None:
    body = b"List-Unsubscribe=One-Click&x=\xff"
    with live_server(app) as server:
        response = requests.post(
            server.base_url + link(subscriber_key="demo-003", **NEWSLETTER),
            data=body,
            headers={"Content-Type": FORM},
            timeout=10,
        )
    assert response.status_code == 200
    assert response.text.strip() == "You are unsubscribed."
    [entry] = journal_entries(app)
    assert entry.state is State.DELIVERED
